"""The layer as a whole on the real server: clients it owns or borrows, indexes, queueing."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import MagicMock

import pytest
from chainlit.context import init_ws_context
from chainlit.session import WebsocketSession
from chainlit.user import User
from conftest import MongoServer, close_client, make_client
from pymongo.errors import InvalidOperation

from mongo_layer import MongoDataLayer, MongoLayerSettings, ThreadAccessError

from .factories import file_element, step, stored_thread


async def test_build_debug_url_is_empty(layer: MongoDataLayer) -> None:
    assert await layer.build_debug_url() == ""


async def test_closing_a_layer_leaves_a_borrowed_client_working(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    client = make_client(driver, mongo_server.uri)
    borrowing = MongoDataLayer(client=client, database=database_name, mount_file_route=False)
    await borrowing.update_thread("t1", name="chat")

    await borrowing.close()

    assert await client[database_name]["threads"].count_documents({}) == 1
    await close_client(client)


async def test_closing_a_layer_made_from_a_uri_closes_its_client(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    owning = MongoDataLayer(
        uri=mongo_server.uri,
        database=database_name,
        driver=driver,  # type: ignore[arg-type]
        mount_file_route=False,
    )
    await owning.update_thread("t1", name="chat")

    await owning.close()

    with pytest.raises(InvalidOperation):
        await owning.stores.threads.collection.count_documents({})


async def test_a_layer_on_a_database_object_uses_that_database(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    client = make_client(driver, mongo_server.uri)
    on_database = MongoDataLayer(database=client[database_name], mount_file_route=False)

    await on_database.update_thread("t1", name="chat")

    assert await client[database_name]["threads"].count_documents({"_id": "t1"}) == 1
    await on_database.close()
    await close_client(client)


async def test_the_first_operation_creates_the_indexes(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    client = make_client(driver, mongo_server.uri)
    fresh = MongoDataLayer(client=client, database=database_name, mount_file_route=False)

    await fresh.update_thread("t1", name="chat")

    assert {"sidebar_by_activity", "step_id"} <= set(
        await fresh.stores.threads.collection.index_information()
    )
    await fresh.ensure_indexes()
    await close_client(client)


async def test_prefixed_collections_leave_an_existing_users_collection_alone(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    client = make_client(driver, mongo_server.uri)
    await client[database_name]["users"].insert_one({"_id": "theirs", "identifier": "alice"})
    prefixed = MongoDataLayer(
        client=client,
        database=database_name,
        settings=MongoLayerSettings(collection_prefix="cl_"),
        mount_file_route=False,
    )

    persisted = await prefixed.create_user(User(identifier="alice"))
    assert persisted is not None
    await prefixed.update_thread("t1", user_id=persisted.id)
    await prefixed.create_element(file_element("t1"))

    assert persisted.id != "theirs"
    assert await prefixed.get_thread_author("t1") == "alice"
    assert (await stored_thread(prefixed, "t1"))["userIdentifier"] == "alice"
    assert await client[database_name]["cl_threads"].count_documents({}) == 1
    assert await client[database_name]["cl_users"].count_documents({}) == 1
    assert await client[database_name]["users"].find_one({}) == {
        "_id": "theirs",
        "identifier": "alice",
    }
    assert await client[database_name]["cl_elements.files"].count_documents({}) == 1
    await close_client(client)


async def in_session_before_first_message(
    act: Callable[[WebsocketSession], Awaitable[Any]],
) -> WebsocketSession:
    """Run `act` inside a Chainlit websocket session whose user has not written yet.

    It runs in its own task so the Chainlit context it sets does not leak into the test."""
    session = WebsocketSession(
        id="session-1",
        socket_id="socket-1",
        emit=MagicMock(),
        emit_call=MagicMock(),
        user_env={},
        client_type="webapp",
        thread_id="t1",
    )

    async def run() -> None:
        init_ws_context(session)
        await act(session)

    await asyncio.create_task(run())
    return session


async def test_a_step_written_before_the_first_user_message_is_queued(
    layer: MongoDataLayer,
) -> None:
    session = await in_session_before_first_message(
        lambda session: layer.create_step(step("s1", output="welcome"))
    )
    try:
        assert len(session.thread_queues["_write_step"]) == 1
        assert await layer.stores.threads.collection.count_documents({}) == 0

        await session.flush_method_queue()

        thread = await stored_thread(layer, "t1")
        assert [s["output"] for s in thread["steps"]] == ["welcome"]
    finally:
        await session.delete()


@pytest.mark.parametrize(
    "method", ["create_step", "update_step", "delete_step", "create_element", "delete_element"]
)
async def test_every_write_chainlit_queues_is_queued(layer: MongoDataLayer, method: str) -> None:
    arguments: dict[str, tuple[Any, ...]] = {
        "create_step": (step("s1"),),
        "update_step": (step("s1"),),
        "delete_step": ("s1",),
        "create_element": (file_element("t1"),),
        "delete_element": ("e1", "t1"),
    }

    # Creates and updates of steps share one queue, so Chainlit flushes them in call order.
    queue = {"create_step": "_write_step", "update_step": "_write_step"}
    queue["delete_step"] = "_delete_step"
    queue["delete_element"] = "_delete_element"

    session = await in_session_before_first_message(
        lambda session: getattr(layer, method)(*arguments[method])
    )
    try:
        assert list(session.thread_queues) == [queue.get(method, method)]
        assert await layer.stores.threads.collection.count_documents({}) == 0
    finally:
        await session.delete()


async def test_deleting_another_threads_element_in_a_session_is_refused_before_any_queue(
    layer: MongoDataLayer,
) -> None:
    """Chainlit's DELETE /project/element calls this inside the requester's session: the
    refusal must reach the request, whether or not the session has written yet."""
    refused: list[ThreadAccessError] = []

    async def delete_in_another_thread(session: WebsocketSession) -> None:
        with pytest.raises(ThreadAccessError, match="thread 't-other'") as refusal:
            await layer.delete_element("e1", "t-other")
        refused.append(refusal.value)

    session = await in_session_before_first_message(delete_in_another_thread)
    try:
        assert len(refused) == 1
        assert session.thread_queues == {}
    finally:
        await session.delete()


async def test_after_the_first_user_message_a_step_is_written_at_once(
    layer: MongoDataLayer,
) -> None:
    async def write_after_first_message(session: WebsocketSession) -> None:
        session.has_first_interaction = True
        await layer.create_step(step("s1", output="reply"))

    session = await in_session_before_first_message(write_after_first_message)
    try:
        assert session.thread_queues == {}
        assert [s["id"] for s in (await stored_thread(layer, "t1"))["steps"]] == ["s1"]
    finally:
        await session.delete()


async def test_writes_queued_before_the_first_message_all_land_when_flushed(
    layer: MongoDataLayer,
) -> None:
    element = file_element("t1", for_id="s1")

    async def greet(session: WebsocketSession) -> None:
        await layer.create_element(element)
        await layer.update_step(step("s1", output="Hello! How can I help?"))
        await layer.create_step(step("s1", output=""))

    session = await in_session_before_first_message(greet)
    try:
        await layer.update_thread("t1", name="first question")
        await session.flush_method_queue()

        thread = await stored_thread(layer, "t1")
        assert thread["name"] == "first question"
        assert [s["output"] for s in thread["steps"]] == ["Hello! How can I help?"]
        assert thread["elements"] is not None
        assert [e["id"] for e in thread["elements"]] == [element.id]
    finally:
        await session.delete()
