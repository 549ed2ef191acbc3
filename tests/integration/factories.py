"""Chainlit-shaped data for the integration tests: users, threads, steps, elements."""

from typing import Any

from chainlit.element import File
from chainlit.step import StepDict
from chainlit.types import PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from chainlit.user import PersistedUser, User

from mongo_layer import MongoDataLayer


def step(step_id: str, thread_id: str = "t1", **fields: Any) -> StepDict:
    """A StepDict as Chainlit sends it, with the fields given."""
    base: dict[str, Any] = {
        "id": step_id,
        "threadId": thread_id,
        "name": "assistant",
        "type": "assistant_message",
        "createdAt": "2024-05-01T10:00:00.000Z",
    }
    return {**base, **fields}  # type: ignore[typeddict-item]


async def user(layer: MongoDataLayer, identifier: str = "alice") -> PersistedUser:
    persisted = await layer.create_user(User(identifier=identifier))
    assert persisted is not None
    return persisted


async def thread_of(
    layer: MongoDataLayer, owner: PersistedUser, thread_id: str, **fields: Any
) -> None:
    await layer.update_thread(thread_id, user_id=owner.id, **fields)


def file_element(thread_id: str = "t1", content: bytes = b"hello", **fields: Any) -> File:
    return File(name="a.txt", content=content, thread_id=thread_id, mime="text/plain", **fields)


async def sidebar(
    layer: MongoDataLayer,
    user_id: str,
    first: int = 20,
    cursor: str | None = None,
    **filters: Any,
) -> PaginatedResponse[ThreadDict]:
    return await layer.list_threads(
        Pagination(first=first, cursor=cursor), ThreadFilter(userId=user_id, **filters)
    )


def ids(page: PaginatedResponse[ThreadDict]) -> list[str]:
    return [thread["id"] for thread in page.data]


async def stored_thread(layer: MongoDataLayer, thread_id: str) -> ThreadDict:
    thread = await layer.get_thread(thread_id)
    assert thread is not None, f"thread {thread_id!r} is not stored"
    return thread


async def thread_documents(layer: MongoDataLayer) -> list[dict[str, Any]]:
    """Every document of the threads collection, as stored."""
    documents: list[dict[str, Any]] = await layer.stores.threads.collection.find({}).to_list(None)
    return documents


async def files_of_thread(layer: MongoDataLayer, thread_id: str) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = await layer.stores.files.files.find(
        {"metadata.threadId": thread_id}
    ).to_list(None)
    return files
