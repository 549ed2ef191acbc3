"""The `mongo-layer` command: connection options, exit statuses, and `prune`."""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CommandRun

from mongo_layer import MongoDataLayer
from mongo_layer.cli.commands import main
from mongo_layer.cli.runtime import ExitCode
from mongo_layer.times import utc_now

from .factories import file_element, files_of_thread
from .history import age_threads, snapshot, without_threads

RunCommand = Callable[..., Awaitable[CommandRun]]
MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


async def orphan_a_file(layer: MongoDataLayer) -> None:
    """Two files, one of which lost its element in a crash between two deletes."""
    await layer.create_element(file_element("t1", id="kept"))
    await layer.create_element(file_element("t1", id="lost"))
    await layer.stores.threads.collection.update_one(
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

    young = await mongo_layer_command("prune", "--yes")
    old = await mongo_layer_command("prune", "--grace", "0s", "--yes")

    assert "removed 0 orphan" in young.stdout
    assert "removed 1 orphan" in old.stdout
    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == ["kept"]


def test_a_command_without_a_server_address_is_a_usage_error() -> None:
    run = CliRunner(env={"MONGODB_URI": None}).invoke(main, ["prune", "--yes"])

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

    run = CliRunner().invoke(main, ["--uri", uri, "prune", "--yes"])

    assert run.exit_code == ExitCode.FAILURE
    assert run.stderr.startswith("Error: cannot reach MongoDB")
    assert "127.0.0.1:9" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("mongodb://127.0.0.1:99999", "Port must be an integer between 0 and 65535"),
        ("mongodb://127.0.0.1:abc", "Port contains non-digit characters"),
    ],
)
@pytest.mark.parametrize("driver", ["pymongo", "motor"])
def test_a_uri_the_driver_cannot_parse_is_a_usage_error_in_one_line(
    driver: str, uri: str, reason: str
) -> None:
    run = CliRunner(env={"MONGODB_URI": uri}).invoke(main, ["--driver", driver, "check"])

    assert run.exit_code == ExitCode.USAGE
    assert run.stderr.startswith(f"Error: not a usable MongoDB URI: {reason}")
    assert run.stderr.rstrip().endswith("(--uri or MONGODB_URI)")
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("driver", ["pymongo", "motor"])
def test_an_unresolvable_srv_host_fails_in_one_line_naming_it(driver: str) -> None:
    uri = "mongodb+srv://alice:s3cret@no-such-cluster.invalid/app"

    run = CliRunner().invoke(main, ["--uri", uri, "--driver", driver, "stats"])

    assert run.exit_code == ExitCode.FAILURE
    assert run.stderr.startswith(
        "Error: cannot find MongoDB at mongodb+srv://no-such-cluster.invalid: the DNS lookup"
    )
    assert len(run.stderr.strip().splitlines()) == 1
    assert "refused" not in run.stderr
    assert "s3cret" not in run.stderr


async def test_python_dash_m_mongo_layer_runs_the_command(
    mongo_layer_process: RunCommand,
) -> None:
    run = await mongo_layer_process("prune", "--dry-run")

    assert run.exit_code == ExitCode.OK, run.stderr
    assert run.stdout.strip() == "prune: would remove 0 orphan files and chunk sets (grace 1h)"


async def test_the_command_leaves_the_folder_it_runs_in_as_it_was(
    mongo_layer_process: RunCommand, tmp_path: Path
) -> None:
    # Chainlit, which the layer imports, writes .chainlit/ and .files/ into its app root.
    run = await mongo_layer_process("prune", "--dry-run")

    assert run.exit_code == ExitCode.OK, run.stderr
    assert list((tmp_path / "work").iterdir()) == []
    assert (tmp_path / "cache" / "mongo-layer" / "chainlit" / ".chainlit").is_dir()


async def test_stats_json_gives_the_layers_statistics(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    run = await mongo_layer_command("stats", "--json", "--days", "3")

    figures = json.loads(run.stdout)
    expected = (await history_layer.operations.statistics(days=3)).model_dump(mode="json")
    assert run.exit_code == ExitCode.OK
    assert figures == expected
    assert (figures["threads"], figures["steps"], figures["users"]) == (4, 25, 2)


async def test_stats_prints_totals_and_a_bar_per_day(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    run = await mongo_layer_command("stats", "--days", "5")

    today = utc_now().date().isoformat()
    [today_row] = [line for line in run.stdout.splitlines() if today in line]
    assert run.exit_code == ExitCode.OK
    assert "67% thumbs up" in run.stdout
    assert "█" * 40 in today_row
    assert sum("│ 0 " in line for line in run.stdout.splitlines()) == 4


async def test_retention_dry_run_reports_and_changes_nothing(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await age_threads(history_layer, ["a-long", "b-chat"], days=100)
    before = await snapshot(history_layer)

    run = await mongo_layer_command("retention", "--older-than", "90d", "--dry-run")

    assert run.exit_code == ExitCode.OK, run.stderr
    assert run.stdout.startswith("retention: would delete 2 threads, 21 steps")
    assert await snapshot(history_layer) == before


async def test_retention_deletes_and_says_what_it_deleted(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await age_threads(history_layer, ["a-long", "b-chat"], days=100)
    before = await snapshot(history_layer)

    run = await mongo_layer_command(
        "retention", "--older-than", "90d", "--batch-size", "1", "--yes"
    )

    assert run.exit_code == ExitCode.OK, run.stderr
    assert "retention: deleted 2 threads" in run.stdout
    assert "retention: 1/2 threads" in run.stderr  # one plain progress line per batch
    assert await snapshot(history_layer) == await without_threads(
        history_layer, before, {"a-long", "b-chat"}
    )


async def test_erase_user_prints_counts(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    run = await mongo_layer_command("erase-user", "bob", "--yes")
    again = await mongo_layer_command("erase-user", "bob", "--yes")

    assert run.stdout.strip() == (
        "erase-user: erased user 'bob' and 1 thread, 1 step (0 overflowed), 1 element,"
        " 1 file (11 B), 1 rating"
    )
    assert again.exit_code == ExitCode.OK
    assert "no user 'bob' is stored; nothing to erase" in again.stdout
    assert await history_layer.get_user("bob") is None


async def test_collection_names_come_from_the_options(
    layer_with: MakeLayer, mongo_layer_command: RunCommand
) -> None:
    prefixed = await layer_with(collection_prefix="app_", element_owners_collection="owners")
    await prefixed.create_element(file_element("t1", id="e1"))

    run = await mongo_layer_command(
        "--prefix", "app_", "--element-owners-collection", "owners", "check", "--json"
    )

    documents = json.loads(run.stdout)["documents"]
    assert (documents["app_threads"], documents["app_owners"], documents["app_elements.files"]) == (
        1,
        1,
        1,
    )
