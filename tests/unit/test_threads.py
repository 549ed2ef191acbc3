"""update_thread on mongomock: fields given are set, metadata merged (threads.py)."""

import pytest
from chainlit.types import ThreadDict

from mongo_layer import MongoDataLayer
from mongo_layer.storage.documents import thread_from_document


async def read_back(mock_layer: MongoDataLayer, thread_id: str) -> ThreadDict | None:
    """The stored thread as get_thread returns it, without its steps (mongomock cannot
    run get_thread's `$unionWith`)."""
    document = await mock_layer.stores.threads.collection.find_one({"_id": thread_id})
    return None if document is None else thread_from_document(document, None, [], [])


async def test_update_thread_creates_the_thread_with_name_user_and_tags(
    mock_layer: MongoDataLayer,
) -> None:
    await mock_layer.update_thread("t1", name="chat", user_id="u1", tags=["a", "b"])

    stored = await mock_layer.stores.threads.collection.find_one({"_id": "t1"})

    assert stored["name"] == "chat"
    assert stored["userId"] == "u1"
    assert stored["tags"] == ["a", "b"]
    assert stored["steps"] == []
    assert stored["schemaVersion"] >= 1


async def test_metadata_is_merged_and_a_key_set_to_none_is_removed(
    mock_layer: MongoDataLayer,
) -> None:
    await mock_layer.update_thread("t1", name="chat")
    await mock_layer.update_thread("t1", metadata={"keep": 1, "drop": 2, "change": "old"})
    await mock_layer.update_thread("t1", metadata={"drop": None, "change": "new", "add": [1]})

    thread = await read_back(mock_layer, "t1")

    assert thread is not None
    assert thread["metadata"] == {"keep": 1, "change": "new", "add": [1]}


async def test_metadata_keys_with_dots_and_dollars_are_stored_and_read_back(
    mock_layer: MongoDataLayer,
) -> None:
    await mock_layer.update_thread("t1", name="chat")
    await mock_layer.update_thread("t1", metadata={"a.b": 1, "$c": {"d.e": 2}})

    thread = await read_back(mock_layer, "t1")

    assert thread is not None
    assert thread["metadata"] == {"a.b": 1, "$c": {"d.e": 2}}


async def test_metadata_given_as_json_text_is_merged_too(mock_layer: MongoDataLayer) -> None:
    await mock_layer.update_thread("t1", name="chat")
    await mock_layer.update_thread("t1", metadata={"a": 1})
    await mock_layer.update_thread("t1", metadata='{"b": 2}')  # type: ignore[arg-type]

    thread = await read_back(mock_layer, "t1")

    assert thread is not None
    assert thread["metadata"] == {"a": 1, "b": 2}


async def test_an_update_without_a_field_keeps_the_stored_one(mock_layer: MongoDataLayer) -> None:
    await mock_layer.update_thread("t1", name="chat", user_id="u1", tags=["a"])
    await mock_layer.update_thread("t1", metadata={"seen": True})

    thread = await read_back(mock_layer, "t1")

    assert thread is not None
    assert (thread["name"], thread["userId"], thread["tags"]) == ("chat", "u1", ["a"])


async def test_an_empty_metadata_key_is_left_out_and_the_rest_stored(
    mock_layer: MongoDataLayer,
) -> None:
    await mock_layer.update_thread("t1", name="chat")
    await mock_layer.update_thread("t1", metadata={"": 1, "kept": 2})

    thread = await read_back(mock_layer, "t1")

    assert thread is not None and thread["metadata"] == {"kept": 2}


async def test_a_thread_name_is_cut_to_the_configured_length(mock_layer: MongoDataLayer) -> None:
    await mock_layer.update_thread("t1", name="x" * 1000)

    thread = await read_back(mock_layer, "t1")

    assert thread is not None
    assert thread["name"] == "x" * mock_layer.settings.max_thread_name_length


async def test_a_dict_as_thread_id_is_refused(mock_layer: MongoDataLayer) -> None:
    with pytest.raises(TypeError):
        await mock_layer.update_thread({"$ne": None}, name="x")  # type: ignore[arg-type]
