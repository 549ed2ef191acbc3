"""Elements on the real server: metadata with the thread, bytes in GridFS."""

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from chainlit.element import CustomElement, Image, Text

from mongo_layer import ElementConflictError, InvalidInputError, MongoDataLayer, MongoLayerError
from mongo_layer.web.routes import element_file_url

from .factories import file_element, files_of_thread, stored_thread


async def stored_bytes(layer: MongoDataLayer, element_id: str) -> bytes:
    (file,) = await layer.stores.files.files.find({"metadata.elementId": element_id}).to_list(None)
    return await layer.stores.files.read(file["_id"])


async def test_an_element_given_as_content_is_stored_with_its_bytes(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")
    element = file_element("t1", content=b"\x00binary\xffbytes", for_id="s1")

    await layer.create_element(element)

    found = await layer.get_element("t1", element.id)
    assert found is not None
    assert (found["id"], found["name"], found["mime"], found["forId"], found["threadId"]) == (
        element.id,
        "a.txt",
        "text/plain",
        "s1",
        "t1",
    )
    assert found["url"] == element_file_url(layer.settings, "t1", element.id)
    assert await stored_bytes(layer, element.id) == b"\x00binary\xffbytes"


async def test_an_element_given_as_text_content_is_stored_as_utf8(layer: MongoDataLayer) -> None:
    element = Text(name="note", content="héllo", thread_id="t1")

    await layer.create_element(element)

    assert await stored_bytes(layer, element.id) == "héllo".encode()


async def test_an_element_given_as_a_path_is_stored_with_the_files_bytes(
    layer: MongoDataLayer, tmp_path: Path
) -> None:
    picture = tmp_path / "pixel.png"
    picture.write_bytes(b"\x89PNG fake image bytes")
    element = Image(name="pixel.png", path=str(picture), thread_id="t1", mime="image/png")

    await layer.create_element(element)

    found = await layer.get_element("t1", element.id)
    assert found is not None
    assert found["type"] == "image"
    assert "path" not in found
    assert await stored_bytes(layer, element.id) == b"\x89PNG fake image bytes"


async def test_an_element_is_returned_only_for_its_own_thread(layer: MongoDataLayer) -> None:
    element = file_element("t1")
    await layer.create_element(element)
    await layer.update_thread("t2", name="someone else's")

    assert await layer.get_element("t2", element.id) is None
    assert await layer.get_element("t1", element.id) is not None


async def test_delete_element_removes_it_and_its_file(layer: MongoDataLayer) -> None:
    doomed = file_element("t1")
    kept = file_element("t1")
    await layer.create_element(doomed)
    await layer.create_element(kept)

    await layer.delete_element(doomed.id, "t1")

    assert await layer.get_element("t1", doomed.id) is None
    assert await layer.get_element("t1", kept.id) is not None
    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == [kept.id]
    assert await layer.stores.files.chunks.count_documents({}) == 1


async def test_delete_element_without_a_thread_id_finds_it(layer: MongoDataLayer) -> None:
    element = file_element("t1")
    await layer.create_element(element)

    await layer.delete_element(element.id)

    assert await layer.get_element("t1", element.id) is None
    assert await files_of_thread(layer, "t1") == []


async def test_an_element_arriving_before_its_thread_is_kept(layer: MongoDataLayer) -> None:
    element = file_element("early", content=b"first")

    await layer.create_element(element)
    await layer.update_thread("early", name="created later", metadata={"k": 1})

    thread = await stored_thread(layer, "early")
    assert thread["name"] == "created later"
    assert thread["elements"] is not None
    assert [e["id"] for e in thread["elements"]] == [element.id]
    assert await stored_bytes(layer, element.id) == b"first"


async def test_an_element_id_of_another_thread_is_refused_and_leaves_no_file(
    layer: MongoDataLayer,
) -> None:
    original = file_element("t1", content=b"original")
    await layer.create_element(original)
    intruder = file_element("t2", content=b"intruder")
    intruder.id = original.id

    with pytest.raises(ElementConflictError, match="t2"):
        await layer.create_element(intruder)

    assert await layer.get_element("t2", original.id) is None
    assert await stored_bytes(layer, original.id) == b"original"
    assert await layer.stores.files.files.count_documents({}) == 1


async def test_an_element_written_again_keeps_only_its_latest_file(layer: MongoDataLayer) -> None:
    element = file_element("t1", content=b"version 1")
    await layer.create_element(element)
    element.content = b"version 2"

    await layer.create_element(element)

    assert await stored_bytes(layer, element.id) == b"version 2"
    assert await layer.stores.files.chunks.count_documents({}) == 1
    thread = await stored_thread(layer, "t1")
    assert thread["elements"] is not None
    assert len(thread["elements"]) == 1


async def test_an_element_whose_path_cannot_be_read_is_refused_and_stores_nothing(
    layer: MongoDataLayer, tmp_path: Path
) -> None:
    missing = Image(name="gone.png", path=str(tmp_path / "gone.png"), thread_id="t1")

    with pytest.raises(MongoLayerError, match=missing.id):
        await layer.create_element(missing)

    assert await layer.get_element("t1", missing.id) is None
    assert await layer.stores.files.files.count_documents({}) == 0


async def test_an_element_with_props_too_large_to_embed_is_refused_naming_it_and_its_thread(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")
    chart = CustomElement(name="chart", props={"data": "x" * 8 * 1024 * 1024}, thread_id="t1")

    with pytest.raises(InvalidInputError, match=rf"element '{chart.id}' of thread 't1'"):
        await layer.create_element(chart)

    assert await layer.get_element("t1", chart.id) is None
    assert await layer.stores.files.files.count_documents({}) == 0


async def test_elements_count_against_the_thread_budget_so_later_steps_go_to_overflow(
    layer_with: Callable[..., Awaitable[MongoDataLayer]],
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    await layer.update_thread("t1", name="chat")
    for number in range(4):
        props = {"data": str(number) * 20 * 1024}
        await layer.create_element(CustomElement(name=f"c{number}", props=props, thread_id="t1"))

    await layer.create_step(
        {"id": "s1", "threadId": "t1", "type": "assistant_message", "name": "A", "output": "hi"}
    )

    stored = await layer.stores.threads.collection.find_one(
        {"_id": "t1"}, {"overflow": 1, "steps": 1}
    )
    assert stored is not None and stored["overflow"] is True and stored["steps"] == []
    assert await layer.stores.overflow.collection.count_documents({"threadId": "t1"}) == 1
    thread = await stored_thread(layer, "t1")
    assert [step["id"] for step in thread["steps"]] == ["s1"]
    assert thread["elements"] is not None and len(thread["elements"]) == 4
