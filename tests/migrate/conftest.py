"""Source databases for migration tests: SQLite for SQLAlchemyDataLayer (always), and
PostgreSQL for ChainlitDataLayer, installed and started by bench/setup_postgres.sh (tests
marked `postgres` skip where it cannot run)."""

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from chainlit.data.base import BaseDataLayer
from chainlit.data.chainlit_data_layer import ChainlitDataLayer
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.local_storage import LocalStorageClient
from mongo_layer.embedded import free_port
from mongo_layer.migrate.sources import sqlalchemy_url
from mongo_layer.migrate.verify import enter_chainlit_context

from .history import History, write_history

ROOT = Path(__file__).resolve().parents[2]
SETUP_POSTGRES = ROOT / "bench" / "setup_postgres.sh"
SQLALCHEMY_SCHEMA = Path(__file__).with_name("sqlalchemy_schema.sql")
# The database setup_postgres.sh loads ChainlitDataLayer's schema into; each test copies it.
SCHEMA_DATABASE = "chainlit_bench"
POSTGRES_MISSING = (
    "PostgreSQL is missing and could not be installed or started here ({0}); the SQLite tests"
    " (SQLAlchemyDataLayer) cover the same migration behaviour"
)


def postgres_is_installed() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster of this test session, with ChainlitDataLayer's schema in
    `chainlit_bench`; yields the DSN of its server without a database name."""
    folder = Path(tempfile.mkdtemp(prefix="mongo-layer-migrate-pg-"))
    folder.chmod(0o755)  # as root the server runs as `postgres`, which must reach the cluster
    port = free_port()
    environment = os.environ | {"BENCH_PG_PORT": str(port), "BENCH_PG_DIR": str(folder / "pg")}
    try:
        subprocess.run(
            ["bash", str(SETUP_POSTGRES), "start"],
            env=environment,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        reason = str(getattr(error, "stderr", None) or error).strip().splitlines()[-1][:200]
        if postgres_is_installed():
            # Installed but not working is a failure to see, not a reason to skip.
            pytest.fail(f"PostgreSQL is installed but did not start: {reason}")
        pytest.skip(POSTGRES_MISSING.format(reason))
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            ["bash", str(SETUP_POSTGRES), "stop"],
            env=environment,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(folder, ignore_errors=True)


@asynccontextmanager
async def fresh_database(server: str, template: str = "template1") -> AsyncIterator[str]:
    """A new database on `server`, copied from `template`; yields its name, then drops it."""
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield name
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def postgres_dsn(postgres_server: str) -> AsyncIterator[str]:
    """A fresh database with ChainlitDataLayer's schema, dropped after the test."""
    async with fresh_database(postgres_server, SCHEMA_DATABASE) as name:
        yield f"{postgres_server}/{name}"


@pytest.fixture
async def postgres_sqlalchemy_url(postgres_server: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database with SQLAlchemyDataLayer's documented schema."""
    async with fresh_database(postgres_server) as name:
        url = f"postgresql+asyncpg://{postgres_server.split('://', 1)[1]}/{name}"
        await create_sqlalchemy_schema(url, postgres=True)
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """An SQLite database with SQLAlchemyDataLayer's documented schema."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'chainlit.db'}"
    await create_sqlalchemy_schema(url)
    return url


async def create_sqlalchemy_schema(url: str, postgres: bool = False) -> None:
    schema = SQLALCHEMY_SCHEMA.read_text()
    if postgres:
        schema = schema.replace('"tags" TEXT,', '"tags" TEXT[],')
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for statement in schema.split(";"):
            if statement.strip():
                await connection.exec_driver_sql(statement)
    await engine.dispose()


@pytest.fixture
def files_folder(tmp_path: Path) -> Path:
    """Where the source app's storage client keeps element files."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


# Rows Chainlit's layers never write but a database can hold: a thread without a user, and
# where no foreign key forbids it (SQLite enforces none; ChainlitDataLayer's steps may have
# no thread) a step whose thread is gone.
OWNERLESS = "0c3e9f0a-7d43-4e0e-8f0e-2f1a3b4c5d6e"
LOST_STEP = "5b2d8c1e-1a2b-4c3d-9e8f-7a6b5c4d3e2f"
MISSING_THREAD = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
OWNERLESS_THREAD = {
    "sqlalchemy": f"""INSERT INTO threads (id, "createdAt", name, metadata)
        VALUES ('{OWNERLESS}', '2024-05-01T10:00:00Z', 'nobody''s', '{{}}')""",
    "chainlit": f"""INSERT INTO "Thread" (id, name, metadata)
        VALUES ('{OWNERLESS}', 'nobody''s', '{{}}')""",
}
LOST_STEPS = {
    "sqlalchemy": f"""INSERT INTO steps (id, name, type, "threadId", streaming, "createdAt")
        VALUES ('{LOST_STEP}', 'x', 'run', '{MISSING_THREAD}', 0, '2024-05-01T10:00:00Z')""",
    "chainlit": f"""INSERT INTO "Step" (id, type, metadata, "startTime", "endTime")
        VALUES ('{LOST_STEP}', 'run', '{{}}', now(), now())""",
}


@dataclass
class ChainlitDatabase:
    """The database of one of Chainlit's SQL layers, with its element files in `files`."""

    layer: str
    url: str
    files: Path

    def chainlit_layer(self) -> BaseDataLayer:
        storage = LocalStorageClient(self.files)
        if self.layer == "chainlit":
            return ChainlitDataLayer(self.url, storage_client=storage)
        return SQLAlchemyDataLayer(self.url, storage_provider=storage)

    async def write_history(self) -> History:
        """History written the way an app on this layer writes it: through the layer."""
        enter_chainlit_context()
        chainlit = self.chainlit_layer()
        try:
            return await write_history(chainlit)
        finally:
            await chainlit.close()

    async def execute(self, *statements: str) -> None:
        engine = create_async_engine(sqlalchemy_url(self.url))
        try:
            async with engine.begin() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await engine.dispose()

    async def add_broken_rows(self) -> set[tuple[str, str]]:
        """Adds rows that cannot be migrated as they are; returns their (table, id)."""
        await self.execute(OWNERLESS_THREAD[self.layer])
        broken = {("threads", OWNERLESS)}
        if self.layer == "chainlit" or self.url.startswith("sqlite"):
            await self.execute(LOST_STEPS[self.layer])
            broken.add(("steps", LOST_STEP))
        return broken


@pytest.fixture(
    params=[
        "sqlalchemy-sqlite",
        pytest.param("chainlit-postgres", marks=pytest.mark.postgres),
        pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
    ]
)
def chainlit_database(request: pytest.FixtureRequest, files_folder: Path) -> ChainlitDatabase:
    """SQLAlchemyDataLayer's database on SQLite and on PostgreSQL, and ChainlitDataLayer's."""
    layer = request.param.split("-")[0]
    url_fixture = {
        "chainlit-postgres": "postgres_dsn",
        "sqlalchemy-postgres": "postgres_sqlalchemy_url",
        "sqlalchemy-sqlite": "sqlite_url",
    }[request.param]
    return ChainlitDatabase(layer, request.getfixturevalue(url_fixture), files_folder)


@pytest.fixture
def postgres_database(postgres_dsn: str, files_folder: Path) -> ChainlitDatabase:
    return ChainlitDatabase("chainlit", postgres_dsn, files_folder)


@pytest.fixture
def sqlite_database(sqlite_url: str, files_folder: Path) -> ChainlitDatabase:
    return ChainlitDatabase("sqlalchemy", sqlite_url, files_folder)
