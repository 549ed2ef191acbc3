"""Element ownership (element_owners.py): an element id belongs to one thread, by a claim
keyed by the element id that a sharded cluster can hold, not by a unique index on
`threads.elements.id` that it would refuse."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from pymongo import ASCENDING, IndexModel
from shard_audit import ShardKeyAudit

from mongo_layer import ElementConflictError, MongoDataLayer

from .factories import file_element

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]


async def owner_document(layer: MongoDataLayer, element_id: str) -> dict[str, object] | None:
    found: dict[str, object] | None = await layer.stores.element_owners.collection.find_one(
        {"_id": element_id}
    )
    return found


async def test_the_first_write_of_an_element_claims_its_id_for_its_thread(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("t1", id="e1"))

    claim = await owner_document(layer, "e1")
    assert claim is not None and claim["threadId"] == "t1"


async def test_another_layer_refuses_the_id_for_another_thread_too(
    layer: MongoDataLayer, layer_with: MakeLayer
) -> None:
    await layer.create_element(file_element("victim", content=b"original", id="e1"))
    other_process = await layer_with()

    with pytest.raises(ElementConflictError, match=r"'e1'.*'attacker'"):
        await other_process.create_element(file_element("attacker", content=b"forged", id="e1"))

    assert await other_process.get_element("attacker", "e1") is None
    assert await layer.stores.files.files.count_documents({"metadata.threadId": "attacker"}) == 0


async def test_two_first_writes_racing_on_a_new_id_end_with_one_owner(
    layer_with: MakeLayer,
) -> None:
    first, second = await layer_with(), await layer_with()

    outcomes = await asyncio.gather(
        first.create_element(file_element("t1", content=b"one", id="e1")),
        second.create_element(file_element("t2", content=b"two", id="e1")),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, ElementConflictError)]
    assert len(refused) == 1, outcomes
    holders = [t for t in ("t1", "t2") if await first.get_element(t, "e1") is not None]
    claim = await owner_document(first, "e1")
    assert claim is not None and holders == [claim["threadId"]]


async def test_deleting_an_element_without_its_thread_id_finds_its_thread(
    layer: MongoDataLayer, layer_with: MakeLayer
) -> None:
    await layer.create_element(file_element("t1", id="e1"))
    other_process = await layer_with()

    await other_process.delete_element("e1")

    assert await layer.get_element("t1", "e1") is None
    assert await layer.stores.files.files.count_documents({"metadata.elementId": "e1"}) == 0


async def test_deleting_an_element_of_another_thread_leaves_it(layer: MongoDataLayer) -> None:
    await layer.create_element(file_element("t1", id="e1"))

    await layer.delete_element("e1", "t2")

    assert await layer.get_element("t1", "e1") is not None


async def test_deleting_a_thread_frees_the_ids_of_its_elements(layer: MongoDataLayer) -> None:
    await layer.create_element(file_element("t1", id="e1"))

    await layer.delete_thread("t1")

    assert await owner_document(layer, "e1") is None
    await layer.create_element(file_element("t2", id="e1"))
    assert await layer.get_element("t2", "e1") is not None


async def test_a_database_of_the_unique_index_era_gets_its_claims_and_loses_the_index(
    layer_with: MakeLayer, shard_key_audit: ShardKeyAudit
) -> None:
    earlier = await layer_with()
    threads = earlier.stores.threads.collection
    await threads.insert_one({"_id": "old", "steps": [], "elements": [{"id": "e-old"}]})
    with shard_key_audit.ignored():  # the index an earlier release made
        await threads.create_indexes(
            [IndexModel([("elements.id", ASCENDING)], name="element_id", unique=True, sparse=True)]
        )

    upgraded = await layer_with()

    assert "element_id" not in await threads.index_information()
    claim = await owner_document(upgraded, "e-old")
    assert claim is not None and claim["threadId"] == "old"
    with pytest.raises(ElementConflictError):
        await upgraded.create_element(file_element("new", id="e-old"))
