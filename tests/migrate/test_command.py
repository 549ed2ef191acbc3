"""`mongo-layer migrate` on SQLAlchemyDataLayer's SQLite database (the library behind it is
tested on both sources in test_migration.py)."""

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from chainlit.element import File
from conftest import CommandRun

from mongo_layer import MongoDataLayer
from mongo_layer.cli.runtime import ExitCode

from .checks import served
from .conftest import ChainlitDatabase

Command = Callable[..., Awaitable[CommandRun]]


async def test_migrate_copies_files_verifies_and_reports_per_table(
    sqlite_database: ChainlitDatabase, mongo_layer_command: Command, layer: MongoDataLayer
) -> None:
    await sqlite_database.write_history()

    run = await mongo_layer_command(
        "migrate",
        "--from",
        sqlite_database.url,
        "--files-root",
        str(sqlite_database.files),
        "--verify",
    )

    assert run.exit_code == 0, run.stderr
    assert "verify: 4 threads compared, 0 differences" in run.stdout
    assert "files copied into GridFS: 4" in run.stdout
    for line in ("users", "threads", "steps", "elements", "feedback"):
        assert line in run.stdout
    assert await layer.stores.files.files.count_documents({}) == 4


async def test_migrate_json_report(
    sqlite_database: ChainlitDatabase, mongo_layer_command: Command
) -> None:
    await sqlite_database.write_history()

    run = await mongo_layer_command(
        "migrate", "--from", sqlite_database.url, "--files", "link", "--json"
    )

    report = json.loads(run.stdout)
    assert run.exit_code == 0
    assert report["migrated"] == {
        "users": 2,
        "threads": 4,
        "steps": 16,
        "elements": 4,
        "feedback": 4,
    }
    assert (report["layer"], report["files"], report["broken"]) == ("sqlalchemy", "link", [])


async def test_a_dry_run_changes_nothing(
    sqlite_database: ChainlitDatabase, mongo_layer_command: Command, layer: MongoDataLayer
) -> None:
    await sqlite_database.write_history()

    run = await mongo_layer_command("migrate", "--from", sqlite_database.url, "--dry-run")

    assert run.exit_code == 0
    assert "would migrate" in run.stdout
    assert "30 rows counted; nothing written" in run.stdout
    assert await layer.stores.threads.collection.count_documents({}) == 0


async def test_differences_found_by_verify_fail_the_command(
    sqlite_database: ChainlitDatabase, mongo_layer_command: Command, layer: MongoDataLayer
) -> None:
    history = await sqlite_database.write_history()
    taken = next(iter(history.files))
    await layer.create_element(File(id=taken, name="x", content=b"x", thread_id="another"))

    run = await mongo_layer_command(
        "migrate", "--from", sqlite_database.url, "--files", "link", "--verify"
    )

    assert run.exit_code == 1
    assert "broken row: threads" in run.stdout
    # The thread holding the taken element id is refused whole, before any of it is written.
    assert f"element {taken!r} belongs to another thread" in run.stdout
    assert "verify: 1 difference found" in run.stderr


async def test_files_come_through_the_storage_client_the_command_names(
    sqlite_database: ChainlitDatabase,
    mongo_layer_command: Command,
    layer: MongoDataLayer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sqlite_database.write_history()
    module = f"app_storage_{uuid.uuid4().hex}"  # each run its own: imports are cached
    with served(sqlite_database.files) as base_url:
        (tmp_path / f"{module}.py").write_text(STORAGE_MODULE.format(base_url=base_url))
        monkeypatch.syspath_prepend(str(tmp_path))

        run = await mongo_layer_command(
            "migrate", "--from", sqlite_database.url, "--storage-client", f"{module}:make"
        )

    assert run.exit_code == 0, run.stderr
    assert "files copied into GridFS: 4" in run.stdout, run.stdout
    assert await layer.stores.files.files.count_documents({}) == 4


@pytest.mark.parametrize(
    "reference", ["json:dumps", "json:JSONDecoder", "json", "json:no_such_name", "no_such_app:make"]
)
async def test_a_storage_client_that_is_not_one_is_a_usage_error(
    sqlite_database: ChainlitDatabase, mongo_layer_command: Command, reference: str
) -> None:
    run = await mongo_layer_command(
        "migrate", "--from", sqlite_database.url, "--storage-client", reference
    )

    assert run.exit_code == 2
    assert "--storage-client" in run.stderr
    assert "Traceback" not in run.stderr


# An app's module with a factory of its storage client (here: files served over HTTP).
STORAGE_MODULE = """
from chainlit.data.storage_clients.base import BaseStorageClient


class ServedFiles(BaseStorageClient):
    async def upload_file(self, object_key, data, mime="", overwrite=True, **options):
        raise NotImplementedError

    async def delete_file(self, object_key):
        raise NotImplementedError

    async def get_read_url(self, object_key):
        return "{base_url}/" + object_key

    async def close(self):
        pass


def make():
    return ServedFiles()
"""


# Loaded first by every Python process started with its folder on PYTHONPATH: an import of
# the modules named in MONGO_LAYER_TEST_UNINSTALLED fails as if they were not installed.
UNINSTALL_SHIM = """
import os
import sys

UNINSTALLED = set(os.environ["MONGO_LAYER_TEST_UNINSTALLED"].split())


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in UNINSTALLED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
"""


@pytest.mark.parametrize(
    ("source_url", "driver_module"),
    [
        ("sqlite:///chainlit.db", "aiosqlite"),
        ("postgresql://chainlit@127.0.0.1:9/chainlit", "asyncpg"),
    ],
)
async def test_migrate_without_the_migrate_extra_says_which_extra_to_install(
    mongo_layer_process: Command, tmp_path: Path, source_url: str, driver_module: str
) -> None:
    shim = tmp_path / "uninstall"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(UNINSTALL_SHIM)

    run = await mongo_layer_process(
        "migrate",
        "--from",
        source_url,
        PYTHONPATH=str(shim),
        MONGO_LAYER_TEST_UNINSTALLED=driver_module,
    )

    assert run.exit_code == ExitCode.USAGE
    assert run.stderr == (
        f"Error: migrating needs the `migrate` extra ({driver_module} is not installed):"
        ' pip install "mongo-layer[migrate]"\n'
    )
