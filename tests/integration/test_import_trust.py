"""`mongo-layer import` is a trust boundary: run as a real process against the test server,
a hostile or malformed archive never changes alice's (or anyone's) stored history, and
says which line of the archive it refused."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CommandRun

from mongo_layer import MongoDataLayer
from mongo_layer.archive import ExportSelection, export_archive
from mongo_layer.cli.runtime import ExitCode

from .archives import HEADER, line_of
from .factories import stored_thread
from .history import SMALL_LIMITS, History, fill_history, snapshot, without_threads

RunCommand = Callable[..., Awaitable[CommandRun]]
MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


def archive_of(path: Path, *lines: bytes, users: int = 0, threads: int = 0) -> Path:
    """An archive with a header, these lines, and an end record with these counts."""
    end = {"record": "end", "users": users, "threads": threads, "files": 0}
    path.write_bytes(line_of(HEADER) + b"".join(lines) + line_of(end))
    return path


def thread_line(**thread: Any) -> bytes:
    return line_of({"record": "thread", "thread": thread})


@pytest.fixture
async def history(layer_with: MakeLayer) -> tuple[MongoDataLayer, History]:
    """Alice's and Bob's threads, files, ratings and users, written through the layer."""
    layer = await layer_with(**SMALL_LIMITS)
    return layer, await fill_history(layer)


async def test_an_archive_cannot_take_over_or_change_anothers_thread_element_feedback_or_user(
    history: tuple[MongoDataLayer, History],
    mongo_layer_process: RunCommand,
    tmp_path: Path,
) -> None:
    layer, people = history
    alice, bob = people.alice, people.bob
    ratings = [step.get("feedback") for step in (await stored_thread(layer, "a-chat"))["steps"]]
    alices_feedback_id = next(rating["id"] for rating in ratings if rating is not None)
    new_step = {"id": "m-step", "output": "mine now", "createdAt": "2024-06-01T00:00:00Z"}
    archive = archive_of(
        tmp_path / "hostile.jsonl",
        line_of(
            {
                "record": "user",
                "user": {
                    "id": "mallory-id",
                    "identifier": "alice",
                    "display_name": "Mallory",
                    "metadata": {"role": "admin"},
                    "createdAt": "2020-01-01T00:00:00.000Z",
                },
            }
        ),
        thread_line(
            id="a-chat", userId=bob.id, name="bob's now", metadata={"is_shared": True}, steps=[]
        ),
        thread_line(id="a-chat", name="renamed", steps=[new_step]),
        thread_line(
            id="m-element",
            userId=bob.id,
            elements=[{"id": "a-file", "type": "file", "name": "a.txt", "url": "x"}],
        ),
        thread_line(
            id="m-feedback",
            userId=bob.id,
            steps=[{**new_step, "feedback": {"id": alices_feedback_id, "value": 0}}],
        ),
        thread_line(id="b-new", userId=bob.id, name="Bob's own", steps=[new_step]),
        users=1,
        threads=5,
    )
    before = await snapshot(layer)

    run = await mongo_layer_process("import", str(archive))

    assert run.exit_code == ExitCode.FAILURE
    refused = [line for line in run.stderr.splitlines() if not line.startswith("import: ")]
    assert [line.split(":")[0] for line in refused[:5]] == [
        f"line {number} of the archive" for number in range(2, 7)
    ], run.stderr
    named_in_order = ["'alice'", "'a-chat'", "'a-chat'", "'a-file'", repr(alices_feedback_id)]
    for line, named in zip(refused[:5], named_in_order, strict=True):
        assert named in line and "refused" in line, line
    assert refused[5:] == ["Error: 5 records refused: they belong to someone else here"]
    assert "read 1 user and 5 threads" in run.stdout and "5 refused" in run.stdout
    after = await snapshot(layer)
    assert await without_threads(layer, after, {"b-new"}) == before
    assert (await stored_thread(layer, "b-new"))["userId"] == bob.id
    assert await layer.get_thread_author("a-chat") == alice.identifier


async def test_importing_a_databases_own_export_into_it_changes_no_document(
    history: tuple[MongoDataLayer, History],
    mongo_layer_process: RunCommand,
    tmp_path: Path,
) -> None:
    layer, _ = history
    archive = tmp_path / "own.jsonl"
    with archive.open("w") as out:
        await export_archive(layer, out, ExportSelection())
    before = await snapshot(layer)

    run = await mongo_layer_process("import", str(archive))

    assert run.exit_code == ExitCode.OK, run.stderr
    assert "0 threads changed, 0 steps and 0 files stored" in run.stdout
    assert await snapshot(layer) == before


def malformed_archives(path: Path, history: History) -> dict[str, tuple[Path, int]]:
    """Archives that each hold one malformed record, with the line it is on. Those naming
    alice's thread name her as its owner, so only the malformation stands in the way."""
    alice = history.alice.id
    file_line = line_of(
        {
            "record": "file",
            "threadId": "a-chat",
            "elementId": "e",
            "name": "a",
            "mime": "text/plain",
            "length": 3,
        }
    )
    hostile_user = b'{"record": "user", "user": {"id": "x\xff", "identifier": "alice"}}\n'
    deep = b'{"record": "thread", "thread": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    valid_step = {"id": "new-step", "output": "added", "createdAt": "2024-06-01T00:00:00Z"}
    cases: dict[str, tuple[list[bytes], int]] = {
        "bad base64 in a chunk": ([file_line, b'{"record": "chunk", "data": "!!!!"}\n'], 3),
        "invalid UTF-8": ([hostile_user], 2),
        "100,000-deep JSON": ([deep], 2),
        "steps as a string": ([thread_line(id="a-chat", userId=alice, steps="x")], 2),
        "a step as an int": ([thread_line(id="a-chat", userId=alice, steps=[1])], 2),
        "tags as an int": ([thread_line(id="a-chat", userId=alice, tags=5)], 2),
        "a user missing fields": ([line_of({"record": "user", "user": {"identifier": "x"}})], 2),
        "feedback value 7": (
            [
                thread_line(
                    id="a-chat",
                    userId=alice,
                    steps=[{"id": "a-answer", "feedback": {"value": 7}}],
                )
            ],
            2,
        ),
        "NUL in a metadata key": (
            [thread_line(id="a-chat", userId=alice, metadata={"a\x00b": 1})],
            2,
        ),
        "a lone surrogate": ([thread_line(id="a-chat", userId=alice, name="\ud800")], 2),
        "a javascript: element url": (
            [
                thread_line(
                    id="a-chat",
                    userId=alice,
                    elements=[{"id": "a-link", "type": "text", "url": "javascript:alert(1)"}],
                )
            ],
            2,
        ),
        "an integer past 64 bits after a valid step": (
            [
                thread_line(
                    id="a-chat",
                    userId=alice,
                    name="renamed",
                    steps=[valid_step, {"id": "late", "generation": {"n": 2**64}}],
                )
            ],
            2,
        ),
        "a bad time after a valid step": (
            [
                thread_line(
                    id="a-chat",
                    userId=alice,
                    name="renamed",
                    steps=[valid_step, {"id": "late", "createdAt": "yesterday"}],
                )
            ],
            2,
        ),
        "a line past --max-record-mib": ([thread_line(id="big", name="x" * 1_100_000)], 2),
    }
    return {
        name: (archive_of(path / f"case-{number}.jsonl", *lines), line)
        for number, (name, (lines, line)) in enumerate(cases.items())
    }


async def test_a_malformed_record_stops_the_import_with_one_line_naming_it_and_writes_nothing(
    history: tuple[MongoDataLayer, History],
    mongo_layer_process: RunCommand,
    tmp_path: Path,
) -> None:
    layer, people = history
    cases = malformed_archives(tmp_path, people)
    before = await snapshot(layer)

    runs = await asyncio.gather(
        *(
            mongo_layer_process("import", str(path), "--max-record-mib", "1")
            for path, _ in cases.values()
        )
    )

    for (name, (_, line)), run in zip(cases.items(), runs, strict=True):
        stderr = run.stderr.strip().splitlines()
        assert run.exit_code == ExitCode.FAILURE, f"{name}: {run.stdout}"
        assert len(stderr) == 1, f"{name}: {run.stderr}"
        assert stderr[0].startswith(f"Error: line {line} of the archive"), f"{name}: {stderr}"
    assert await snapshot(layer) == before
