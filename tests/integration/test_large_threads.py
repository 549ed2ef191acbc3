"""Threads larger than one MongoDB document: overflow documents and large fields in GridFS."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import pytest
from chainlit.step import StepDict
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User
from conftest import CommandCounter
from pymongo import monitoring

from mongo_layer import MongoDataLayer, ThreadTooLargeError

from . import factories

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]
SIXTEEN_MB = 16 * 1024 * 1024


class ReturnedDocuments(CommandCounter):
    """A CommandCounter that also notes the size of the largest document a cursor returned."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") or {}
        for document in cursor.get("firstBatch", []) + cursor.get("nextBatch", []):
            self.largest = max(self.largest, len(bson.encode(document)))


@pytest.fixture
def commands() -> ReturnedDocuments:
    return ReturnedDocuments()


START = datetime(2025, 1, 1, tzinfo=UTC)


def step(thread_id: str, number: int, output: str, **fields: Any) -> StepDict:
    created_at = (START + timedelta(milliseconds=number)).isoformat().replace("+00:00", "Z")
    return factories.step(
        f"step-{number:05d}",
        thread_id,
        name="Assistant",
        output=output,
        createdAt=created_at,
        **fields,
    )


async def write_all(layer: MongoDataLayer, steps: Iterable[StepDict], at_once: int) -> None:
    pending = list(steps)
    for start in range(0, len(pending), at_once):
        await asyncio.gather(*(layer.create_step(s) for s in pending[start : start + at_once]))


async def stored_sizes(layer: MongoDataLayer, thread_id: str) -> tuple[int, int]:
    """The thread document's BSON size and how many steps live in overflow documents."""
    document = await layer.stores.threads.collection.find_one({"_id": thread_id})
    overflowed = await layer.stores.overflow.collection.count_documents({"threadId": thread_id})
    return len(bson.encode(document)), overflowed


def text_of(number: int, size: int) -> str:
    return (f"{number:05d}" * (size // 5 + 1))[:size]


@pytest.mark.parametrize("driver", ["motor"], indirect=True)
async def test_a_thread_of_20_mb_of_steps_is_stored_and_read_back_whole_in_order(
    layer: MongoDataLayer,
) -> None:
    # 20 MB of steps, past the document budget and MongoDB's 16 MB limit, in 400 steps of
    # 50 KB (embedded, not moved to GridFS): the same limits 4,000 steps of 5 KB cross, in
    # a tenth of the writes. The storage path does not depend on the driver, so one driver
    # carries this slow test; the overflow tests below run on both.
    count, size = 400, 50 * 1024
    assert count * size > SIXTEEN_MB and size < layer.settings.large_field_bytes
    await layer.update_thread("big", name="A very long conversation")
    await write_all(layer, (step("big", n, text_of(n, size)) for n in range(count)), at_once=25)

    thread = await layer.get_thread("big")

    assert thread is not None
    assert [s["id"] for s in thread["steps"]] == [f"step-{n:05d}" for n in range(count)]
    assert all(s["output"] == text_of(n, size) for n, s in enumerate(thread["steps"]))
    document_size, overflowed = await stored_sizes(layer, "big")
    assert document_size <= layer.settings.thread_document_budget_bytes + 64 * 1024
    assert overflowed > 0


async def test_a_thread_of_20_steps_of_1_mb_is_stored_and_read_back_whole_in_order(
    layer: MongoDataLayer,
) -> None:
    size = 1024 * 1024
    await write_all(layer, (step("mb", n, text_of(n, size)) for n in range(20)), at_once=4)

    thread = await layer.get_thread("mb")

    assert thread is not None
    assert [s["output"] for s in thread["steps"]] == [text_of(n, size) for n in range(20)]
    document_size, _ = await stored_sizes(layer, "mb")
    assert document_size < 1024 * 1024


async def test_a_large_output_keeps_a_searchable_preview_in_the_thread(
    layer: MongoDataLayer,
) -> None:
    user = await layer.create_user(User(identifier="ann"))
    assert user is not None
    await layer.update_thread("t", name="report", user_id=user.id)
    await layer.create_step(step("t", 1, "needle " + "x" * 400_000))

    document = await layer.stores.threads.collection.find_one({"_id": "t"})
    embedded = document["steps"][0]
    assert len(embedded["output"]) < 2000 and embedded["outputFileId"] is not None
    page = await layer.list_threads(
        Pagination(first=5), ThreadFilter(userId=user.id, search="NEEDLE")
    )
    assert [t["id"] for t in page.data] == ["t"]


async def test_a_small_update_replaces_a_large_output_moved_to_gridfs(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("t", 1, "y" * 300_000))
    await layer.update_step(step("t", 1, "short final answer"))

    thread = await layer.get_thread("t")

    assert thread is not None
    assert thread["steps"][0]["output"] == "short final answer"
    assert "outputFileId" not in thread["steps"][0]


async def test_a_large_generation_round_trips_through_gridfs(layer: MongoDataLayer) -> None:
    generation = {"type": "CHAT", "messages": [{"role": "user", "content": "z" * 300_000}]}
    await layer.create_step(step("t", 1, "ok", generation=generation))

    thread = await layer.get_thread("t")

    assert thread is not None and thread["steps"][0]["generation"] == generation


async def test_steps_past_the_budget_go_to_overflow_and_behave_like_embedded_steps(
    layer_with: MakeLayer,
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    user = await layer.create_user(User(identifier="ann"))
    assert user is not None
    await layer.update_thread("t", name="t", user_id=user.id)
    await write_all(layer, (step("t", n, text_of(n, 2048)) for n in range(60)), at_once=10)
    _, overflowed = await stored_sizes(layer, "t")
    assert 0 < overflowed < 60

    await layer.update_step(step("t", 0, "first, edited"))
    await layer.update_step(step("t", 59, "last, edited"))
    await layer.set_step_favorite(step("t", 59, ""), True)
    feedback_id = await layer.upsert_feedback(Feedback(forId="step-00058", value=1))
    thread = await layer.get_thread("t")

    assert thread is not None
    outputs = [s["output"] for s in thread["steps"]]
    assert len(outputs) == 60 and outputs[0] == "first, edited" and outputs[59] == "last, edited"
    assert thread["steps"][58]["feedback"] is not None
    assert thread["steps"][58]["feedback"]["id"] == feedback_id
    favorites = await layer.get_favorite_steps(user.id)
    assert [(f["id"], f["threadId"]) for f in favorites] == [("step-00059", "t")]


async def test_deleting_an_overflowed_step_or_its_thread_leaves_nothing_behind(
    layer_with: MakeLayer,
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await write_all(layer, (step("t", n, text_of(n, 2048)) for n in range(60)), at_once=10)
    await layer.upsert_feedback(Feedback(forId="step-00059", value=0, threadId="t"))

    await layer.delete_step("step-00059")

    thread = await layer.get_thread("t")
    assert thread is not None and len(thread["steps"]) == 59
    assert await layer.stores.feedback.collection.count_documents({"forId": "step-00059"}) == 0

    await layer.delete_thread("t")

    assert await layer.get_thread("t") is None
    assert await layer.stores.overflow.collection.count_documents({}) == 0


async def test_a_new_step_of_a_full_thread_costs_two_commands_once_the_layer_knows_it_is_full(
    layer_with: MakeLayer, commands: CommandCounter
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await write_all(layer, (step("t", n, text_of(n, 2048)) for n in range(40)), at_once=10)
    _, overflowed = await stored_sizes(layer, "t")
    assert overflowed > 0
    another_process = await layer_with(thread_document_budget_bytes=64 * 1024)

    commands.reset()
    await layer.create_step(step("t", 40, "one more"))
    # The overflowed step, and the thread's last activity.
    assert commands.commands == ["update", "update"]

    commands.reset()
    await another_process.create_step(step("t", 41, "first write of another layer"))
    # Refused by the full thread document (the append of update operators, then the
    # pipeline twice: see ThreadStore.upsert_step), then the embedded step ids are read
    # once, then the step and the thread's activity are stored.
    assert commands.commands == [
        "update",
        "findAndModify",
        "findAndModify",
        "find",
        "update",
        "update",
    ]

    commands.reset()
    thread = await another_process.get_thread("t")
    assert thread is not None and len(thread["steps"]) == 42
    assert commands.commands == ["aggregate", "find"]


async def test_a_step_that_cannot_fit_is_refused_naming_thread_and_size_and_damages_nothing(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("t", 1, "kept"))
    huge_metadata = {f"key{n}": "m" * 1000 for n in range(6000)}

    with pytest.raises(ThreadTooLargeError, match=r"thread 't'.*\d+ bytes"):
        await layer.create_step(step("t", 2, "lost", metadata=huge_metadata))

    thread = await layer.get_thread("t")
    assert thread is not None and [s["output"] for s in thread["steps"]] == ["kept"]
    assert await layer.stores.files.files.count_documents({}) == 0


async def test_pruning_keeps_large_fields_of_embedded_and_overflowed_steps_and_drops_replaced_ones(
    layer_with: MakeLayer,
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await write_all(layer, (step("t", n, text_of(n, 2048)) for n in range(40)), at_once=10)
    await layer.update_step(step("t", 0, "E" * 300_000))
    await layer.create_step(step("t", 99, "O" * 300_000))
    await layer.create_step(step("t", 98, "R" * 300_000))
    await layer.update_step(step("t", 98, "P" * 300_000))

    assert await layer.operations.prune_orphans(grace=timedelta(0)) == 1

    thread = await layer.get_thread("t")
    assert thread is not None
    outputs = {s["id"]: s["output"] for s in thread["steps"]}
    assert outputs["step-00099"] == "O" * 300_000
    assert outputs["step-00098"] == "P" * 300_000
    assert outputs["step-00000"] == "E" * 300_000
    assert await layer.stores.files.files.count_documents({}) == 3


async def test_overflowed_steps_with_equal_times_keep_their_arrival_order(
    layer_with: MakeLayer,
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await write_all(layer, (step("t", n, text_of(n, 2048)) for n in range(40)), at_once=10)
    same_time = step("t", 100, "")["createdAt"]
    arrival = ["zulu", "yankee", "xray", "whiskey", "victor"]
    for step_id in arrival:
        await layer.create_step({**step("t", 100, step_id), "id": step_id, "createdAt": same_time})
    _, overflowed = await stored_sizes(layer, "t")
    assert overflowed >= len(arrival)

    thread = await layer.get_thread("t")

    assert thread is not None
    assert [s["id"] for s in thread["steps"]][-len(arrival) :] == arrival


async def test_a_thread_at_the_document_limit_is_read_with_all_its_feedback(
    layer_with: MakeLayer, commands: ReturnedDocuments
) -> None:
    """A thread document grown near 16 MB by updates of its embedded steps, plus a rating
    with a long comment on each of 100 more steps: no document the server returns for
    `get_thread` may pass the 16 MB limit, so the feedback cannot ride inside the thread's."""
    layer = await layer_with(large_field_bytes=5 * 1024 * 1024)
    big, rated = 4, 100
    await write_all(layer, (step("t", n, f"short {n}") for n in range(big + rated)), at_once=20)
    for n in range(big):
        await layer.update_step(step("t", n, text_of(n, 4_050_000)))
    for n in range(big, big + rated):
        comment = text_of(n, 9_000)
        await layer.upsert_feedback(
            Feedback(forId=f"step-{n:05d}", threadId="t", value=n % 2, comment=comment)  # type: ignore[arg-type]
        )
    document_size, overflowed = await stored_sizes(layer, "t")
    assert document_size + rated * 9_000 > SIXTEEN_MB and overflowed == 0
    commands.largest = 0

    thread = await layer.get_thread("t")

    assert thread is not None
    assert [s["output"] for s in thread["steps"][:big]] == [
        text_of(n, 4_050_000) for n in range(big)
    ]
    ratings = [s.get("feedback") for s in thread["steps"][big:]]
    comments = [rating["comment"] if rating else None for rating in ratings]
    assert comments == [text_of(n, 9_000) for n in range(big, big + rated)]
    assert 0 < commands.largest <= SIXTEEN_MB
