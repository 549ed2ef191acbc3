"""A delete whose reply is lost is tried again and still cleans up all it owns (README,
"Failover"; docs/decisions.md, "Failover"): the repetition finds the thread, element or
step gone already, yet leaves nothing of it behind: no overflow documents, element id
claims, feedback, GridFS files or chunks. The drivers' own retry is turned off, so the
layer itself sends the applied command again, as it does after the driver's retry failed
too (an election)."""

from dataclasses import dataclass
from typing import Any

import pytest
from chainlit.types import Feedback

from mongo_layer import MongoDataLayer

from .conftest import LayerThroughProxy
from .factories import file_element, step, stored_thread
from .fault_proxy import FaultProxy

# Small enough that a few steps overflow the thread document and a long output goes to GridFS.
LIMITS = {"thread_document_budget_bytes": 64 * 1024, "large_field_bytes": 8 * 1024}
EMBEDDED_OUTPUT = "x" * 6000  # under `large_field_bytes`: stays in the step
LARGE_OUTPUT = "y" * 20_000  # over it: moved to GridFS
STEPS_TO_OVERFLOW = 14


@dataclass
class Remains:
    """What the database holds of one thread, by collection."""

    thread: int
    overflow: int
    feedback: int
    claims: int
    files: int
    chunks: int


async def remains_of(layer: MongoDataLayer, thread_id: str, file_ids: list[Any]) -> Remains:
    """What is stored of the thread; `file_ids` are its files, whose chunks are counted."""
    stores = layer.stores
    by_thread = {"threadId": thread_id}
    return Remains(
        thread=await stores.threads.collection.count_documents({"_id": thread_id}),
        overflow=await stores.overflow.collection.count_documents(by_thread),
        feedback=await stores.feedback.collection.count_documents(by_thread),
        claims=await stores.element_owners.collection.count_documents(by_thread),
        files=await stores.files.files.count_documents({"metadata.threadId": thread_id}),
        chunks=await stores.files.chunks.count_documents({"files_id": {"$in": file_ids}}),
    )


async def file_ids(layer: MongoDataLayer, **metadata: str) -> list[Any]:
    query = {f"metadata.{key}": value for key, value in metadata.items()}
    found = await layer.stores.files.files.find(query, {"_id": 1}).to_list(None)
    return [document["_id"] for document in found]


async def full_thread(layer: MongoDataLayer, thread_id: str) -> None:
    """A thread with everything a thread can own: embedded and overflowed steps, a large
    field of each kind of step in GridFS, an element with a file (and its id claim), and
    feedback."""
    await layer.update_thread(thread_id, name=thread_id)
    await layer.create_step(step(f"{thread_id}-first", thread_id, output=LARGE_OUTPUT))
    for n in range(STEPS_TO_OVERFLOW):
        await layer.create_step(step(f"{thread_id}-{n}", thread_id, output=EMBEDDED_OUTPUT))
    await layer.create_step(step(f"{thread_id}-last", thread_id, output=LARGE_OUTPUT))
    element = file_element(thread_id, b"attached" * 1000, for_id=f"{thread_id}-first")
    await layer.create_element(element)
    await layer.upsert_feedback(Feedback(forId=f"{thread_id}-first", threadId=thread_id, value=1))


async def without_retried_writes(layer_through_proxy: LayerThroughProxy) -> MongoDataLayer:
    """A layer through the proxy without the drivers' own retry: after a lost reply the
    layer itself sends the applied command again."""
    return await layer_through_proxy({"retryWrites": "false"}, **LIMITS)


def assert_the_reply_was_lost_and_the_call_retried(
    fault_proxy: FaultProxy, through_proxy: MongoDataLayer
) -> None:
    assert fault_proxy.replies_lost == 1
    assert through_proxy.stores.retrier.retries >= 1


async def test_a_thread_deleted_with_its_reply_lost_leaves_nothing_behind(
    layer_with: Any, layer_through_proxy: LayerThroughProxy, fault_proxy: FaultProxy
) -> None:
    layer = await layer_with(**LIMITS)
    await full_thread(layer, "gone")
    await full_thread(layer, "kept")
    gone_files, kept_files = (
        await file_ids(layer, threadId="gone"),
        await file_ids(layer, threadId="kept"),
    )
    kept_before = await remains_of(layer, "kept", kept_files)
    assert kept_before.overflow > 0 and kept_before.claims == 1 and kept_before.files == 3
    assert await remains_of(layer, "gone", gone_files) == kept_before
    through_proxy = await without_retried_writes(layer_through_proxy)
    # The thread's find-and-delete, whose reply says what else the thread had.
    fault_proxy.lose_reply_to("findAndModify")

    await through_proxy.delete_thread("gone")

    assert_the_reply_was_lost_and_the_call_retried(fault_proxy, through_proxy)
    assert await remains_of(layer, "gone", gone_files) == Remains(0, 0, 0, 0, 0, 0)
    assert await remains_of(layer, "kept", kept_files) == kept_before


@pytest.mark.parametrize("thread_named", [True, False])
async def test_an_element_deleted_with_its_reply_lost_leaves_no_file_behind(
    layer: MongoDataLayer,
    layer_through_proxy: LayerThroughProxy,
    fault_proxy: FaultProxy,
    thread_named: bool,
) -> None:
    await layer.create_element(file_element("t1", b"gone" * 1000, id="e1"))
    await layer.create_element(file_element("t1", b"kept" * 1000, id="e2"))
    gone_files = await file_ids(layer, elementId="e1")
    through_proxy = await without_retried_writes(layer_through_proxy)
    # The element's removal from its thread, whose reply names its file.
    fault_proxy.lose_reply_to("findAndModify")

    await through_proxy.delete_element("e1", "t1" if thread_named else None)

    assert_the_reply_was_lost_and_the_call_retried(fault_proxy, through_proxy)
    thread = await layer.get_thread("t1")
    assert thread is not None and [e["id"] for e in thread["elements"] or []] == ["e2"]
    assert await file_ids(layer, elementId="e1") == []
    assert await layer.stores.files.chunks.count_documents({"files_id": {"$in": gone_files}}) == 0
    kept_files = await file_ids(layer, elementId="e2")
    assert len(kept_files) == 1
    assert await layer.stores.files.chunks.count_documents({"files_id": kept_files[0]}) == 1


async def step_remains(layer: MongoDataLayer, thread_id: str, step_id: str) -> dict[str, int]:
    """What is stored of one step: visible in its thread, its files, their chunks, its
    feedback, the elements attached to it."""
    thread = await layer.get_thread(thread_id)
    assert thread is not None
    files = await file_ids(layer, threadId=thread_id, stepId=step_id)
    return {
        "step": len([s for s in thread["steps"] if s["id"] == step_id]),
        "files": len(files),
        "chunks": await layer.stores.files.chunks.count_documents({"files_id": {"$in": files}}),
        "feedback": await layer.stores.feedback.collection.count_documents({"forId": step_id}),
        "elements": len([e for e in thread["elements"] or [] if e.get("forId") == step_id]),
    }


NOTHING_OF_THE_STEP = {"step": 0, "files": 0, "chunks": 0, "feedback": 0, "elements": 0}


@pytest.mark.parametrize("thread_known", [True, False])
async def test_an_embedded_step_deleted_with_its_reply_lost_leaves_nothing_behind(
    layer: MongoDataLayer,
    layer_through_proxy: LayerThroughProxy,
    fault_proxy: FaultProxy,
    thread_known: bool,
) -> None:
    through_proxy = await without_retried_writes(layer_through_proxy)
    # Written through the layer that deletes (as in a Chainlit session), it knows the
    # thread; written by another, the delete finds it by a read.
    writer = through_proxy if thread_known else layer
    for step_id in ("s1", "s2"):
        await writer.create_step(step(step_id, output=LARGE_OUTPUT * 20))
        await writer.create_element(file_element("t1", b"attached" * 1000, for_id=step_id))
        await writer.upsert_feedback(Feedback(forId=step_id, threadId="t1", value=1))
    kept = await step_remains(layer, "t1", "s2")
    assert kept == {"step": 1, "files": 2, "chunks": 3, "feedback": 1, "elements": 1}
    assert await step_remains(layer, "t1", "s1") == kept
    # The step's replacement by its tombstone, whose reply names its files.
    fault_proxy.lose_reply_to("findAndModify")

    await through_proxy.delete_step("s1")

    assert_the_reply_was_lost_and_the_call_retried(fault_proxy, through_proxy)
    assert await step_remains(layer, "t1", "s1") == NOTHING_OF_THE_STEP
    assert await step_remains(layer, "t1", "s2") == kept


async def test_an_overflowed_step_deleted_with_its_reply_lost_leaves_nothing_behind(
    layer: MongoDataLayer, layer_through_proxy: LayerThroughProxy, fault_proxy: FaultProxy
) -> None:
    through_proxy = await without_retried_writes(layer_through_proxy)
    # Written through the layer that deletes, so it knows the thread's document is full
    # and sends the delete straight to the overflow collection.
    await full_thread(through_proxy, "t1")
    steps = through_proxy.stores.steps
    assert not steps._is_embedded_in_full_thread("t1", "t1-last")
    await through_proxy.upsert_feedback(Feedback(forId="t1-last", threadId="t1", value=0))
    overflowed = {"step": 1, "files": 1, "chunks": 1, "feedback": 1, "elements": 0}
    assert await step_remains(layer, "t1", "t1-last") == overflowed
    kept = await step_remains(layer, "t1", "t1-first")
    # The overflowed step's find-and-delete, whose reply names its file.
    fault_proxy.lose_reply_to("findAndModify")

    await through_proxy.delete_step("t1-last")

    assert_the_reply_was_lost_and_the_call_retried(fault_proxy, through_proxy)
    assert await step_remains(layer, "t1", "t1-last") == NOTHING_OF_THE_STEP
    assert await layer.stores.overflow.collection.count_documents({"step.id": "t1-last"}) == 0
    assert await step_remains(layer, "t1", "t1-first") == kept


async def test_a_step_write_with_its_reply_lost_stores_its_large_field_once(
    layer: MongoDataLayer, layer_through_proxy: LayerThroughProxy, fault_proxy: FaultProxy
) -> None:
    through_proxy = await without_retried_writes(layer_through_proxy)
    await through_proxy.update_thread("t1", name="large fields")
    # The step write itself (its field's upload went through before).
    fault_proxy.lose_reply_to("update", "findAndModify")

    await through_proxy.create_step(step("s1", output=LARGE_OUTPUT))

    assert_the_reply_was_lost_and_the_call_retried(fault_proxy, through_proxy)
    files = await file_ids(layer, stepId="s1")
    assert len(files) == 1
    thread = await layer.stores.threads.collection.find_one({"_id": "t1"})
    assert [s["outputFileId"] for s in thread["steps"]] == files
    assert (await stored_thread(layer, "t1"))["steps"][0]["output"] == LARGE_OUTPUT
