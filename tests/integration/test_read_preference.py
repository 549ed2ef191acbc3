"""Reads that must see the layer's own last write go to the primary (issue 8, "Also"), even
when the app's client reads from secondaries: which steps a full thread document holds,
which thread holds a step, and which thread owns an element id."""

from collections.abc import AsyncIterator

import pytest
from chainlit.step import StepDict
from conftest import MongoServer, close_client, make_client
from pymongo import ReadPreference

from mongo_layer import MongoDataLayer, MongoLayerSettings

from .factories import file_element


@pytest.fixture
async def secondary_reading_layer(
    mongo_server: MongoServer, driver: str, database_name: str
) -> AsyncIterator[MongoDataLayer]:
    """A layer on a client whose reads prefer secondaries, as an app's URI may ask."""
    client = make_client(driver, mongo_server.uri, readPreference="secondaryPreferred")
    layer = MongoDataLayer(
        client=client,
        database=database_name,
        settings=MongoLayerSettings(thread_document_budget_bytes=64 * 1024),
        mount_file_route=False,
    )
    yield layer
    await layer.close()
    await close_client(client)


def long_step(number: int) -> StepDict:
    return {
        "id": f"s{number:03d}",
        "threadId": "t1",
        "type": "assistant_message",
        "name": "Assistant",
        "output": f"{number} " + "x" * 4096,
        "createdAt": f"2026-11-27T10:{number // 60:02d}:{number % 60:02d}.000Z",
    }


async def test_the_app_keeps_its_read_preference_for_ordinary_reads(
    secondary_reading_layer: MongoDataLayer,
) -> None:
    layer = secondary_reading_layer

    assert layer.stores.threads.collection.read_preference == ReadPreference.SECONDARY_PREFERRED


async def test_reads_after_the_layers_own_writes_are_bound_to_the_primary(
    secondary_reading_layer: MongoDataLayer,
) -> None:
    layer = secondary_reading_layer

    assert layer.stores.threads.primary.read_preference == ReadPreference.PRIMARY
    assert layer.stores.element_owners.collection.read_preference == ReadPreference.PRIMARY


async def test_a_thread_past_its_budget_and_its_elements_work_on_such_a_client(
    secondary_reading_layer: MongoDataLayer,
) -> None:
    layer = secondary_reading_layer
    for number in range(40):
        await layer.create_step(long_step(number))
    await layer.create_element(file_element("t1", id="e1"))

    await layer.delete_element("e1")
    thread = await layer.get_thread("t1")

    assert thread is not None
    assert [step["id"] for step in thread["steps"]] == [f"s{n:03d}" for n in range(40)]
    assert thread["elements"] == []
    document = await layer.stores.threads.primary.find_one({"_id": "t1"}, {"overflow": 1})
    assert document is not None and document.get("overflow") is True
