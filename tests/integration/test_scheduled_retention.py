"""Retention that runs itself: a layer with `retention_days` deletes inactive threads (with
everything attached, as `mongo-layer retention` does) from a background task; layers on one
database make one run per period between them, decided by a lease that a dead holder frees;
`close()` stops the task. Schedules are shortened to fractions of a second."""

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, Literal

import pytest
from conftest import MongoServer

from mongo_layer import MongoDataLayer, MongoLayerSettings, RetentionSchedule
from mongo_layer.operations.scheduled_retention import RETENTION_JOB
from mongo_layer.storage.leases import LeaseStore
from mongo_layer.times import utc_now

from .factories import file_element, files_of_thread, thread_of, user
from .history import SMALL_LIMITS, age_threads, fill_history, snapshot, without_threads

PERIOD = timedelta(seconds=1.5)
QUICK = RetentionSchedule(
    first_check=timedelta(seconds=0.05),
    check_every=timedelta(seconds=0.05),
    period=PERIOD,
    hold=timedelta(seconds=1),
    batch_size=2,
)
MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


@pytest.fixture
def retaining_layer(layer_with: MakeLayer) -> MakeLayer:
    """Makes layers on the test's database that keep 30 days of history on the `QUICK`
    schedule, each ready (so its retention task runs)."""

    async def make(**settings: Any) -> MongoDataLayer:
        return await layer_with(retention_schedule=QUICK, retention_days=30, **settings)

    return make


@pytest.fixture
def runs(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The one log line of each retention run, as the runs happen."""
    caplog.set_level(logging.INFO, logger="mongo_layer")
    lines: list[logging.LogRecord] = []

    class RunLines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("retention ("):
                lines.append(record)

    handler = RunLines(logging.INFO)
    logging.getLogger("mongo_layer").addHandler(handler)
    yield lines
    logging.getLogger("mongo_layer").removeHandler(handler)


@pytest.fixture
async def app_data(layer_with: MakeLayer) -> MongoDataLayer:
    """A layer without retention on the test's database: writes the history the retaining
    layers work on, and reads what they left."""
    return await layer_with(**SMALL_LIMITS)


async def old_threads(layer: MongoDataLayer, *thread_ids: str) -> None:
    """Alice's threads, last active 40 days ago."""
    alice = await user(layer, "alice")
    for thread_id in thread_ids:
        await thread_of(layer, alice, thread_id, name=thread_id)
    await age_threads(layer, list(thread_ids), days=40)


async def stored_thread_ids(layer: MongoDataLayer) -> set[str]:
    documents = await layer.stores.threads.collection.find({}, {"_id": 1}).to_list(None)
    return {document["_id"] for document in documents}


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


def holder_of(layer: MongoDataLayer) -> str:
    assert layer.operations.scheduled_retention is not None
    return layer.operations.scheduled_retention.holder


def run_by(record: logging.LogRecord, layer: MongoDataLayer) -> bool:
    return record.getMessage().startswith(f"retention ({holder_of(layer)}):")


async def has_runs(runs: list[logging.LogRecord], count: int) -> bool:
    return len(runs) >= count


async def test_a_run_deletes_what_the_retention_command_deletes_and_logs_one_line(
    app_data: MongoDataLayer, retaining_layer: MakeLayer, runs: list[logging.LogRecord]
) -> None:
    await fill_history(app_data)
    old = ["a-long", "a-large", "b-chat"]
    await age_threads(app_data, old, days=40)
    before = await snapshot(app_data)

    layer = await retaining_layer(**SMALL_LIMITS)
    await until(lambda: has_runs(runs, 1))

    after = await snapshot(app_data)
    leases = after.pop(layer.settings.leases_name)
    assert after == await without_threads(app_data, before, set(old))
    assert [lease["lastRunBy"] for lease in leases] == [holder_of(layer)]
    assert run_by(runs[0], layer)
    assert "deleted 3 threads inactive for over 30 days (22 steps, 2 elements, 3 files," in (
        runs[0].getMessage()
    )


async def test_a_run_prunes_the_files_a_crash_left_behind(
    app_data: MongoDataLayer, retaining_layer: MakeLayer, runs: list[logging.LogRecord]
) -> None:
    await app_data.create_element(file_element("gone-thread", id="e1"))
    # A crash between the two deletes of a thread, two hours ago: its file is left.
    await app_data.stores.threads.collection.delete_one({"_id": "gone-thread"})
    [orphan] = await files_of_thread(app_data, "gone-thread")
    two_hours_ago = utc_now() - timedelta(hours=2)
    await app_data.stores.files.files.update_one(
        {"_id": orphan["_id"]}, {"$set": {"uploadDate": two_hours_ago}}
    )

    layer = await retaining_layer()
    await until(lambda: has_runs(runs, 1))

    assert run_by(runs[0], layer)
    assert await files_of_thread(app_data, "gone-thread") == []
    assert await app_data.stores.files.chunks.count_documents({}) == 0
    assert runs[0].getMessage().split(") and ")[1].startswith("1 orphan files")


async def test_two_layers_on_one_database_make_one_run_per_period(
    app_data: MongoDataLayer, retaining_layer: MakeLayer, runs: list[logging.LogRecord]
) -> None:
    await old_threads(app_data, "old-1", "old-2", "old-3")
    await thread_of(app_data, await user(app_data, "alice"), "recent")
    first, second = await retaining_layer(), await retaining_layer()

    await until(lambda: has_runs(runs, 1))
    await old_threads(app_data, "old-4", "old-5")
    await until(lambda: has_runs(runs, 3), timeout=30)
    await first.close()
    await second.close()

    assert await stored_thread_ids(app_data) == {"recent"}
    ends = [record.created for record in runs]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ends)]
    # A run is due a period after the previous one finished (less the time to log it).
    assert min(gaps) >= PERIOD.total_seconds() - 0.1, gaps
    assert all(run_by(record, first) or run_by(record, second) for record in runs)
    deleted = sum(int(record.getMessage().split("deleted ")[1].split()[0]) for record in runs)
    assert deleted == 5


async def test_the_other_layer_takes_over_once_a_dead_holders_lease_expires(
    app_data: MongoDataLayer, retaining_layer: MakeLayer, runs: list[logging.LogRecord]
) -> None:
    await old_threads(app_data, "old-1")
    # A replica took the job and died before finishing it: its lease stays until it expires.
    dead = LeaseStore(app_data.connection.collection(app_data.settings.leases_name))
    taken = await dead.take_if_due(RETENTION_JOB, "dead-replica", utc_now(), timedelta(seconds=2))
    assert taken is not None
    expires = time.time() + 2

    survivor = await retaining_layer()
    await asyncio.sleep(1)
    assert await stored_thread_ids(app_data) == {"old-1"}
    await until(lambda: has_runs(runs, 1))

    assert await stored_thread_ids(app_data) == set()
    assert run_by(runs[0], survivor)
    assert runs[0].created >= expires - 0.1


async def test_when_the_holder_stops_with_the_app_the_other_makes_the_next_run(
    app_data: MongoDataLayer, retaining_layer: MakeLayer, runs: list[logging.LogRecord]
) -> None:
    await old_threads(app_data, "old-1")
    first = await retaining_layer()
    await until(lambda: has_runs(runs, 1))
    assert run_by(runs[0], first)
    await first.close()
    assert first.operations.scheduled_retention is not None
    assert not first.operations.scheduled_retention.running

    await old_threads(app_data, "old-2")
    second = await retaining_layer()
    await until(lambda: has_runs(runs, 2))

    assert run_by(runs[1], second)
    assert await stored_thread_ids(app_data) == set()


async def test_the_task_starts_with_the_first_operation_and_stops_with_close(
    mongo_server: MongoServer, driver: Literal["motor", "pymongo"], database_name: str
) -> None:
    layer = MongoDataLayer(
        mongo_server.uri,
        database_name,
        driver=driver,
        settings=MongoLayerSettings(retention_days=30),
        mount_file_route=False,
    )
    retention = layer.operations.scheduled_retention
    assert retention is not None
    assert not retention.running

    await layer.get_user("nobody")
    assert retention.running

    await layer.close()
    assert not retention.running


async def test_without_retention_days_no_task_is_made() -> None:
    layer = MongoDataLayer("mongodb://127.0.0.1:1", mount_file_route=False)
    await layer.close()
    assert layer.operations.scheduled_retention is None
    days = MongoLayerSettings.from_env({"MONGO_LAYER_RETENTION_DAYS": "30"}).retention_days
    assert days == 30
