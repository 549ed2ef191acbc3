"""The `mongo-layer` command: connection options, exit statuses, and `prune`."""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from click.testing import CliRunner
from conftest import CommandRun, MongoServer

from mongo_layer import MongoDataLayer
from mongo_layer.cli import main
from mongo_layer.cli.runtime import ExitCode

from .factories import file_element, files_of_thread

RunCommand = Callable[..., Awaitable[CommandRun]]


async def orphan_a_file(layer: MongoDataLayer) -> None:
    """Two files, one of which lost its element in a crash between two deletes."""
    await layer.create_element(file_element("t1", id="kept"))
    await layer.create_element(file_element("t1", id="lost"))
    await layer.threads.collection.update_one(
        {"_id": "t1"}, {"$pull": {"elements": {"id": "lost"}}}
    )


async def test_prune_dry_run_counts_orphans_and_removes_nothing(
    layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await orphan_a_file(layer)

    run = await mongo_layer_command("prune", "--grace", "0s", "--dry-run")

    assert run.exit_code == ExitCode.OK, run.stderr
    assert "would remove 1 orphan" in run.stdout
    assert len(await files_of_thread(layer, "t1")) == 2


async def test_prune_removes_orphans_older_than_the_grace_period(
    layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await orphan_a_file(layer)

    young = await mongo_layer_command("prune")
    old = await mongo_layer_command("prune", "--grace", "0s")

    assert "removed 0 orphan" in young.stdout
    assert "removed 1 orphan" in old.stdout
    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == ["kept"]


def test_a_command_without_a_server_address_is_a_usage_error() -> None:
    run = CliRunner(env={"MONGODB_URI": None}).invoke(main, ["prune"])

    assert run.exit_code == ExitCode.USAGE
    assert "give --uri or set MONGODB_URI" in run.stderr


def test_a_bad_collection_name_is_a_usage_error() -> None:
    run = CliRunner().invoke(main, ["--uri", "mongodb://x", "--threads-collection", "", "prune"])

    assert run.exit_code == ExitCode.USAGE
    assert "threads_collection" in run.stderr


def test_a_bad_duration_is_a_usage_error() -> None:
    run = CliRunner().invoke(main, ["--uri", "mongodb://x", "prune", "--grace", "ninety days"])

    assert run.exit_code == ExitCode.USAGE
    assert "not a duration" in run.stderr


def test_an_unreachable_server_fails_with_one_line_naming_it() -> None:
    uri = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&directConnection=true"

    run = CliRunner().invoke(main, ["--uri", uri, "prune"])

    assert run.exit_code == ExitCode.FAILURE
    assert run.stderr.startswith("Error: cannot reach MongoDB: 127.0.0.1:9")
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


async def test_python_dash_m_mongo_layer_runs_the_command(
    mongo_server: MongoServer, database_name: str, driver: str, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "mongo_layer", "--uri", mongo_server.uri, "--database", database_name),
        *("--driver", driver, "prune", "--dry-run"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()

    assert process.returncode == ExitCode.OK, stderr.decode()
    assert stdout.decode().strip() == "prune: would remove 0 orphan files and chunk sets (grace 1h)"
