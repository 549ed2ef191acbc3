"""Writes racing each other on one thread or one user lose nothing and duplicate nothing."""

import asyncio
import uuid

from chainlit.step import StepDict
from chainlit.user import User

from mongo_layer import MongoDataLayer

from .factories import file_element, thread_documents


def step(thread_id: str, index: int) -> StepDict:
    return {
        "id": f"step-{index}",
        "threadId": thread_id,
        "name": "Assistant",
        "type": "assistant_message",
        "output": f"answer {index}",
        "createdAt": f"2025-01-01T00:{index // 60:02d}:{index % 60:02d}.000Z",
    }


async def test_100_concurrent_steps_on_a_new_thread_make_one_thread_with_100_steps(
    layer: MongoDataLayer,
) -> None:
    thread_id = str(uuid.uuid4())

    await asyncio.gather(*(layer.create_step(step(thread_id, i)) for i in range(100)))

    [document] = await thread_documents(layer)
    assert document["_id"] == thread_id
    assert sorted(s["id"] for s in document["steps"]) == sorted(f"step-{i}" for i in range(100))
    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert [s["output"] for s in thread["steps"]] == [f"answer {i}" for i in range(100)]


async def test_a_step_written_after_a_burst_of_first_writes_is_read_back(
    layer: MongoDataLayer,
) -> None:
    thread_ids = [str(uuid.uuid4()) for _ in range(5)]
    burst = [layer.create_step(step(t, i)) for t in thread_ids for i in range(40)]

    await asyncio.gather(*burst)
    for thread_id in thread_ids:
        await layer.create_step(step(thread_id, 40))

    for thread_id in thread_ids:
        thread = await layer.get_thread(thread_id)
        assert thread is not None
        assert [s["id"] for s in thread["steps"]] == [f"step-{i}" for i in range(41)]


async def test_concurrent_metadata_updates_and_steps_on_one_thread_lose_neither(
    layer: MongoDataLayer,
) -> None:
    thread_id = str(uuid.uuid4())
    user = await layer.create_user(User(identifier="alice"))
    assert user is not None
    writes = []
    for i in range(40):
        writes.append(layer.create_step(step(thread_id, i)))
        writes.append(layer.update_thread(thread_id, metadata={f"key {i}": i}))
    writes.append(layer.update_thread(thread_id, name="racing", user_id=user.id))

    await asyncio.gather(*writes)

    [document] = await thread_documents(layer)
    assert len(document["steps"]) == 40
    thread = await layer.get_thread(thread_id)
    assert thread is not None
    assert thread["metadata"] == {f"key {i}": i for i in range(40)}
    assert [s["id"] for s in thread["steps"]] == [f"step-{i}" for i in range(40)]
    assert (thread["name"], thread["userId"], thread["userIdentifier"]) == (
        "racing",
        user.id,
        "alice",
    )


async def test_concurrent_first_logins_of_one_user_make_one_user(layer: MongoDataLayer) -> None:
    logins = [User(identifier="alice", metadata={"login": i}) for i in range(20)]

    users = await asyncio.gather(*(layer.create_user(login) for login in logins))

    assert all(user is not None for user in users)
    [user_id] = {user.id for user in users if user is not None}
    assert len({user.createdAt for user in users if user is not None}) == 1
    stored = await layer.stores.users.collection.find({"identifier": "alice"}).to_list(None)
    assert [document["_id"] for document in stored] == [user_id]
    persisted = await layer.get_user("alice")
    assert persisted is not None and persisted.id == user_id


async def test_concurrent_first_elements_and_steps_of_a_new_thread_are_all_kept(
    layer: MongoDataLayer,
) -> None:
    thread_id = f"t-{uuid.uuid4().hex}"
    elements = [file_element(thread_id, content=f"file {n}".encode()) for n in range(10)]

    await asyncio.gather(
        *(layer.create_element(element) for element in elements),
        *(layer.create_step(step(thread_id, n)) for n in range(10)),
    )

    thread = await layer.get_thread(thread_id)
    assert thread is not None and thread["elements"] is not None
    assert sorted(e["id"] for e in thread["elements"]) == sorted(e.id for e in elements)
    assert len(thread["steps"]) == 10
    assert len(await thread_documents(layer)) == 1
