"""Through a failover (README, "Failover"), no data-layer call raises: a storm of step writes
from ten conversations meets every fault the proxy makes (fault_proxy.py) and every step
ends stored once, with its final content, while the outage is logged once."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from mongo_layer import MongoDataLayer, MongoLayerSettings, ServerUnreachableError
from mongo_layer.retry import Retrier

from .conftest import LayerThroughProxy, Telemetry
from .factories import file_element, files_of_thread, step
from .fault_proxy import FaultProxy

CONVERSATIONS = 10
OUTAGE_STARTED = "MongoDB is unreachable or without a primary"
OUTAGE_ENDED = "MongoDB answers again"


@dataclass
class Storm:
    """Conversations writing steps as Chainlit does: each step's create and update are
    started together and land in any order; the update's output is the final content."""

    layer: MongoDataLayer
    threads: list[str]
    attempted: dict[str, list[str]] = field(default_factory=dict)
    raised: list[BaseException] = field(default_factory=list)
    acknowledged: int = 0
    stopping: bool = False

    async def converse(self, thread_id: str) -> None:
        written = self.attempted.setdefault(thread_id, [])
        while not self.stopping:
            step_id = f"{thread_id}-step-{len(written)}"
            written.append(step_id)
            calls = [
                self.layer.create_step(step(step_id, thread_id, output="")),
                self.layer.update_step(step(step_id, thread_id, output=f"final {step_id}")),
            ]
            for outcome in await asyncio.gather(*calls, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    self.raised.append(outcome)
            self.acknowledged += 1

    async def wait_for(self, acknowledged: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged < acknowledged:
            assert time.monotonic() < deadline, f"only {self.acknowledged} steps written"
            await asyncio.sleep(0.02)


async def storm_through(
    layer: MongoDataLayer, fault: Callable[[], Awaitable[None]], name: str
) -> Storm:
    """Ten conversations write steps; `fault` runs once some are written, and the storm
    goes on until as many more are written after it."""
    storm = Storm(layer, [f"{name}-{n}" for n in range(CONVERSATIONS)])
    for thread_id in storm.threads:
        await layer.update_thread(thread_id, name=thread_id)
    conversations = [asyncio.create_task(storm.converse(t)) for t in storm.threads]
    await storm.wait_for(2 * CONVERSATIONS)
    await fault()
    await storm.wait_for(storm.acknowledged + 2 * CONVERSATIONS)
    storm.stopping = True
    await asyncio.gather(*conversations)
    return storm


async def assert_every_step_stored_once_with_its_final_content(
    storm: Storm, reader: MongoDataLayer
) -> None:
    assert storm.raised == []
    for thread_id, written in storm.attempted.items():
        thread = await reader.get_thread(thread_id)
        assert thread is not None, f"thread {thread_id} was lost"
        stored = [s["id"] for s in thread["steps"]]
        assert sorted(stored) == sorted(written), f"thread {thread_id}: lost or doubled steps"
        for stored_step in thread["steps"]:
            assert stored_step["output"] == f"final {stored_step['id']}"


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """How many outages were logged as starting (warnings) and as ending (info lines)."""
    records = [r for r in caplog.records if r.name == "mongo_layer"]
    started = [r for r in records if r.levelno == logging.WARNING and OUTAGE_STARTED in r.msg]
    ended = [r for r in records if r.levelno == logging.INFO and OUTAGE_ENDED in r.msg]
    return len(started), len(ended)


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="mongo_layer")
    return caplog


async def test_a_12_s_election_in_the_middle_of_a_storm_loses_nothing_and_raises_nothing(
    fault_proxy: FaultProxy,
    layer_through_proxy: LayerThroughProxy,
    layer: MongoDataLayer,
    log: pytest.LogCaptureFixture,
) -> None:
    through_proxy = await layer_through_proxy()  # the defaults: a 30 s budget, 5 s to select

    async def election() -> None:
        fault_proxy.refuse_for(12)
        await asyncio.sleep(12)

    storm = await storm_through(through_proxy, election, "election")

    await assert_every_step_stored_once_with_its_final_content(storm, layer)
    assert fault_proxy.refused > 0
    assert through_proxy.stores.retrier.retries > 0
    assert outage_lines(log) == (1, 1)


async def test_three_resets_within_a_storm_lose_nothing_and_raise_nothing(
    fault_proxy: FaultProxy,
    layer_through_proxy: LayerThroughProxy,
    layer: MongoDataLayer,
    log: pytest.LogCaptureFixture,
) -> None:
    through_proxy = await layer_through_proxy(operation_budget_ms=10_000)

    async def three_resets() -> None:
        # Close enough that the driver's own single retry meets the next reset.
        for _ in range(3):
            fault_proxy.reset_all()
            await asyncio.sleep(0.03)

    storm = await storm_through(through_proxy, three_resets, "resets")

    await assert_every_step_stored_once_with_its_final_content(storm, layer)
    assert fault_proxy.resets > 0
    # The driver's own retry may already ride through some resets: no more than one
    # outage logged per reset, each ended.
    started, ended = outage_lines(log)
    assert started == ended <= 3


async def test_a_lost_reply_to_an_applied_step_write_stores_it_once(
    fault_proxy: FaultProxy,
    layer_through_proxy: LayerThroughProxy,
    layer: MongoDataLayer,
    log: pytest.LogCaptureFixture,
) -> None:
    # Without the driver's own retry, the layer itself sends the applied write again.
    through_proxy = await layer_through_proxy({"retryWrites": "false"}, operation_budget_ms=10_000)

    async def lose_a_reply() -> None:
        fault_proxy.lose_reply_to("update", "findAndModify")
        while not fault_proxy.replies_lost:
            await asyncio.sleep(0.01)

    storm = await storm_through(through_proxy, lose_a_reply, "lost-reply")

    await assert_every_step_stored_once_with_its_final_content(storm, layer)
    assert through_proxy.stores.retrier.retries >= 1
    assert outage_lines(log) == (1, 1)


async def test_held_traffic_only_slows_the_storm(
    fault_proxy: FaultProxy,
    layer_through_proxy: LayerThroughProxy,
    layer: MongoDataLayer,
    log: pytest.LogCaptureFixture,
) -> None:
    through_proxy = await layer_through_proxy(operation_budget_ms=10_000)

    async def hold() -> None:
        fault_proxy.hold_for(3)
        await asyncio.sleep(3)

    storm = await storm_through(through_proxy, hold, "held")

    await assert_every_step_stored_once_with_its_final_content(storm, layer)
    assert outage_lines(log) == (0, 0)


async def test_past_its_budget_a_call_raises_one_error_naming_the_step_and_its_thread(
    fault_proxy: FaultProxy, layer_through_proxy: LayerThroughProxy
) -> None:
    through_proxy = await layer_through_proxy(
        operation_budget_ms=1000, server_selection_timeout_ms=300
    )
    fault_proxy.refuse_for(4)

    with pytest.raises(ServerUnreachableError, match=r"'s1' of thread 't1'.*budget of 1 s"):
        await through_proxy.create_step(step("s1", "t1", output="during the outage"))

    await asyncio.sleep(3.5)
    await through_proxy.create_step(step("s1", "t1", output="once back"))
    thread = await through_proxy.get_thread("t1")
    assert thread is not None and [s["output"] for s in thread["steps"]] == ["once back"]


async def test_a_layer_started_during_an_outage_fails_at_once_rather_than_retrying(
    fault_proxy: FaultProxy, driver: str, database_name: str
) -> None:
    fault_proxy.refuse_for(10)
    layer = MongoDataLayer(
        uri=fault_proxy.uri(),
        database=database_name,
        driver=driver,  # type: ignore[arg-type]
        settings=MongoLayerSettings(server_selection_timeout_ms=500),
        mount_file_route=False,
    )
    try:
        with pytest.raises(ServerUnreachableError, match="cannot reach MongoDB"):
            await layer.update_thread("t1", name="at start")
        assert layer.stores.retrier.retries == 0
    finally:
        await layer.close()


def retries_by_operation(telemetry: Telemetry) -> dict[str, int]:
    points = telemetry.points("mongo_layer.retries")
    return {p.attributes["mongo_layer.operation"]: p.value for p in points}


async def test_each_retry_is_counted_under_the_data_layer_call_that_made_it(
    fault_proxy: FaultProxy, layer_through_proxy: LayerThroughProxy, telemetry: Telemetry
) -> None:
    through_proxy = await layer_through_proxy({"retryWrites": "false"}, operation_budget_ms=10_000)
    await through_proxy.update_thread("t1", name="counted")
    fault_proxy.lose_reply_to("update", "findAndModify")

    await through_proxy.create_step(step("s1", "t1", output="once"))

    assert fault_proxy.replies_lost == 1
    assert retries_by_operation(telemetry) == {"create_step": through_proxy.stores.retrier.retries}
    assert through_proxy.stores.retrier.retries >= 1


async def test_an_upload_cut_by_a_lost_reply_is_stored_once_and_whole(
    fault_proxy: FaultProxy,
    layer_through_proxy: LayerThroughProxy,
    layer: MongoDataLayer,
    telemetry: Telemetry,
) -> None:
    through_proxy = await layer_through_proxy({"retryWrites": "false"}, operation_budget_ms=10_000)
    content = bytes(range(256)) * 8 * 1024  # 2 MB: several chunk inserts
    await through_proxy.update_thread("t1", name="with a file")
    # The first chunk insert is applied but its answer is lost: the upload starts again.
    fault_proxy.lose_reply_to("insert")

    await through_proxy.create_element(file_element("t1", content, id="e1"))

    assert fault_proxy.replies_lost == 1
    # The upload's retry is counted as the call's that uploads.
    assert retries_by_operation(telemetry) == {
        "create_element": through_proxy.stores.retrier.retries
    }
    files = await files_of_thread(layer, "t1")
    assert len(files) == 1
    stored = await layer.operations.open_element_file("t1", "e1")
    assert stored is not None
    assert b"".join([chunk async for chunk in stored.chunks()]) == content
    chunks = layer.stores.files.chunks
    assert await chunks.count_documents({}) == await chunks.count_documents(
        {"files_id": files[0]["_id"]}
    )


async def test_nothing_else_is_tried_again() -> None:
    retrier = Retrier(budget_seconds=5)
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("not a network error")

    with pytest.raises(ValueError):
        await retrier.run("create_step", refused)
    assert calls == 1
    assert retrier.retries == 0


async def test_batches_read_through_an_election_yield_every_thread_once(
    fault_proxy: FaultProxy, layer_through_proxy: LayerThroughProxy
) -> None:
    through_proxy = await layer_through_proxy(
        operation_budget_ms=10_000, server_selection_timeout_ms=500
    )
    thread_ids = [f"t{n}" for n in range(6)]
    for thread_id in thread_ids:
        await through_proxy.update_thread(thread_id, name=thread_id)

    seen: list[str] = []
    async for batch in through_proxy.operations.thread_batches(batch_size=2):
        seen += [thread.id for thread in batch]
        if len(seen) == 2:
            fault_proxy.refuse_for(1.5)

    assert seen == thread_ids
    assert through_proxy.stores.retrier.retries > 0


async def test_a_download_goes_on_through_an_election_from_the_chunk_it_reached(
    fault_proxy: FaultProxy, layer_through_proxy: LayerThroughProxy, layer: MongoDataLayer
) -> None:
    content = bytes(range(256)) * 12 * 1024  # 3 MB: twelve chunks, three fetches
    await layer.create_element(file_element("t1", content, id="e1"))
    through_proxy = await layer_through_proxy(
        operation_budget_ms=10_000, server_selection_timeout_ms=500
    )
    stored = await through_proxy.operations.open_element_file("t1", "e1")
    assert stored is not None

    pieces: list[bytes] = []
    async for chunk in stored.chunks():
        pieces.append(chunk)
        if len(pieces) == 1:
            fault_proxy.refuse_for(1.5)

    assert b"".join(pieces) == content
    assert through_proxy.stores.retrier.retries > 0
