"""What a step write sends: in the usual landing order (create, then updates) one command of
update operators, never a pipeline that works through the whole thread; the thread's running
size (`size`) stands in for measuring the document."""

from collections.abc import Awaitable, Callable
from typing import Any

import bson
import pytest
from conftest import CommandCounter
from pymongo import monitoring

from mongo_layer import MongoDataLayer
from mongo_layer.storage.threads import SIZE

from .factories import step, stored_thread, thread_documents

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


class Updates(CommandCounter):
    """A CommandCounter that also keeps the update document of every write command."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[Any] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        if event.command_name == "update":
            self.updates += [write["u"] for write in event.command["updates"]]
        elif event.command_name == "findAndModify":
            self.updates.append(event.command.get("update"))

    def reset(self) -> None:
        super().reset()
        self.updates.clear()


@pytest.fixture
def commands() -> Updates:
    return Updates()


def is_update_operators(update: Any) -> bool:
    return isinstance(update, dict) and all(key.startswith("$") for key in update)


async def thread_document(layer: MongoDataLayer, thread_id: str = "t1") -> dict[str, Any]:
    (document,) = [d for d in await thread_documents(layer) if d["_id"] == thread_id]
    return document


async def test_create_then_updates_are_one_command_of_update_operators_each(
    layer: MongoDataLayer, commands: Updates
) -> None:
    await layer.update_thread("t1", name="chat")
    await layer.create_step(step("s0", output="an earlier message"))
    commands.reset()

    await layer.create_step(step("s1", output=""))
    await layer.update_step(step("s1", output="the answer, streamed"))
    await layer.update_step(step("s1", output="the answer, final", metadata={"k": 1}))

    assert commands.commands == ["update", "update", "update"]
    assert all(is_update_operators(update) for update in commands.updates), commands.updates
    assert "$bsonSize" not in str(commands.updates)
    stored = {s["id"]: s for s in (await stored_thread(layer, "t1"))["steps"]}
    assert stored["s1"]["output"] == "the answer, final"
    assert stored["s1"]["metadata"] == {"k": 1}
    assert stored["s0"]["output"] == "an earlier message"
    assert layer.stores.steps.write_paths == {"appended": 2, "updated": 2}


async def test_the_first_step_of_a_new_thread_creates_it_with_update_operators(
    layer: MongoDataLayer, commands: Updates
) -> None:
    await layer.create_step(step("s1", "new-thread", output="hello"))

    assert commands.commands == ["update"]
    assert is_update_operators(commands.updates[0])
    document = await thread_document(layer, "new-thread")
    assert [s["id"] for s in document["steps"]] == ["s1"]
    assert document["elements"] == [] and document["schemaVersion"] >= 1
    assert document["updatedAt"] and document["createdAt"]


async def test_an_update_landing_before_its_create_takes_the_pipeline_and_keeps_the_rule(
    layer: MongoDataLayer,
) -> None:
    """The layer expects the step stored (its create was called first) and finds it not:
    the second command merges, and the create that lands last changes no field the update
    set."""
    await layer.update_thread("t1", name="chat")
    layer.recent_steps.write_started("s1", "t1")  # the create was called, not landed
    create_called_first = 1

    await layer.update_step(step("s1", output="the answer"))
    created = {"id": "s1", "input": "question", "output": "Thinking..."}
    await layer.stores.steps.write("t1", created, create_called_first)

    (stored,) = (await stored_thread(layer, "t1"))["steps"]
    assert (stored["output"], stored["input"]) == ("the answer", "question")
    assert layer.stores.steps.write_paths["updated, then merged"] == 1
    assert layer.stores.steps.write_paths["appended, then merged"] == 1


async def test_the_running_size_follows_the_document_as_steps_are_appended(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")
    for index in range(20):
        await layer.create_step(step(f"s{index}", output="x" * (100 * index)))

    document = await thread_document(layer)
    measured = len(bson.encode(document))
    assert measured <= document[SIZE] <= measured + 20 * 8, (measured, document[SIZE])


async def test_a_running_size_that_overstates_the_thread_is_measured_before_it_counts_as_full(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s0", output="hello"))
    budget = layer.settings.thread_document_budget_bytes
    await layer.stores.threads.collection.update_one({"_id": "t1"}, {"$set": {SIZE: budget}})

    await layer.create_step(step("s1", output="still fits"))

    document = await thread_document(layer)
    assert [s["id"] for s in document["steps"]] == ["s0", "s1"]
    assert not document.get("overflow")
    assert document[SIZE] < 1024
    assert await layer.stores.overflow.collection.count_documents({}) == 0


async def test_threads_stored_before_the_running_size_get_it_at_start(
    layer: MongoDataLayer, layer_with: MakeLayer
) -> None:
    await layer.create_step(step("s0", output="hello " * 100))
    await layer.stores.threads.collection.update_one({"_id": "t1"}, {"$unset": {SIZE: ""}})

    await layer_with()

    document = await thread_document(layer)
    assert abs(document[SIZE] - len(bson.encode(document))) <= 16


async def test_a_full_threads_next_step_still_goes_to_overflow(layer_with: MakeLayer) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    for index in range(40):
        await layer.create_step(step(f"s{index}", output="f" * 2048))

    document = await thread_document(layer)
    embedded = len(document["steps"])
    assert document["overflow"] is True
    assert len(bson.encode(document)) <= 64 * 1024
    assert await layer.stores.overflow.collection.count_documents({}) == 40 - embedded
    assert len((await stored_thread(layer, "t1"))["steps"]) == 40
