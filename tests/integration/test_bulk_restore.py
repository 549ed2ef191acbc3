"""Restoring many threads at once: a thread not stored yet is written whole, many per
command, and reads and behaves exactly as one restored step by step through the live write;
a thread stored already goes through `restore_thread`."""

from typing import Any

from chainlit.step import StepDict
from chainlit.types import ThreadDict
from conftest import CommandCounter

from mongo_layer import MongoDataLayer, ThreadToRestore
from mongo_layer.errors import MongoLayerError, RestoreRefusedError
from mongo_layer.operations.bulk_restore import RestoreOutcome
from mongo_layer.operations.restore import RestoreSummary

from .factories import stored_thread
from .test_restore import ALICE, bytes_of, element, history_thread, old_step

BOOKKEEPING = ("fieldStamps",)


def step_dict(step: dict[str, Any]) -> StepDict:
    typed: StepDict = step  # type: ignore[assignment]
    return typed


def summaries(outcomes: list[RestoreOutcome]) -> list[RestoreSummary]:
    assert all(isinstance(outcome, RestoreSummary) for outcome in outcomes), outcomes
    return [outcome for outcome in outcomes if isinstance(outcome, RestoreSummary)]


def renamed(thread: Any, old: str, new: str) -> Any:
    """The thread with every id holding `old` renamed to hold `new`: the same thread under
    other ids, to restore it twice side by side."""
    if isinstance(thread, dict):
        return {key: renamed(value, old, new) for key, value in thread.items()}
    if isinstance(thread, list):
        return [renamed(value, old, new) for value in thread]
    return thread.replace(old, new) if isinstance(thread, str) else thread


def without_stamps(document: dict[str, Any], old: str, new: str) -> Any:
    """A stored document compared across the two ways of writing it: stamps and times of
    writing differ, ids were renamed."""
    found = renamed(document, new, old)
    for step in found.get("steps") or []:
        for field in BOOKKEEPING:
            step.pop(field, None)
    for field in ("size", "fileId"):
        found.pop(field, None)
    for element_document in found.get("elements") or []:
        element_document.pop("fileId", None)
    return found


async def restored_both_ways(
    layer: MongoDataLayer, thread: ThreadDict, files: dict[str, bytes] | None = None
) -> None:
    """`thread` restored through `restore_thread` (as `live`) and the same under other
    ids through `restore_threads` (as `bulk`)."""
    live = renamed(thread, "t-old", "live")
    bulk = renamed(thread, "t-old", "bulk")
    await layer.operations.restore_thread(live, bytes_of(renamed(files or {}, "t-old", "live")))
    outcomes = await layer.operations.restore_threads(
        [ThreadToRestore(bulk)], bytes_of(renamed(files or {}, "t-old", "bulk"))
    )
    summaries(outcomes)


async def test_a_thread_written_whole_reads_back_as_one_restored_step_by_step(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_user(ALICE)
    thread = history_thread(steps=6, elements=[element("t-old-e1"), element("t-old-e2")])

    await restored_both_ways(layer, thread, {"t-old-e1": b"file bytes"})

    live, bulk = await stored_thread(layer, "live"), await stored_thread(layer, "bulk")
    assert renamed(bulk, "bulk", "t-old") == renamed(live, "live", "t-old")
    assert [s["id"] for s in bulk["steps"]] == [f"bulk-s{n}" for n in range(6)]
    feedback = bulk["steps"][1].get("feedback")
    assert feedback is not None and feedback["id"] == "bulk-f1"
    live_document = await layer.stores.threads.collection.find_one({"_id": "live"})
    bulk_document = await layer.stores.threads.collection.find_one({"_id": "bulk"})
    assert without_stamps(bulk_document, "t-old", "bulk") == without_stamps(
        live_document, "t-old", "live"
    )


async def test_a_thread_past_its_budget_overflows_at_the_same_step_either_way(
    layer_with: Any,
) -> None:
    layer: MongoDataLayer = await layer_with(thread_document_budget_bytes=65_536)
    thread = history_thread(steps=[old_step("t-old", n, output="o" * 4_000) for n in range(30)])

    await restored_both_ways(layer, thread)

    documents = {d["_id"]: d async for d in layer.stores.threads.collection.find({})}
    live, bulk = documents["live"], documents["bulk"]
    assert bulk["overflow"] is live["overflow"] is True
    assert renamed([s["id"] for s in bulk["steps"]], "bulk", "x") == renamed(
        [s["id"] for s in live["steps"]], "live", "x"
    )
    assert 0 < len(bulk["steps"]) < 30
    overflowed = await layer.stores.overflow.collection.count_documents({"threadId": "bulk"})
    assert overflowed == 30 - len(bulk["steps"])
    read_back = await stored_thread(layer, "bulk")
    assert [s["id"] for s in read_back["steps"]] == [f"bulk-s{n}" for n in range(30)]


async def test_a_step_written_whole_takes_later_live_writes_like_any_step(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_threads([ThreadToRestore(history_thread(steps=3))])

    await layer.update_step(step_dict(old_step("t-old", 1, output="edited", feedback=None)))
    await layer.delete_step("t-old-s2")
    await layer.create_step(step_dict(old_step("t-old", 3)))

    steps = (await stored_thread(layer, "t-old"))["steps"]
    assert [s["id"] for s in steps] == ["t-old-s0", "t-old-s1", "t-old-s3"]
    assert steps[1]["output"] == "edited"
    assert steps[1]["input"] == "question 1"


async def test_many_new_threads_take_a_few_commands(
    layer: MongoDataLayer, commands: CommandCounter
) -> None:
    threads = [ThreadToRestore(history_thread(f"t{n}", steps=10)) for n in range(20)]

    written = summaries(await layer.operations.restore_threads(threads))

    assert [s.steps_written for s in written] == [10] * 20
    assert all(s.feedback_written == 1 and s.thread_written for s in written)
    assert commands.commands.count("insert") == 2  # the threads, then their ratings
    assert "update" not in commands.commands
    assert "findAndModify" not in commands.commands
    assert commands.count <= 6
    assert await layer.stores.feedback.collection.count_documents({}) == 20


async def test_a_second_batch_changes_nothing_and_a_half_stored_thread_is_completed(
    layer: MongoDataLayer,
) -> None:
    whole = history_thread("t-half", steps=6)
    await layer.operations.restore_thread(history_thread("t-half", steps=whole["steps"][:3]))
    threads = [ThreadToRestore(history_thread("t-new", steps=4)), ThreadToRestore(whole)]

    first = summaries(await layer.operations.restore_threads(threads))
    again = summaries(await layer.operations.restore_threads(threads))

    assert (first[1].steps_unchanged, first[1].steps_written) == (3, 3)
    assert not any(summary.changed for summary in again)
    steps = (await stored_thread(layer, "t-half"))["steps"]
    assert [s["id"] for s in steps] == [f"t-half-s{n}" for n in range(6)]


async def test_a_thread_claiming_another_threads_element_is_refused_alone(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_thread(
        history_thread("t-first", elements=[element("e-1", "t-first")])
    )
    threads = [
        ThreadToRestore(history_thread("t-thief", elements=[element("e-1", "t-thief")])),
        ThreadToRestore(history_thread("t-fine", steps=2)),
    ]

    refused, fine = await layer.operations.restore_threads(threads)

    assert isinstance(refused, RestoreRefusedError)
    assert "e-1" in str(refused) and "t-thief" in str(refused)
    assert isinstance(fine, RestoreSummary) and fine.steps_written == 2
    assert await layer.stores.threads.collection.count_documents({"_id": "t-thief"}) == 0


async def test_a_thread_that_cannot_be_stored_is_named_and_the_others_are_written(
    layer: MongoDataLayer,
) -> None:
    broken = history_thread("t-broken", createdAt="not a time")
    threads = [ThreadToRestore(broken), ThreadToRestore(history_thread("t-fine"))]

    failed, fine = await layer.operations.restore_threads(threads)

    assert isinstance(failed, MongoLayerError) and "t-broken" in str(failed)
    assert isinstance(fine, RestoreSummary) and fine.thread_written


async def test_a_batch_interrupted_after_the_thread_documents_is_completed_when_run_again(
    layer_with: Any,
) -> None:
    layer: MongoDataLayer = await layer_with(thread_document_budget_bytes=65_536)
    steps = [old_step("t-old", n, output="o" * 4_000) for n in range(30)]
    threads = [ThreadToRestore(history_thread(steps=steps))]
    await layer.operations.restore_threads(threads)
    # As if the run stopped once the thread document was written: no overflow, no rating.
    await layer.stores.overflow.collection.delete_many({})
    await layer.stores.feedback.collection.delete_many({})

    (again,) = summaries(await layer.operations.restore_threads(threads))

    assert again.steps_written == 30 - again.steps_unchanged > 0
    assert again.feedback_written == 1
    read_back = await stored_thread(layer, "t-old")
    assert [s["id"] for s in read_back["steps"]] == [f"t-old-s{n}" for n in range(30)]
    assert read_back["steps"][1].get("feedback") is not None
