"""Work over many threads at once: select them, walk them in batches, count what they hold.

Retention, erasure, statistics and export all use these pieces. A batch is a page of
thread ids in id order (`_id > last`), so no operation holds a whole collection in memory,
and a walk that deletes as it goes can be interrupted and run again: the next run simply
finds fewer threads.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from chainlit.user import PersistedUser
from pydantic import BaseModel, computed_field

from ..retry import Retrier
from ..storage.connection import Document, aggregate, pages_by_id
from ..storage.documents import UserDocument
from ..storage.step_versions import REMOVED, live_steps
from ..storage.stores import Stores
from ..storage.threads import ThreadStore
from ..storage.users import UserStore
from ..times import format_time


@dataclass(frozen=True)
class ThreadSelection:
    """Which threads a bulk operation works on; every condition given must hold."""

    user_id: str | None = None
    thread_id: str | None = None
    last_active_before: datetime | None = None

    def query(self) -> Document:
        query: Document = {}
        if self.thread_id is not None:
            query["_id"] = self.thread_id
        if self.user_id is not None:
            query["userId"] = self.user_id
        if self.last_active_before is not None:
            query["updatedAt"] = {"$lt": self.last_active_before}
        return query


class ThreadActivity(BaseModel):
    """A thread as a bulk operation sees it: who owns it and when it was last active."""

    id: str
    userId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


def thread_activity(document: Document) -> ThreadActivity:
    created_at, updated_at = document.get("createdAt"), document.get("updatedAt")
    return ThreadActivity(
        id=document["_id"],
        userId=document.get("userId"),
        createdAt=format_time(created_at) if isinstance(created_at, datetime) else None,
        updatedAt=format_time(updated_at) if isinstance(updated_at, datetime) else None,
    )


async def thread_batches(
    threads: ThreadStore, selection: ThreadSelection, batch_size: int, retrier: Retrier
) -> AsyncIterator[list[ThreadActivity]]:
    """The selected threads, `batch_size` at a time, in id order."""
    projection = {"userId": 1, "createdAt": 1, "updatedAt": 1}
    pages = pages_by_id(threads.collection, selection.query(), batch_size, retrier, projection)
    async for page in pages:
        yield [thread_activity(document) for document in page]


async def user_batches(
    users: UserStore, batch_size: int, retrier: Retrier
) -> AsyncIterator[list[PersistedUser]]:
    """Every stored user, `batch_size` at a time, in id order."""
    async for page in pages_by_id(users.collection, {}, batch_size, retrier):
        yield [UserDocument.model_validate(user).to_persisted_user() for user in page]


class ThreadContents(BaseModel):
    """What a set of threads holds: the documents deleting them removes."""

    threads: int = 0
    steps_embedded: int = 0
    steps_overflowed: int = 0
    elements: int = 0
    feedback: int = 0
    files: int = 0
    file_bytes: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def steps(self) -> int:
        return self.steps_embedded + self.steps_overflowed

    def add(self, other: "ThreadContents") -> None:
        for field in ThreadContents.model_fields:
            setattr(self, field, getattr(self, field) + getattr(other, field))


async def thread_contents(stores: Stores, thread_ids: list[str] | None) -> ThreadContents:
    """What the threads with these ids hold (every thread with None), counted on the
    server: one command per collection."""
    by_thread = {} if thread_ids is None else {"threadId": {"$in": thread_ids}}
    by_file_thread = {} if thread_ids is None else {"metadata.threadId": {"$in": thread_ids}}
    sizes = await aggregate(
        stores.threads.collection,
        [
            {"$match": {} if thread_ids is None else {"_id": {"$in": thread_ids}}},
            {
                "$group": {
                    "_id": None,
                    "threads": {"$sum": 1},
                    "steps": {"$sum": {"$size": live_steps("$steps")}},
                    "elements": {"$sum": {"$size": {"$ifNull": ["$elements", []]}}},
                }
            },
        ],
    )
    files = await aggregate(
        stores.files.files,
        [
            {"$match": by_file_thread},
            {"$group": {"_id": None, "files": {"$sum": 1}, "bytes": {"$sum": "$length"}}},
        ],
    )
    size = sizes[0] if sizes else {}
    file_totals = files[0] if files else {}
    return ThreadContents(
        threads=size.get("threads", 0),
        steps_embedded=size.get("steps", 0),
        steps_overflowed=await stores.overflow.collection.count_documents(
            by_thread | {f"step.{REMOVED}": {"$ne": True}}
        ),
        elements=size.get("elements", 0),
        feedback=await stores.feedback.collection.count_documents(by_thread),
        files=file_totals.get("files", 0),
        file_bytes=file_totals.get("bytes", 0),
    )
