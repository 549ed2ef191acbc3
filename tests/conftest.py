"""Shared fixtures: a real MongoDB-wire server, layers on both drivers, command counting,
and the shard-key audit of every command (shard_audit.py).

The server is SecantusDB (see TESTING.md), started once per test session on a free port
with a temporary storage path (mongo_layer.embedded) and stopped at the end. With
MONGODB_URI set, the suite runs against that server instead.
"""

import asyncio
import contextlib
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import monitoring
from shard_audit import ShardKeyAudit

from mongo_layer import MongoDataLayer, MongoLayerSettings
from mongo_layer.embedded import EmbeddedServer
from mongo_layer.operations.scheduled_retention import RetentionSchedule
from mongo_layer.sharding import shard_keys

# Every client of either driver the suite opens, its layers' own included, reports its
# commands here (README, "Sharded clusters"): a test fails when the layer sent one that a
# cluster sharded on these keys would refuse or scatter.
SHARD_KEY_AUDIT = ShardKeyAudit(shard_keys(MongoLayerSettings()))
monitoring.register(SHARD_KEY_AUDIT)


@pytest.fixture(autouse=True)
def shard_key_audit() -> Iterator[ShardKeyAudit]:
    SHARD_KEY_AUDIT.violations.clear()
    yield SHARD_KEY_AUDIT
    found, SHARD_KEY_AUDIT.violations[:] = list(SHARD_KEY_AUDIT.violations), []
    if found:
        pytest.fail("commands a sharded cluster would refuse:\n" + "\n".join(found))


# Tests that share something outside their own database run on one worker together when
# the suite runs on several (pytest-xdist's `--dist loadgroup`, see scripts/test.sh).
SHARED_BY_FOLDER = {"e2e": "example-app", "migrate": "postgresql"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = SHARED_BY_FOLDER.get(item.path.parent.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@dataclass
class MongoServer:
    """The server the suite talks to: one it started, or the one MONGODB_URI names."""

    uri: str
    started_here: bool


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    if os.environ.get("MONGODB_URI"):
        yield MongoServer(uri=os.environ["MONGODB_URI"], started_here=False)
        return
    storage = Path(tempfile.mkdtemp(prefix="mongo-layer-test-"))
    server = EmbeddedServer(storage)
    server.start()
    try:
        yield MongoServer(uri=server.uri, started_here=True)
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends, leaving out the driver's own handshakes."""

    IGNORED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"})

    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in self.IGNORED:
            self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.commands.clear()

    @property
    def count(self) -> int:
        return len(self.commands)


def make_client(
    driver: str, uri: str, counter: CommandCounter | None = None, **options: Any
) -> Any:
    """A client of the given driver; `options` go to the client (e.g. timeouts)."""
    listeners = [counter] if counter else []
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, event_listeners=listeners, **options)
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(uri, event_listeners=listeners, **options)


async def close_client(client: Any) -> None:
    closing = client.close()
    if asyncio.iscoroutine(closing):
        await closing


@pytest.fixture(params=["motor", "pymongo"])
def driver(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def commands() -> CommandCounter:
    return CommandCounter()


async def fresh_database(mongo_server: MongoServer, driver: str) -> AsyncIterator[str]:
    """The name of a database no test used, dropped when the generator is closed."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    client = make_client(driver, mongo_server.uri)
    try:
        await client.drop_database(name)
    finally:
        await close_client(client)


@pytest.fixture
async def database_name(mongo_server: MongoServer, driver: str) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    async for name in fresh_database(mongo_server, driver):
        yield name


@pytest.fixture
async def other_database_name(mongo_server: MongoServer, driver: str) -> AsyncIterator[str]:
    """A second fresh database for one test (an import's target), dropped afterwards."""
    async for name in fresh_database(mongo_server, driver):
        yield name


@pytest.fixture
async def layer(
    mongo_server: MongoServer, driver: str, database_name: str, commands: CommandCounter
) -> AsyncIterator[MongoDataLayer]:
    """A layer on the real server, through the test's driver, with its indexes made and
    the command counter reset (so a test counts only what it does)."""
    client = make_client(driver, mongo_server.uri, commands)
    data_layer = MongoDataLayer(
        client=client, database=database_name, settings=MongoLayerSettings(), mount_file_route=False
    )
    await data_layer.ensure_indexes()
    commands.reset()
    try:
        yield data_layer
    finally:
        await data_layer.close()
        await close_client(client)


@pytest.fixture
async def layer_with(
    mongo_server: MongoServer, driver: str, database_name: str, commands: CommandCounter
) -> AsyncIterator[Callable[..., Awaitable[MongoDataLayer]]]:
    """Makes layers with other settings (and a retention schedule) on the test's database
    and driver, each with its own client as separate processes have, counting their commands
    in `commands` (reset once the indexes exist); closed after the test."""
    opened: list[tuple[MongoDataLayer, Any]] = []

    async def make(
        retention_schedule: RetentionSchedule | None = None, **settings: Any
    ) -> MongoDataLayer:
        client = make_client(driver, mongo_server.uri, commands)
        data_layer = MongoDataLayer(
            client=client,
            database=database_name,
            settings=MongoLayerSettings(**settings),
            mount_file_route=False,
            retention_schedule=retention_schedule,
        )
        await data_layer.ensure_indexes()
        commands.reset()
        opened.append((data_layer, client))
        return data_layer

    yield make
    for data_layer, client in opened:
        await data_layer.close()
        await close_client(client)


@pytest.fixture
async def mock_layer() -> AsyncIterator[MongoDataLayer]:
    """A layer on mongomock-motor, in process: for conversions and simple paths only."""
    from mongomock_motor import AsyncMongoMockClient

    data_layer = MongoDataLayer(
        client=AsyncMongoMockClient(),
        database="unit",
        settings=MongoLayerSettings(check_server=False),
        mount_file_route=False,
    )
    await data_layer.ensure_indexes()
    yield data_layer
    await data_layer.close()


@dataclass
class CommandRun:
    """What one run of `mongo-layer` printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def mongo_layer_command(
    mongo_server: MongoServer, driver: str, database_name: str
) -> Callable[..., Awaitable[CommandRun]]:
    """Runs `mongo-layer ARGS` (click's CliRunner, in a worker thread so the command can
    start its own event loop) on the test's server and driver, and the test's database
    unless another is named."""
    from click.testing import CliRunner

    from mongo_layer.cli.commands import main

    async def run(*args: str, input: str | None = None, database: str = "") -> CommandRun:
        database = database or database_name
        connection = ["--uri", mongo_server.uri, "--database", database, "--driver", driver]
        result = await asyncio.to_thread(
            CliRunner().invoke, main, [*connection, *args], input=input, catch_exceptions=False
        )
        return CommandRun(result.exit_code, result.stdout, result.stderr)

    return run


@contextlib.contextmanager
def terminal_typing(typed: str | None) -> Iterator[int]:
    """A stdin for a child process: empty, or a pseudo-terminal on which `typed` waits to
    be read, as if typed before the program asked."""
    if typed is None:
        yield subprocess.DEVNULL
        return
    controller, terminal = pty.openpty()
    try:
        os.write(controller, typed.encode())
        yield terminal
    finally:
        os.close(terminal)
        os.close(controller)


@pytest.fixture
def mongo_layer_process(
    mongo_server: MongoServer, driver: str, database_name: str, tmp_path: Path
) -> Callable[..., Awaitable[CommandRun]]:
    """Runs `python -m mongo_layer ARGS` as a real process (the installed entry point) on
    the test's server, database and driver, in the empty working folder `tmp_path/work`,
    with its user cache in `tmp_path/cache`."""
    working_folder = tmp_path / "work"
    working_folder.mkdir()
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    environment.pop("CHAINLIT_APP_ROOT", None)

    async def run(*args: str, typed: str | None = None, **variables: str) -> CommandRun:
        """`variables` are added to the process's environment. Its stdin is empty, or with
        `typed` a terminal on which that text is typed."""
        connection = ["--uri", mongo_server.uri, "--database", database_name, "--driver", driver]
        with terminal_typing(typed) as stdin:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "mongo_layer", *connection, *args),
                cwd=working_folder,
                env=environment | variables,
                stdin=stdin,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await process.communicate()
        assert process.returncode is not None
        return CommandRun(process.returncode, stdout.decode(), stderr.decode())

    return run
