"""A server restart while the layer is in use loses no acknowledged step, and the same layer
object (the same client) works again once the server is back. Step writes are idempotent,
so a write issued again, as a driver's retry does, never duplicates a step."""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from chainlit.step import StepDict
from conftest import close_client, make_client
from pymongo.errors import PyMongoError

from mongo_layer import MongoDataLayer, ServerUnreachableError
from mongo_layer.embedded import EmbeddedServer

SERVER_SELECTION_TIMEOUT_MS = 5000


def step(thread_id: str, step_id: str, output: str) -> StepDict:
    return {
        "id": step_id,
        "threadId": thread_id,
        "name": "Assistant",
        "type": "assistant_message",
        "output": output,
        "createdAt": "2025-01-01T00:00:00.000Z",
    }


async def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A server this test alone uses, so it may stop and start it."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("restarting needs the server the suite starts itself")
    server = EmbeddedServer(tmp_path / "storage")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def layer_on_own_server(
    own_server: EmbeddedServer, driver: str
) -> AsyncIterator[MongoDataLayer]:
    client = make_client(
        driver, own_server.uri, serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS
    )
    layer = MongoDataLayer(client=client, database="reconnect", mount_file_route=False)
    try:
        yield layer
    finally:
        await close_client(client)


@dataclass
class StepWriter:
    """Writes steps one after another until stopped, remembering which were acknowledged."""

    layer: MongoDataLayer
    thread_id: str
    acknowledged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)
    stopping: bool = False

    async def run(self) -> None:
        while not self.stopping:
            step_id = f"step-{len(self.started_at)}"
            self.started_at.append(time.monotonic())
            try:
                await self.layer.create_step(step(self.thread_id, step_id, f"text of {step_id}"))
            except PyMongoError:
                self.failed.append(step_id)
                await asyncio.sleep(0.05)
            else:
                self.acknowledged.append(step_id)


async def test_a_restart_while_writing_loses_no_acknowledged_step_and_the_layer_recovers(
    own_server: EmbeddedServer, layer_on_own_server: MongoDataLayer
) -> None:
    layer = layer_on_own_server
    thread_id = str(uuid.uuid4())
    await layer.update_thread(thread_id, name="before the restart")
    writer = StepWriter(layer, thread_id)
    writing = asyncio.create_task(writer.run())
    await wait_for(lambda: len(writer.acknowledged) >= 20, "writes before the restart")

    await asyncio.to_thread(own_server.stop)
    server_down_at = time.monotonic()
    # The write on the wire when the server stopped is tried again (retry.py) until it is back.
    await wait_for(
        lambda: writer.started_at[-1] > server_down_at or layer.stores.retrier.retries > 0,
        "a write meeting the server down",
    )
    await asyncio.to_thread(own_server.start)
    acknowledged_before_relaunch = len(writer.acknowledged)
    await wait_for(
        lambda: len(writer.acknowledged) >= acknowledged_before_relaunch + 20,
        "writes after the restart",
    )
    writer.stopping = True
    await writing

    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert thread["name"] == "before the restart"
    stored = {s["id"]: s["output"] for s in thread["steps"]}
    assert len(stored) == len(thread["steps"]), "a step was stored twice"
    for step_id in writer.acknowledged:
        assert stored.get(step_id) == f"text of {step_id}", f"acknowledged {step_id} was lost"
    assert set(stored) <= set(writer.acknowledged) | set(writer.failed)
    assert writer.failed == [], "a restart shorter than the operation budget fails no write"

    await layer.create_step(step(thread_id, "after", "written after the restart"))
    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert thread["steps"][-1]["output"] == "written after the restart"


async def test_a_layer_first_used_while_the_server_is_down_works_once_it_is_back(
    own_server: EmbeddedServer, driver: str
) -> None:
    client = make_client(driver, own_server.uri, serverSelectionTimeoutMS=1000)
    layer = MongoDataLayer(client=client, database="late", mount_file_route=False)
    try:
        await asyncio.to_thread(own_server.stop)
        with pytest.raises(ServerUnreachableError, match="cannot reach MongoDB"):
            await layer.update_thread("t1", name="while down")
        await asyncio.to_thread(own_server.start)

        await layer.update_thread("t1", name="once back")

        thread = await layer.get_thread("t1")
        assert thread is not None and thread["name"] == "once back"
        assert "step_id" in await layer.stores.threads.collection.index_information(), (
            "the failed first start must not skip the indexes"
        )
    finally:
        await close_client(client)


async def test_a_step_written_again_as_a_retry_would_is_stored_once(
    layer: MongoDataLayer,
) -> None:
    thread_id = str(uuid.uuid4())
    created = step(thread_id, "s1", "")
    updated = step(thread_id, "s1", "final answer")

    await asyncio.gather(*(layer.create_step(created.copy()) for _ in range(5)))
    await layer.update_step(updated)
    await layer.update_step(updated.copy())
    await layer.create_step(created.copy())

    document = await layer.stores.threads.collection.find_one({"_id": thread_id})
    assert [s["id"] for s in document["steps"]] == ["s1"]
    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert [s["output"] for s in thread["steps"]] == ["final answer"]
