"""Restoring history from another layer: what lands is what the layer would have stored had
the app run on MongoDB from the start, and restoring again changes nothing."""

from typing import Any

import pytest
from chainlit.element import ElementDict
from chainlit.types import ThreadDict
from chainlit.user import PersistedUser, User

from mongo_layer import MongoDataLayer, UserConflictError
from mongo_layer.web.routes import element_file_url

from .factories import sidebar, stored_thread, thread_documents

ALICE = PersistedUser(
    id="u-alice",
    identifier="alice",
    createdAt="2023-02-03T04:05:06.789000",
    metadata={"role": "admin", "a.b": 1},
    display_name="Alice",
)


def history_thread(
    thread_id: str = "t-old", steps: int | list[Any] = 3, **fields: Any
) -> ThreadDict:
    """A thread as Chainlit's SQL layers return it: nested steps (the first `steps`, or the
    steps given), a rated answer, elements."""
    thread: dict[str, Any] = {
        "id": thread_id,
        "createdAt": "2023-03-01T09:00:00.123456",
        "name": "Where do herons nest?",
        "userId": ALICE.id,
        "userIdentifier": ALICE.identifier,
        "tags": ["birds"],
        "metadata": {"chat_profile": "default"},
        "steps": steps
        if isinstance(steps, list)
        else [old_step(thread_id, n) for n in range(steps)],
        "elements": [],
    }
    return {**thread, **fields}  # type: ignore[typeddict-item]


def old_step(thread_id: str, n: int, **fields: Any) -> dict[str, Any]:
    time = f"2023-03-01T09:{n // 60:02d}:{n % 60:02d}.{n % 1000:03d}"
    step: dict[str, Any] = {
        "id": f"{thread_id}-s{n}",
        "threadId": thread_id,
        "parentId": f"{thread_id}-s{n - 1}" if n % 2 else None,
        "name": "Assistant" if n % 2 else "alice",
        "type": "run" if n % 2 else "user_message",
        "input": f"question {n}",
        "output": f"answer {n}",
        "metadata": {},
        "showInput": False,
        "isError": False,
        "createdAt": time,
        "start": time,
        "end": time,
        "generation": {"model": "gpt", "n": n} if n % 2 else None,
        "feedback": {
            "id": f"{thread_id}-f{n}",
            "forId": f"{thread_id}-s{n}",
            "value": 1,
            "comment": "ok",
        }
        if n == 1
        else None,
    }
    return {**step, **fields}


def element(element_id: str, thread_id: str = "t-old", **fields: Any) -> ElementDict:
    base: dict[str, Any] = {
        "id": element_id,
        "threadId": thread_id,
        "type": "file",
        "name": f"{element_id}.txt",
        "mime": "text/plain",
        "display": "inline",
        "forId": f"{thread_id}-s1",
        "url": f"https://files.example/{element_id}",
        "objectKey": f"threads/{thread_id}/{element_id}",
    }
    return {**base, **fields}  # type: ignore[typeddict-item]


def bytes_of(files: dict[str, bytes]) -> Any:
    """An element_bytes callable answering from `files` by element id, recording each call."""
    calls: list[str] = []

    async def fetch(element: ElementDict) -> bytes | None:
        calls.append(element["id"])
        return files.get(element["id"])

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


async def stored_file_count(layer: MongoDataLayer) -> int:
    count: int = await layer.stores.files.files.count_documents({})
    return count


# Users


async def test_a_restored_user_keeps_its_id_creation_time_and_metadata(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_user(ALICE)

    user = await layer.get_user("alice")
    assert user is not None
    assert (user.id, user.identifier, user.display_name) == ("u-alice", "alice", "Alice")
    assert user.createdAt == "2023-02-03T04:05:06.789Z"
    assert user.metadata == {"role": "admin", "a.b": 1}


async def test_restoring_a_user_twice_stores_it_once(layer: MongoDataLayer) -> None:
    await layer.operations.restore_user(ALICE)
    await layer.operations.restore_user(ALICE)

    assert await layer.stores.users.collection.count_documents({}) == 1


async def test_a_login_after_the_restore_keeps_the_restored_id(layer: MongoDataLayer) -> None:
    await layer.operations.restore_user(ALICE)

    logged_in = await layer.create_user(User(identifier="alice", metadata={"role": "admin"}))

    assert logged_in is not None
    assert (logged_in.id, logged_in.createdAt) == ("u-alice", "2023-02-03T04:05:06.789Z")


async def test_a_user_whose_identifier_has_another_id_here_is_refused(
    layer: MongoDataLayer,
) -> None:
    await layer.create_user(User(identifier="alice"))

    with pytest.raises(UserConflictError, match="'alice'"):
        await layer.operations.restore_user(ALICE)


async def test_a_user_whose_id_belongs_to_another_identifier_is_refused(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_user(ALICE)
    impostor = PersistedUser(id="u-alice", identifier="mallory", createdAt="", metadata={})

    with pytest.raises(UserConflictError, match="'mallory'"):
        await layer.operations.restore_user(impostor)
    assert await layer.get_user("mallory") is None


# Threads and steps


async def test_a_restored_thread_reads_back_with_its_fields_and_times(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_user(ALICE)

    await layer.operations.restore_thread(history_thread())

    thread = await stored_thread(layer, "t-old")
    assert thread["createdAt"] == "2023-03-01T09:00:00.123Z"
    assert (thread["name"], thread["userId"], thread["userIdentifier"]) == (
        "Where do herons nest?",
        "u-alice",
        "alice",
    )
    assert (thread["tags"], thread["metadata"]) == (["birds"], {"chat_profile": "default"})
    page = await sidebar(layer, "u-alice")
    assert [t["id"] for t in page.data] == ["t-old"]


async def test_restored_steps_keep_ids_order_nesting_times_generation_and_feedback(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_thread(history_thread(steps=4))

    steps = (await stored_thread(layer, "t-old"))["steps"]

    assert [s["id"] for s in steps] == ["t-old-s0", "t-old-s1", "t-old-s2", "t-old-s3"]
    assert [s.get("parentId") for s in steps] == [None, "t-old-s0", None, "t-old-s2"]
    assert [s["createdAt"] for s in steps] == [
        "2023-03-01T09:00:00.000Z",
        "2023-03-01T09:00:01.001Z",
        "2023-03-01T09:00:02.002Z",
        "2023-03-01T09:00:03.003Z",
    ]
    assert steps[1]["generation"] == {"model": "gpt", "n": 1}
    assert steps[1]["showInput"] is False
    assert steps[1]["feedback"] == {
        "id": "t-old-f1",
        "forId": "t-old-s1",
        "value": 1,
        "comment": "ok",
    }
    (feedback,) = await layer.stores.feedback.collection.find({}).to_list(None)
    assert (feedback["_id"], feedback["threadId"]) == ("t-old-f1", "t-old")


async def test_last_activity_is_the_latest_step_unless_given(layer: MongoDataLayer) -> None:
    await layer.operations.restore_thread(history_thread("t-a", steps=3))
    await layer.operations.restore_thread(
        history_thread("t-b", steps=3), updated_at="2024-01-01T00:00:00Z"
    )

    stored = {d["_id"]: d["updatedAt"] for d in await thread_documents(layer)}

    assert stored["t-a"].isoformat()[:23] == "2023-03-01T09:00:02.002"
    assert stored["t-b"].isoformat()[:19] == "2024-01-01T00:00:00"


async def test_a_thread_without_user_is_restored_and_shows_in_no_sidebar(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_thread(history_thread(userId=None, userIdentifier=None))

    thread = await stored_thread(layer, "t-old")
    assert thread["userId"] is None
    assert len(thread["steps"]) == 3


async def test_large_fields_and_overflow_apply_as_for_any_step_write(
    layer_with: Any,
) -> None:
    layer: MongoDataLayer = await layer_with(
        large_field_bytes=8 * 1024, thread_document_budget_bytes=64 * 1024
    )
    outputs = [f"{n} " + ("x" * 20_000 if n % 2 else "y" * 6_000) for n in range(24)]
    steps = [old_step("t-big", n, output=output) for n, output in enumerate(outputs)]

    await layer.operations.restore_thread(history_thread("t-big", steps=steps))

    thread = await stored_thread(layer, "t-big")
    assert [s["output"] for s in thread["steps"]] == outputs
    assert await stored_file_count(layer) == 12
    (document,) = await thread_documents(layer)
    assert document["overflow"] is True
    assert await layer.stores.overflow.collection.count_documents({}) > 0


# Elements


async def test_an_element_with_bytes_is_stored_in_gridfs_and_served_by_the_layer(
    layer: MongoDataLayer,
) -> None:
    fetch = bytes_of({"e-1": b"old file bytes"})

    summary = await layer.operations.restore_thread(
        history_thread(elements=[element("e-1")]), fetch
    )

    found = await layer.get_element("t-old", "e-1")
    assert found is not None
    assert found["url"] == element_file_url(layer.settings, "t-old", "e-1")
    assert "objectKey" not in found
    (file,) = await layer.stores.files.files.find({"metadata.elementId": "e-1"}).to_list(None)
    assert await layer.stores.files.read(file["_id"]) == b"old file bytes"
    assert file["metadata"]["threadId"] == "t-old"
    assert (summary.files_stored, summary.elements_without_file) == (1, [])


async def test_an_element_without_bytes_keeps_its_url(layer: MongoDataLayer) -> None:
    fetch = bytes_of({})

    summary = await layer.operations.restore_thread(
        history_thread(elements=[element("e-gone")]), fetch
    )

    found = await layer.get_element("t-old", "e-gone")
    assert found is not None
    assert found["url"] == "https://files.example/e-gone"
    assert summary.elements_without_file == ["e-gone"]
    assert await stored_file_count(layer) == 0


async def test_linking_elements_fetches_nothing(layer: MongoDataLayer) -> None:
    await layer.operations.restore_thread(history_thread(elements=[element("e-1")]))

    found = await layer.get_element("t-old", "e-1")
    assert found is not None
    assert found["url"] == "https://files.example/e-1"


# Idempotence and resuming


async def test_restoring_a_thread_twice_changes_nothing(layer: MongoDataLayer) -> None:
    thread = history_thread(steps=5, elements=[element("e-1"), element("e-2")])
    fetch = bytes_of({"e-1": b"bytes"})
    await layer.operations.restore_user(ALICE)
    await layer.operations.restore_thread(thread, fetch)
    documents = await thread_documents(layer)
    feedback = await layer.stores.feedback.collection.find({}).to_list(None)

    again = await layer.operations.restore_thread(thread, fetch)

    assert await thread_documents(layer) == documents
    assert await layer.stores.feedback.collection.find({}).to_list(None) == feedback
    assert await stored_file_count(layer) == 1
    assert fetch.calls == ["e-1", "e-2", "e-2"]
    assert not again.changed
    assert again.steps_unchanged == 5


async def test_restoring_large_fields_twice_uploads_them_once(layer_with: Any) -> None:
    layer: MongoDataLayer = await layer_with(large_field_bytes=8 * 1024)
    thread = history_thread(steps=[old_step("t-old", 0, output="y" * 50_000)])

    await layer.operations.restore_thread(thread)
    await layer.operations.restore_thread(thread)

    assert await stored_file_count(layer) == 1


async def test_an_interrupted_restore_completes_when_run_again(layer: MongoDataLayer) -> None:
    whole = history_thread(steps=6)
    first_half = history_thread(steps=whole["steps"][:3])
    await layer.operations.restore_thread(first_half)

    summary = await layer.operations.restore_thread(whole)

    assert (summary.steps_unchanged, summary.steps_written) == (3, 3)
    steps = (await stored_thread(layer, "t-old"))["steps"]
    assert [s["id"] for s in steps] == [f"t-old-s{n}" for n in range(6)]


async def test_a_step_changed_at_the_source_is_updated_on_the_next_restore(
    layer: MongoDataLayer,
) -> None:
    thread = history_thread(steps=2)
    await layer.operations.restore_thread(thread)
    thread["steps"][1]["output"] = "a better answer"

    summary = await layer.operations.restore_thread(thread)

    assert summary.steps_written == 1
    steps = (await stored_thread(layer, "t-old"))["steps"]
    assert steps[1]["output"] == "a better answer"


async def test_a_thread_renamed_at_the_source_is_renamed_on_the_next_restore(
    layer: MongoDataLayer,
) -> None:
    await layer.operations.restore_thread(history_thread(steps=0))

    summary = await layer.operations.restore_thread(history_thread(steps=0, name="Herons, again"))

    assert summary.thread_written
    assert (await stored_thread(layer, "t-old"))["name"] == "Herons, again"
    assert not (
        await layer.operations.restore_thread(history_thread(steps=0, name="Herons, again"))
    ).changed
