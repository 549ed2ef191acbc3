"""The destructive subcommands (retention, erase-user, prune) ask before deleting on a
terminal, delete without one only with --yes, refuse a retention window under one day
unless asked for, and name a user who is not stored."""

from collections.abc import Awaitable, Callable

import pytest
from conftest import CommandRun

from mongo_layer import MongoDataLayer
from mongo_layer.cli.runtime import ExitCode

from .history import age_threads, snapshot, without_threads
from .test_cli import orphan_a_file

RunCommand = Callable[..., Awaitable[CommandRun]]

DESTRUCTIVE = [
    pytest.param(["retention", "--older-than", "90d"], id="retention"),
    pytest.param(["erase-user", "bob"], id="erase-user"),
    pytest.param(["prune", "--grace", "0s"], id="prune"),
]


@pytest.mark.parametrize("command", DESTRUCTIVE)
async def test_without_a_terminal_nothing_is_deleted_unless_given_yes(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand, command: list[str]
) -> None:
    await age_threads(history_layer, ["a-long", "b-chat"], days=100)
    await orphan_a_file(history_layer)
    before = await snapshot(history_layer)

    run = await mongo_layer_command(*command)

    assert run.exit_code == ExitCode.USAGE
    assert run.stderr == (
        f"Error: {command[0]} deletes without asking only with --yes, and stdin is not a"
        " terminal to ask on; see what it would delete with --dry-run\n"
    )
    assert await snapshot(history_layer) == before
    assert (await mongo_layer_command(*command, "--dry-run")).exit_code == ExitCode.OK


@pytest.mark.parametrize(
    ("command", "question", "done"),
    [
        pytest.param(
            ["retention", "--older-than", "90d"],
            "retention: delete 2 threads, 21 steps",
            "retention: deleted 2 threads, 21 steps",
            id="retention",
        ),
        pytest.param(
            ["erase-user", "bob"],
            "erase-user: erase user 'bob' and 1 thread, 1 step",
            "erase-user: erased user 'bob' and 1 thread, 1 step",
            id="erase-user",
        ),
        pytest.param(
            ["prune", "--grace", "0s"],
            "prune: remove 1 orphan files and chunk sets (grace 0s)?",
            "prune: removed 1 orphan files and chunk sets (grace 0s)",
            id="prune",
        ),
    ],
)
async def test_on_a_terminal_it_asks_and_deletes_only_on_yes(
    history_layer: MongoDataLayer,
    mongo_layer_process: RunCommand,
    command: list[str],
    question: str,
    done: str,
) -> None:
    await age_threads(history_layer, ["a-long", "b-chat"], days=100)
    await orphan_a_file(history_layer)
    before = await snapshot(history_layer)

    declined = await mongo_layer_process(*command, typed="n\n")
    unchanged = await snapshot(history_layer)
    accepted = await mongo_layer_process(*command, typed="y\n")

    assert declined.exit_code == ExitCode.FAILURE
    assert question in declined.stderr
    assert declined.stderr.rstrip().endswith("Aborted!")
    assert unchanged == before
    assert accepted.exit_code == ExitCode.OK, accepted.stderr
    assert question in accepted.stderr
    assert accepted.stdout.startswith(done)
    assert await snapshot(history_layer) != before


async def test_retention_refuses_a_window_under_a_day_unless_allowed(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    before = await snapshot(history_layer)

    refused = await mongo_layer_command("retention", "--older-than", "0d", "--yes")
    unchanged = await snapshot(history_layer)
    allowed = await mongo_layer_command(
        "retention", "--older-than", "0d", "--allow-under-a-day", "--yes"
    )

    assert refused.exit_code == ExitCode.USAGE
    assert refused.stderr == (
        "Error: --older-than 0s is under one day and would delete threads in use today;"
        " add --allow-under-a-day if that is meant\n"
    )
    assert unchanged == before
    assert allowed.exit_code == ExitCode.OK, allowed.stderr
    assert allowed.stdout.startswith("retention: deleted 4 threads")
    every_thread = {thread["_id"] for thread in before[history_layer.settings.threads_name]}
    assert await snapshot(history_layer) == await without_threads(
        history_layer, before, every_thread
    )


async def test_retention_names_a_user_who_is_not_stored(
    history_layer: MongoDataLayer, mongo_layer_command: RunCommand
) -> None:
    await age_threads(history_layer, ["a-long", "b-chat"], days=100)
    before = await snapshot(history_layer)

    run = await mongo_layer_command("retention", "--older-than", "90d", "--user", "nosuch", "--yes")

    assert run.exit_code == ExitCode.FAILURE
    assert run.stderr == "Error: no user 'nosuch' is stored; retention deleted nothing\n"
    assert run.stdout == ""
    assert await snapshot(history_layer) == before
