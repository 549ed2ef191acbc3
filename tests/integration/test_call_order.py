"""Step writes land as Chainlit called them: each field of a stored step holds the value of
the latest call that gave it a non-empty value, and a step deleted stays deleted against
every write called before the delete, whatever order the commands reach the server in.

Each test calls the layer's methods in Chainlit's order (as tasks, started in that order)
and makes their commands land in the order it chooses (see `landing.py`).
"""

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import MagicMock

import pytest
from chainlit.context import init_ws_context
from chainlit.session import WebsocketSession
from chainlit.step import StepDict
from chainlit.types import Feedback
from conftest import CommandCounter
from pymongo import monitoring

from mongo_layer import MongoDataLayer, ThreadAccessError

from .factories import file_element, files_of_thread, ids, sidebar, step, thread_documents, user
from .landing import HeldWrites

MakeLayer = Callable[..., Awaitable[MongoDataLayer]]
WRITE_LISTS = {"update": "updates", "delete": "deletes"}


class WriteFilters(CommandCounter):
    """A CommandCounter that also keeps the filter of every single-document write, with the
    collection it names (deletes of many documents are left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.filters: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        name = event.command_name
        if name not in ("findAndModify", *WRITE_LISTS):
            return
        collection = str(event.command[name])
        if name == "findAndModify":
            self.filters.append((collection, dict(event.command.get("query") or {})))
            return
        for write in event.command.get(WRITE_LISTS[name]) or []:
            single = write.get("multi") is not True and write.get("limit") != 0
            if single:
                self.filters.append((collection, dict(write.get("q") or {})))

    def reset(self) -> None:
        super().reset()
        self.filters.clear()


@pytest.fixture
def commands() -> WriteFilters:
    return WriteFilters()


LARGE = "x" * (300 * 1024)  # past large_field_bytes: stored in GridFS


def message(step_id: str, thread_id: str = "t1", **fields: Any) -> StepDict:
    return step(step_id, thread_id, type="assistant_message", **fields)


async def stored_steps(layer: MongoDataLayer, thread_id: str = "t1") -> list[StepDict]:
    thread = await layer.get_thread(thread_id)
    return thread["steps"] if thread else []


async def only_step(layer: MongoDataLayer, thread_id: str = "t1") -> StepDict:
    (stored,) = await stored_steps(layer, thread_id)
    return stored


@pytest.mark.parametrize("landing", [("first", "second"), ("second", "first")])
async def test_a_message_sent_twice_keeps_the_second_content(
    layer: MongoDataLayer, landing: tuple[str, str]
) -> None:
    held = HeldWrites(layer)
    held.call("first", layer.create_step(message("m1", output="Hello")))
    held.call("second", layer.create_step(message("m1", output="Hello, alice")))

    await held.land(*landing)

    assert (await only_step(layer))["output"] == "Hello, alice"


@pytest.mark.parametrize("landing", [("create", "update"), ("update", "create")])
async def test_the_final_update_wins_over_a_create_with_a_large_output(
    layer: MongoDataLayer, landing: tuple[str, str]
) -> None:
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message("m1", output=LARGE)))
    held.call("update", layer.update_step(message("m1", output="the answer")))

    await held.land(*landing)

    assert (await only_step(layer))["output"] == "the answer"
    (document,) = await thread_documents(layer)
    assert document["steps"][0].get("outputFileId") is None


async def test_the_final_update_wins_when_the_create_uploading_a_large_output_lands_last(
    layer: MongoDataLayer,
) -> None:
    """No holding here: the create's GridFS upload alone makes it land after the update."""
    create = layer.create_step(message("m1", output=LARGE * 8))
    update = layer.update_step(message("m1", output="the answer"))

    await asyncio.gather(create, update)

    assert (await only_step(layer))["output"] == "the answer"


@pytest.mark.parametrize("landing", list(itertools.permutations(["create", "delete"])))
async def test_a_removed_message_stays_removed_whatever_lands_first(
    layer: MongoDataLayer, landing: tuple[str, ...]
) -> None:
    alice = await user(layer)
    await layer.update_thread("t1", name="chat", user_id=alice.id)
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message("m1", output="Thinking...")))
    held.call("delete", layer.delete_step("m1"))

    await held.land(*landing)

    assert await stored_steps(layer) == []
    assert ids(await sidebar(layer, alice.id, search="Thinking")) == []


@pytest.mark.parametrize("landing", list(itertools.permutations(["create", "delete", "update"])))
async def test_an_update_called_after_the_delete_never_brings_back_older_content(
    layer: MongoDataLayer, landing: tuple[str, ...]
) -> None:
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message("m1", input="secret", output="draft")))
    held.call("delete", layer.delete_step("m1"))
    held.call("update", layer.update_step(message("m1", input="", output="final")))

    await held.land(*landing)

    stored = await only_step(layer)
    assert stored["output"] == "final"
    assert stored.get("input") in (None, "")


@pytest.mark.parametrize("landing", list(itertools.permutations(["create", "delete", "again"])))
async def test_a_step_created_again_after_its_delete_is_stored_with_the_new_content(
    layer: MongoDataLayer, landing: tuple[str, ...]
) -> None:
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message("m1", output="old")))
    held.call("delete", layer.delete_step("m1"))
    held.call("again", layer.create_step(message("m1", output="new")))

    await held.land(*landing)

    assert (await only_step(layer))["output"] == "new"


async def test_deleting_a_step_never_stored_is_a_quiet_no_op(layer: MongoDataLayer) -> None:
    await layer.delete_step("never-stored")

    assert await thread_documents(layer) == []


async def test_deleting_a_step_twice_is_a_quiet_no_op(layer: MongoDataLayer) -> None:
    await layer.create_step(message("m1", output="hello"))

    await layer.delete_step("m1")
    await layer.delete_step("m1")

    assert await stored_steps(layer) == []


async def test_deleting_a_step_removes_the_files_of_its_large_fields(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(message("m1", output=LARGE, input=LARGE))
    assert len(await files_of_thread(layer, "t1")) == 2

    await layer.delete_step("m1")

    assert await files_of_thread(layer, "t1") == []


async def test_what_the_layer_keeps_to_order_writes_never_reaches_chainlit(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    await layer.update_thread("t1", user_id=alice.id)
    await layer.create_step(message("m1", output="kept", metadata={"favorite": True}))
    await layer.create_step(message("m2", output="gone"))
    await layer.delete_step("m2")

    (stored,) = await stored_steps(layer)
    (favorite,) = await layer.get_favorite_steps(alice.id)

    for returned in (stored, favorite):
        assert not {"fieldStamps", "removedStamp", "removed"} & set(returned)
        assert returned["id"] == "m1"


async def test_a_deleted_favorite_is_no_longer_a_favorite(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await layer.update_thread("t1", user_id=alice.id)
    await layer.create_step(message("m1", output="kept", metadata={"favorite": True}))

    await layer.delete_step("m1")

    assert await layer.get_favorite_steps(alice.id) == []


async def test_a_layer_that_did_not_write_the_step_finds_its_thread_to_delete_it(
    layer: MongoDataLayer, layer_with: MakeLayer
) -> None:
    await layer.create_step(message("m1", "t9", output="hello"))
    another_process = await layer_with()

    await another_process.delete_step("m1")

    assert await stored_steps(layer, "t9") == []


async def with_a_full_thread(layer_with: MakeLayer) -> MongoDataLayer:
    """A layer whose thread "t1" is past its budget: steps "filler-0" to "filler-39", the
    later ones in overflow."""
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    for index in range(40):
        await layer.create_step(message(f"filler-{index}", output="f" * 2048))
    return layer


@pytest.mark.parametrize("landing", list(itertools.permutations(["create", "update", "delete"])))
async def test_overflowed_steps_follow_the_same_rule(
    layer_with: MakeLayer, landing: tuple[str, ...]
) -> None:
    layer = await with_a_full_thread(layer_with)
    overflowed = str(uuid.uuid4())
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message(overflowed, output="draft")))
    held.call("update", layer.update_step(message(overflowed, output="final")))
    held.call("delete", layer.delete_step(overflowed))

    await held.land(*landing)

    assert overflowed not in [s["id"] for s in await stored_steps(layer)]
    assert await layer.stores.overflow.collection.count_documents({"step.output": "final"}) == 0


@pytest.mark.parametrize("landing", [("create", "update"), ("update", "create")])
async def test_an_overflowed_step_keeps_the_latest_called_content(
    layer_with: MakeLayer, landing: tuple[str, ...]
) -> None:
    layer = await with_a_full_thread(layer_with)
    held = HeldWrites(layer)
    held.call("create", layer.create_step(message("late", output="Thinking...")))
    held.call("update", layer.update_step(message("late", output="final")))

    await held.land(*landing)

    (stored,) = [s for s in await stored_steps(layer) if s["id"] == "late"]
    assert stored["output"] == "final"
    assert await layer.stores.overflow.collection.count_documents({"step.id": "late"}) == 1


async def in_session_of(thread_id: str, act: Callable[[], Awaitable[Any]]) -> None:
    """Run `act` inside a Chainlit websocket session of `thread_id` whose user has written
    (so nothing is queued), in its own task so the context does not leak into the test."""
    session = WebsocketSession(
        id=f"session-{thread_id}",
        socket_id=f"socket-{thread_id}",
        emit=MagicMock(),
        emit_call=MagicMock(),
        user_env={},
        client_type="webapp",
        thread_id=thread_id,
    )
    session.has_first_interaction = True

    async def run() -> None:
        init_ws_context(session)
        await act()

    try:
        await asyncio.create_task(run())
    finally:
        await session.delete()  # type: ignore[no-untyped-call]


async def alice_and_bob_share_a_step_id(layer: MongoDataLayer) -> None:
    """alice's thread holds step "shared" with a file and a rating; bob's thread holds a
    step with the same id (Chainlit lets the browser choose message ids)."""
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")
    await layer.update_thread("alice-thread", user_id=alice.id)
    await layer.update_thread("bob-thread", user_id=bob.id)
    await layer.create_step(message("shared", "alice-thread", output=LARGE))
    await layer.create_element(file_element("alice-thread", for_id="shared"))
    await layer.upsert_feedback(Feedback(forId="shared", threadId="alice-thread", value=1))
    await in_session_of(
        "bob-thread", lambda: layer.create_step(message("shared", "bob-thread", output="bob's"))
    )


async def alice_is_untouched(layer: MongoDataLayer) -> None:
    (kept,) = await stored_steps(layer, "alice-thread")
    assert kept["output"] == LARGE
    rating = kept.get("feedback")
    assert rating is not None and rating["value"] == 1
    assert len(await files_of_thread(layer, "alice-thread")) == 2


async def test_a_step_id_of_another_thread_is_kept_apart_from_it(layer: MongoDataLayer) -> None:
    await alice_and_bob_share_a_step_id(layer)

    assert [s["output"] for s in await stored_steps(layer, "bob-thread")] == ["bob's"]
    await alice_is_untouched(layer)


@pytest.mark.parametrize("after_a_restart", [False, True])
async def test_deleting_a_shared_step_id_in_a_session_touches_only_its_thread(
    layer: MongoDataLayer, layer_with: MakeLayer, after_a_restart: bool
) -> None:
    await alice_and_bob_share_a_step_id(layer)
    # After a restart the layer remembers no step's thread.
    deleting = await layer_with() if after_a_restart else layer

    await in_session_of("bob-thread", lambda: deleting.delete_step("shared"))

    assert await stored_steps(layer, "bob-thread") == []
    await alice_is_untouched(layer)


async def test_a_session_may_not_write_a_step_into_another_thread(layer: MongoDataLayer) -> None:
    await alice_and_bob_share_a_step_id(layer)

    with pytest.raises(ThreadAccessError, match=r"bob-thread.*step 'shared'.*alice-thread"):
        await in_session_of(
            "bob-thread",
            lambda: layer.update_step(message("shared", "alice-thread", output="overwritten")),
        )

    await alice_is_untouched(layer)


async def test_every_write_of_a_step_and_its_delete_names_the_shard_key(
    layer: MongoDataLayer, layer_with: MakeLayer, commands: WriteFilters
) -> None:
    """threads are sharded on `_id`, the overflow and feedback collections on `threadId`:
    each single-document write names it by equality, also in a process that must look the
    thread up first."""
    full = await with_a_full_thread(layer_with)
    await layer.create_step(message("m1", output="one"))
    await layer.upsert_feedback(Feedback(forId="m1", threadId="t1", value=1))
    commands.reset()

    for writing in (layer, full, await layer_with()):
        await writing.update_step(message("m1", output="two"))
        await writing.update_step(message("filler-39", output="two"))
        await writing.delete_step("m1")
        await writing.delete_step("filler-39")
        await writing.delete_step("never-stored")

    assert commands.filters, "no write was recorded"
    shard_keys = {layer.settings.threads_name: "_id"}
    for collection, filter in commands.filters:
        key = shard_keys.get(collection, "threadId")
        assert isinstance(filter.get(key), str), (collection, filter)
