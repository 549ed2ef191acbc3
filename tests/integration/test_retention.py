"""Retention, erasure and statistics on the real server: delete_threads_older_than,
erase_user and statistics of MongoDataLayer."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from mongo_layer import MongoDataLayer
from mongo_layer.operations.bulk import thread_contents
from mongo_layer.operations.retention import DeletionSummary

from .factories import step
from .history import (
    OVERFLOWING_STEPS,
    SMALL_LIMITS,
    age_threads,
    fill_history,
    snapshot,
    without_threads,
)

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


@pytest.fixture
async def small_layer(layer_with: MakeLayer) -> MongoDataLayer:
    return await layer_with(**SMALL_LIMITS)


async def test_the_history_overflows_and_offloads(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)
    contents = await thread_contents(small_layer.stores, ["a-long", "a-large"])

    assert contents.steps_overflowed > 0
    assert contents.files == 2  # the large output and the large file


async def test_retention_deletes_inactive_threads_with_everything_attached(
    small_layer: MongoDataLayer,
) -> None:
    await fill_history(small_layer)
    old = ["a-long", "a-large", "b-chat"]
    await age_threads(small_layer, old, days=100)
    before = await snapshot(small_layer)

    summary = await small_layer.operations.delete_threads_older_than(
        timedelta(days=90), batch_size=2
    )

    assert await snapshot(small_layer) == await without_threads(small_layer, before, set(old))
    assert (summary.threads, summary.selected, summary.dry_run) == (3, 3, False)
    assert summary.steps == 1 + 20 + 1
    assert summary.steps_overflowed > 0
    assert (summary.elements, summary.files, summary.feedback) == (2, 3, 2)
    assert await small_layer.get_thread("a-chat") is not None


async def test_retention_dry_run_counts_and_changes_nothing(
    small_layer: MongoDataLayer,
) -> None:
    await fill_history(small_layer)
    await age_threads(small_layer, ["a-long", "b-chat"], days=100)
    before = await snapshot(small_layer)

    summary = await small_layer.operations.delete_threads_older_than(
        timedelta(days=90), dry_run=True
    )

    assert await snapshot(small_layer) == before
    assert (summary.threads, summary.dry_run, summary.steps) == (2, True, 21)


async def test_retention_for_one_user_leaves_other_users_threads(
    small_layer: MongoDataLayer,
) -> None:
    await fill_history(small_layer)
    await age_threads(small_layer, ["a-long", "b-chat"], days=100)

    summary = await small_layer.operations.delete_threads_older_than(
        timedelta(days=90), user_identifier="bob"
    )

    assert summary.threads == 1
    assert await small_layer.get_thread("b-chat") is None
    assert await small_layer.get_thread("a-long") is not None


async def test_recent_activity_keeps_a_thread(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)

    summary = await small_layer.operations.delete_threads_older_than(timedelta(days=1))

    assert summary.threads == 0
    assert await small_layer.get_thread("a-long") is not None


async def test_a_new_step_in_an_old_thread_keeps_it(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)
    await age_threads(small_layer, ["a-long", "b-chat"], days=100)
    await small_layer.create_step(step("b-again", "b-chat", output="Back again"))

    summary = await small_layer.operations.delete_threads_older_than(timedelta(days=90))

    assert summary.threads == 1
    assert await small_layer.get_thread("a-long") is None
    assert await small_layer.get_thread("b-chat") is not None


async def test_an_interrupted_run_is_finished_by_the_next(small_layer: MongoDataLayer) -> None:
    history = await fill_history(small_layer)
    await age_threads(small_layer, history.thread_ids, days=100)
    before = await snapshot(small_layer)

    def interrupt(summary: DeletionSummary) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await small_layer.operations.delete_threads_older_than(
            timedelta(days=90), batch_size=2, on_progress=interrupt
        )
    first_batch_gone = await small_layer.get_thread("a-chat") is None
    rerun = await small_layer.operations.delete_threads_older_than(timedelta(days=90), batch_size=2)

    assert first_batch_gone
    assert rerun.threads == 2
    assert await snapshot(small_layer) == await without_threads(
        small_layer, before, set(history.thread_ids)
    )


async def test_erasing_a_user_removes_their_threads_and_user_document(
    small_layer: MongoDataLayer,
) -> None:
    await fill_history(small_layer)
    before = await snapshot(small_layer)

    summary = await small_layer.operations.erase_user("alice", batch_size=2)

    after_erasure = await without_threads(small_layer, before, {"a-chat", "a-long", "a-large"})
    users = small_layer.settings.users_name
    after_erasure[users] = [u for u in after_erasure[users] if u["identifier"] != "alice"]
    assert await snapshot(small_layer) == after_erasure
    assert (summary.users, summary.threads, summary.elements, summary.files) == (1, 3, 2, 3)
    assert await small_layer.get_user("alice") is None


async def test_erasure_dry_run_changes_nothing_and_a_second_erasure_finds_nothing(
    small_layer: MongoDataLayer,
) -> None:
    await fill_history(small_layer)
    before = await snapshot(small_layer)

    dry_run = await small_layer.operations.erase_user("bob", dry_run=True)
    unchanged = await snapshot(small_layer)
    await small_layer.operations.erase_user("bob")
    again = await small_layer.operations.erase_user("bob")

    assert unchanged == before
    assert (dry_run.users, dry_run.threads, dry_run.feedback) == (1, 1, 1)
    assert (again.users, again.threads) == (0, 0)


async def test_statistics_count_everything_stored(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)

    statistics = await small_layer.operations.statistics(days=7)

    assert (statistics.users, statistics.threads, statistics.elements) == (2, 4, 3)
    assert statistics.steps == 3 + 20 + 1 + 1
    assert statistics.steps_overflowed > 0
    assert (statistics.feedback, statistics.feedback_positive) == (3, 2)
    assert statistics.positive_feedback_share == pytest.approx(2 / 3)
    assert statistics.files == 4
    assert statistics.file_bytes > 256 * 1200
    assert len(statistics.threads_per_day) == 7
    assert statistics.threads_per_day[-1].threads == 4
    assert sum(day.threads for day in statistics.threads_per_day) == 4


async def test_thread_batches_walk_a_users_threads_in_pages(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)

    pages = [
        [thread.id for thread in batch]
        async for batch in small_layer.operations.thread_batches(
            user_identifier="alice", batch_size=2
        )
    ]

    assert pages == [["a-chat", "a-large"], ["a-long"]]


async def test_a_deleted_step_is_not_counted(small_layer: MongoDataLayer) -> None:
    await fill_history(small_layer)
    before = await small_layer.operations.statistics(days=1)

    await small_layer.delete_step("a-tool")
    await small_layer.delete_step(f"long-{OVERFLOWING_STEPS - 1:02}")
    after = await small_layer.operations.statistics(days=1)

    assert (after.steps_embedded, after.steps_overflowed) == (
        before.steps_embedded - 1,
        before.steps_overflowed - 1,
    )
