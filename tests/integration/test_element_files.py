"""Element files live in GridFS: stored on create, replaced without orphans, removed with
their element, step or thread, and never written across threads by a browser session."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from chainlit.context import context_var
from chainlit.element import File, Image
from chainlit.session import WebsocketSession
from conftest import CommandCounter

from mongo_layer import ElementConflictError, MongoDataLayer, ThreadAccessError
from mongo_layer.web.routes import element_file_url

from .factories import file_element, files_of_thread, stored_thread, thread_of, user


async def file_bytes(layer: MongoDataLayer, file_document: dict[str, Any]) -> bytes:
    return await layer.stores.files.read(file_document["_id"])


async def stored_element(layer: MongoDataLayer, thread_id: str, element_id: str) -> dict[str, Any]:
    element = await layer.get_element(thread_id, element_id)
    assert element is not None, f"element {element_id!r} is not in thread {thread_id!r}"
    return dict(element)


@contextmanager
def websocket_session_of_thread(thread_id: str) -> Iterator[None]:
    """Run as if inside a Chainlit websocket session (after its first message) of `thread_id`."""
    session = WebsocketSession.__new__(WebsocketSession)
    session.thread_id = thread_id
    session.has_first_interaction = True
    token = context_var.set(SimpleNamespace(session=session))  # type: ignore[arg-type]
    try:
        yield
    finally:
        context_var.reset(token)


async def test_a_file_element_is_stored_in_gridfs_with_its_ids_name_and_type(
    layer: MongoDataLayer,
) -> None:
    element = file_element("t1", content=b"hello world", id="e1", for_id="s1")
    await layer.create_element(element)

    [stored] = await files_of_thread(layer, "t1")
    assert stored["metadata"] == {
        "kind": "element",
        "schemaVersion": 1,
        "elementId": "e1",
        "threadId": "t1",
        "stepId": "s1",
        "name": "a.txt",
        "mime": "text/plain",
    }
    assert await file_bytes(layer, stored) == b"hello world"
    served = await stored_element(layer, "t1", "e1")
    assert served["url"] == element_file_url(layer.settings, "t1", "e1")
    assert served["forId"] == "s1" and served["mime"] == "text/plain"


async def test_a_file_element_given_by_path_is_read_into_gridfs(
    layer: MongoDataLayer, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 2000)
    element = File(name="report.pdf", path=str(path), thread_id="t1", id="e1")
    await layer.create_element(element)

    [stored] = await files_of_thread(layer, "t1")
    assert await file_bytes(layer, stored) == path.read_bytes()


async def test_a_remote_url_element_keeps_its_url_and_stores_no_file(
    layer: MongoDataLayer,
) -> None:
    remote = "https://example.com/cat.png"
    await layer.create_element(Image(name="cat", url=remote, thread_id="t1", id="e1"))

    assert await files_of_thread(layer, "t1") == []
    assert (await stored_element(layer, "t1", "e1"))["url"] == remote


async def test_an_element_written_before_its_thread_is_kept_when_the_thread_arrives(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("t1", id="e1"))
    alice = await user(layer)
    await thread_of(layer, alice, "t1", name="later")

    thread = await stored_thread(layer, "t1")
    assert thread["userIdentifier"] == "alice"
    assert thread["elements"] is not None
    assert [element["id"] for element in thread["elements"]] == ["e1"]


async def test_an_element_id_of_another_thread_is_refused_and_leaves_no_file(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("victim", content=b"original", id="e1"))

    with pytest.raises(ElementConflictError, match="'e1'"):
        await layer.create_element(file_element("attacker", content=b"forged", id="e1"))

    assert await files_of_thread(layer, "attacker") == []
    [stored] = await files_of_thread(layer, "victim")
    assert await file_bytes(layer, stored) == b"original"
    assert await layer.get_element("attacker", "e1") is None


async def test_writing_an_element_again_replaces_its_file_without_leaving_the_old_one(
    layer: MongoDataLayer, commands: CommandCounter
) -> None:
    await layer.create_element(file_element("t1", content=b"first", id="e1"))
    commands.reset()
    await layer.create_element(file_element("t1", content=b"second", id="e1"))

    [stored] = await files_of_thread(layer, "t1")
    assert await file_bytes(layer, stored) == b"second"
    thread = await stored_thread(layer, "t1")
    assert thread["elements"] is not None
    assert thread["elements"][0]["id"] == "e1"
    # The old file's id comes back from the same command that writes the element.
    assert commands.commands.count("findAndModify") == 1
    assert "update" not in commands.commands


async def test_a_browser_session_cannot_write_an_element_into_another_thread(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("victim", content=b"original", id="e1"))

    with websocket_session_of_thread("attacker"), pytest.raises(ThreadAccessError, match="victim"):
        await layer.create_element(file_element("victim", content=b"forged", id="e1"))

    [stored] = await files_of_thread(layer, "victim")
    assert await file_bytes(layer, stored) == b"original"


async def test_a_browser_session_cannot_delete_an_element_of_another_thread(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("victim", id="e1"))

    with websocket_session_of_thread("attacker"):
        with pytest.raises(ThreadAccessError):
            await layer.delete_element("e1", "victim")
        # Without a thread id the delete is confined to the session's own thread.
        await layer.delete_element("e1")

    assert await layer.get_element("victim", "e1") is not None
    assert len(await files_of_thread(layer, "victim")) == 1


async def test_a_browser_session_writes_and_deletes_elements_of_its_own_thread(
    layer: MongoDataLayer,
) -> None:
    with websocket_session_of_thread("mine"):
        await layer.create_element(file_element("mine", id="e1"))
        assert await layer.get_element("mine", "e1") is not None
        await layer.delete_element("e1", "mine")

    assert await layer.get_element("mine", "e1") is None
    assert await files_of_thread(layer, "mine") == []


async def test_deleting_an_element_deletes_its_file(layer: MongoDataLayer) -> None:
    await layer.create_element(file_element("t1", id="e1"))
    await layer.create_element(file_element("t1", id="e2"))

    await layer.delete_element("e1", "t1")

    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == ["e2"]
    assert await layer.stores.files.chunks.count_documents({}) == 1


async def test_deleting_a_step_deletes_the_files_attached_to_it(layer: MongoDataLayer) -> None:
    for step_id in ("s1", "s2"):
        await layer.create_step({"id": step_id, "threadId": "t1", "type": "assistant_message"})
        await layer.create_element(file_element("t1", id=f"e-{step_id}", for_id=step_id))

    await layer.delete_step("s1")

    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == ["e-s2"]


async def test_deleting_a_thread_deletes_all_its_files(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")
    await layer.create_element(file_element("t1", id="e1"))
    await layer.create_element(file_element("t1", id="e2", content=b"x" * 600_000))
    await layer.create_element(file_element("t2", id="e3"))

    await layer.delete_thread("t1")

    assert await files_of_thread(layer, "t1") == []
    assert len(await files_of_thread(layer, "t2")) == 1
    assert await layer.stores.files.chunks.count_documents({}) == 1


async def test_pruning_removes_files_whose_element_vanished_in_a_crash(
    layer: MongoDataLayer,
) -> None:
    await layer.create_element(file_element("t1", id="kept"))
    await layer.create_element(file_element("t1", id="lost"))
    await layer.create_element(file_element("gone-thread", id="e3"))
    # A crash between the two deletes: the metadata is gone, the files are not.
    await layer.stores.threads.collection.update_one(
        {"_id": "t1"}, {"$pull": {"elements": {"id": "lost"}}}
    )
    await layer.stores.threads.collection.delete_one({"_id": "gone-thread"})

    assert await layer.operations.prune_orphans(grace=timedelta(hours=1)) == 0
    assert await layer.operations.prune_orphans(grace=timedelta(0)) == 2

    assert [f["metadata"]["elementId"] for f in await files_of_thread(layer, "t1")] == ["kept"]
    assert await files_of_thread(layer, "gone-thread") == []
    assert await layer.stores.files.chunks.count_documents({}) == 1


async def test_pruning_removes_chunks_left_without_their_file(layer: MongoDataLayer) -> None:
    await layer.create_element(file_element("t1", id="e1"))
    [stored] = await files_of_thread(layer, "t1")
    # A crash after the file's description was deleted and before its chunks were.
    await layer.stores.files.files.delete_one({"_id": stored["_id"]})

    assert await layer.operations.prune_orphans(grace=timedelta(0)) == 1
    assert await layer.stores.files.chunks.count_documents({}) == 0
