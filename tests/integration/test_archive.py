"""Export and import on the real server: a database exported with `mongo-layer export`
and imported into an empty one reads back the same through every read of the layer."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from chainlit.types import Pagination, ThreadFilter
from conftest import CommandRun, MongoServer, close_client, make_client

from mongo_layer import MongoDataLayer, MongoLayerSettings
from mongo_layer.archive import ARCHIVE_VERSION, ExportSelection, export_archive
from mongo_layer.cli.runtime import ExitCode

from .history import SMALL_LIMITS, History, fill_history, snapshot

RunCommand = Callable[..., Awaitable[CommandRun]]
MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


@pytest.fixture
async def source(layer_with: MakeLayer) -> tuple[MongoDataLayer, History]:
    """The test's database filled with the shared history (it overflows and offloads)."""
    source_layer = await layer_with(**SMALL_LIMITS)
    return source_layer, await fill_history(source_layer)


@pytest.fixture
async def target(
    mongo_server: MongoServer, driver: str, other_database_name: str
) -> AsyncIterator[MongoDataLayer]:
    """A layer on a second, empty database: where an archive is imported."""
    client = make_client(driver, mongo_server.uri)
    target_layer = MongoDataLayer(
        client=client,
        database=other_database_name,
        settings=MongoLayerSettings(**SMALL_LIMITS),
        mount_file_route=False,
    )
    yield target_layer
    await target_layer.close()
    await close_client(client)


@pytest.fixture
async def archive(
    source: tuple[MongoDataLayer, History], mongo_layer_command: RunCommand, tmp_path: Path
) -> Path:
    """The source database exported with `export --all`."""
    path = tmp_path / "history.jsonl"
    run = await mongo_layer_command("export", "--all", "--out", str(path))
    assert run.exit_code == ExitCode.OK, run.stderr
    assert "wrote 2 users, 4 threads and 3 files" in run.stdout
    return path


async def everything_read_back(layer: MongoDataLayer, history: History) -> dict[str, Any]:
    """What every read of the layer returns for the history, files' bytes included."""
    threads = {thread_id: await layer.get_thread(thread_id) for thread_id in history.thread_ids}
    files: dict[str, bytes] = {}
    for thread in threads.values():
        assert thread is not None
        for element in thread["elements"] or []:
            stored = await layer.operations.open_element_file(thread["id"], element["id"])
            assert stored is not None, f"element {element['id']} lost its file"
            files[element["id"]] = b"".join([chunk async for chunk in stored.chunks()])
    sidebars = {
        owner.identifier: await layer.list_threads(
            Pagination(first=10), ThreadFilter(userId=owner.id)
        )
        for owner in (history.alice, history.bob)
    }
    return {
        "threads": threads,
        "files": files,
        "sidebars": {who: (page.pageInfo, page.data) for who, page in sidebars.items()},
        "users": [await layer.get_user(name) for name in ("alice", "bob")],
        "favorites": await layer.get_favorite_steps(history.alice.id),
    }


async def test_export_all_then_import_into_an_empty_database_reads_back_the_same(
    source: tuple[MongoDataLayer, History],
    archive: Path,
    target: MongoDataLayer,
    other_database_name: str,
    mongo_layer_command: RunCommand,
) -> None:
    source_layer, history = source

    imported = await mongo_layer_command("import", str(archive), database=other_database_name)

    assert imported.exit_code == ExitCode.OK, imported.stderr
    assert "read 2 users and 4 threads" in imported.stdout
    expected = await everything_read_back(source_layer, history)
    assert await everything_read_back(target, history) == expected
    assert len(expected["files"]) == 3 and len(expected["favorites"]) == 1


async def test_importing_the_same_archive_twice_changes_nothing(
    archive: Path,
    target: MongoDataLayer,
    other_database_name: str,
    mongo_layer_command: RunCommand,
) -> None:
    await mongo_layer_command("import", str(archive), database=other_database_name)
    once = await snapshot(target)

    again = await mongo_layer_command("import", str(archive), database=other_database_name)

    assert again.exit_code == ExitCode.OK, again.stderr
    assert "0 threads changed, 0 steps and 0 files stored" in again.stdout
    assert await snapshot(target) == once


async def test_an_import_dry_run_checks_the_archive_and_imports_nothing(
    archive: Path,
    target: MongoDataLayer,
    other_database_name: str,
    mongo_layer_command: RunCommand,
) -> None:
    run = await mongo_layer_command(
        "import", str(archive), "--dry-run", database=other_database_name
    )

    assert run.exit_code == ExitCode.OK, run.stderr
    assert "holds 2 users and 4 threads; nothing imported" in run.stdout
    assert await target.get_user("alice") is None


async def test_an_archive_is_self_describing_json_lines(
    source: tuple[MongoDataLayer, History], mongo_layer_command: RunCommand
) -> None:
    run = await mongo_layer_command("export", "--user", "bob")

    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert records[0]["format"] == "mongo-layer-archive"
    assert records[0]["version"] == ARCHIVE_VERSION
    assert records[0]["selection"] == {"user": "bob"}
    assert [r["record"] for r in records] == ["archive", "user", "file", "chunk", "thread", "end"]
    assert records[1]["user"]["identifier"] == "bob"
    assert records[-2]["thread"]["steps"][0]["feedback"]["value"] == 1
    assert records[-1] == {"record": "end", "users": 1, "threads": 1, "files": 1}
    assert "wrote 1 user, 1 thread and 1 file" in run.stderr


async def test_export_of_one_thread_holds_it_and_its_author(
    source: tuple[MongoDataLayer, History], tmp_path: Path
) -> None:
    source_layer, _ = source
    archive = tmp_path / "one.jsonl"

    with archive.open("w") as out:
        summary = await export_archive(source_layer, out, ExportSelection(thread_id="a-large"))

    records = [json.loads(line) for line in archive.read_text().splitlines()]
    assert (summary.users, summary.threads, summary.files) == (1, 1, 1)
    assert [r["thread"]["id"] for r in records if r["record"] == "thread"] == ["a-large"]
    assert [r["user"]["identifier"] for r in records if r["record"] == "user"] == ["alice"]


async def test_a_cut_off_archive_is_refused_after_importing_what_came_before(
    archive: Path,
    target: MongoDataLayer,
    other_database_name: str,
    mongo_layer_command: RunCommand,
    tmp_path: Path,
) -> None:
    lines = archive.read_text().splitlines(keepends=True)
    first_thread = next(n for n, line in enumerate(lines) if '"record": "thread"' in line)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: first_thread + 1]))

    run = await mongo_layer_command("import", str(cut), database=other_database_name)

    assert run.exit_code == ExitCode.FAILURE
    assert "cut off after 1 threads" in run.stderr
    assert await target.get_thread(json.loads(lines[first_thread])["thread"]["id"]) is not None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"hello": 1}\n', "not a mongo-layer-archive"),
        (
            '{"record": "archive", "format": "mongo-layer-archive", "version": 99,'
            ' "exportedAt": "", "selection": {}}\n',
            "version 99",
        ),
        ("", "the archive is empty"),
    ],
)
async def test_what_is_not_a_readable_archive_is_refused(
    content: str, reason: str, mongo_layer_command: RunCommand, tmp_path: Path
) -> None:
    path = tmp_path / "archive.jsonl"
    path.write_text(content)

    run = await mongo_layer_command("import", str(path))

    assert run.exit_code == ExitCode.FAILURE
    assert reason in run.stderr


async def test_exporting_a_user_not_stored_fails_naming_them_and_leaves_no_file(
    mongo_layer_command: RunCommand, tmp_path: Path
) -> None:
    run = await mongo_layer_command("export", "--user", "nobody", "--out", str(tmp_path / "a"))

    assert run.exit_code == ExitCode.FAILURE
    assert run.stderr.strip() == "Error: no user 'nobody' is stored"
    assert list(tmp_path.iterdir()) == []


async def test_export_needs_exactly_one_selection(mongo_layer_command: RunCommand) -> None:
    run = await mongo_layer_command("export", "--all", "--user", "alice")

    assert run.exit_code == ExitCode.USAGE
    assert "exactly one of --thread, --user and --all" in run.stderr


async def test_markdown_export_writes_a_transcript_with_files_beside_it(
    source: tuple[MongoDataLayer, History], mongo_layer_command: RunCommand, tmp_path: Path
) -> None:
    run = await mongo_layer_command(
        "export", "--user", "alice", "--format", "markdown", "--out", str(tmp_path / "md")
    )

    transcript = (tmp_path / "md" / "a-chat.md").read_text()
    assert run.exit_code == ExitCode.OK, run.stderr
    assert sorted(p.name for p in (tmp_path / "md").glob("*.md")) == [
        "a-chat.md",
        "a-large.md",
        "a-long.md",
    ]
    assert transcript.startswith("# Herons\n")
    assert "### assistant · 2024-05-01T10:00:02.250Z" in transcript  # nested under the question
    assert "In colonies." in transcript and "Feedback: 👍 good" in transcript
    assert "In colonies.\n\nFeedback: 👍 good\n\n- [a.txt](<a-chat/a.txt>)" in transcript
    assert (tmp_path / "md" / "a-chat" / "a.txt").read_bytes() == b"hello"
    assert (tmp_path / "md" / "a-large" / "a.txt").read_bytes() == bytes(range(256)) * 1200


async def test_the_export_entry_point_runs_as_a_process(
    source: tuple[MongoDataLayer, History], mongo_layer_process: RunCommand
) -> None:
    run = await mongo_layer_process("export", "--thread", "b-chat")

    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.exit_code == ExitCode.OK, run.stderr
    assert [r["thread"]["name"] for r in records if r["record"] == "thread"] == ["Bob's"]
