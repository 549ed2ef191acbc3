"""The feedback collection: one document per rated step, keyed by the step's thread and id.

A unique index on `(threadId, forId)` keeps one rating per step, and every single-document
write names `threadId` (the collection's shard key) by equality.
"""

from datetime import datetime
from typing import Any
from uuid import uuid4

from pymongo.errors import BulkWriteError

from ..errors import MongoLayerError
from ..times import utc_now
from .connection import Document, aggregate, duplicates_of, find_one_and_upsert, thread_ids_of
from .documents import SCHEMA_VERSION
from .threads import with_author_identifier, with_thread_user_id


def rating_fields(value: int, comment: str | None, now: datetime) -> Document:
    """What every rating of a step writes."""
    return {"value": value, "comment": comment, "updatedAt": now}


def first_rating_fields(feedback_id: str, now: datetime) -> Document:
    """What only the first rating of a step writes."""
    return {"_id": feedback_id, "schemaVersion": SCHEMA_VERSION, "createdAt": now}


def feedback_document(
    thread_id: str, step_id: str, value: int, comment: str | None, feedback_id: str
) -> Document:
    """A step's rating as its first write stores it."""
    now = utc_now()
    return {
        "threadId": thread_id,
        "forId": step_id,
        **rating_fields(value, comment, now),
        **first_rating_fields(feedback_id, now),
    }


class FeedbackStore:
    def __init__(self, collection: Any, threads_collection: str, users_collection: str) -> None:
        self.collection = collection
        self.threads_collection = threads_collection
        self.users_collection = users_collection

    async def upsert(
        self,
        thread_id: str,
        step_id: str,
        value: int,
        comment: str | None,
        new_id: str | None = None,
    ) -> str:
        """Store the rating of a step of a thread and return its id. A step's first rating
        creates its document (with `new_id` unless another feedback has that id, else a
        fresh id); any later one updates that document, whatever id the caller holds."""
        try:
            return await self._upsert(thread_id, step_id, value, comment, new_id or str(uuid4()))
        except MongoLayerError:
            if new_id is None:
                raise
            return await self._upsert(thread_id, step_id, value, comment, str(uuid4()))

    async def _upsert(
        self, thread_id: str, step_id: str, value: int, comment: str | None, new_id: str
    ) -> str:
        now = utc_now()
        update = {
            "$set": rating_fields(value, comment, now),
            "$setOnInsert": first_rating_fields(new_id, now),
        }
        stored = await find_one_and_upsert(
            self.collection,
            {"threadId": thread_id, "forId": step_id},
            update,
            f"feedback on step {step_id!r} of thread {thread_id!r}",
            projection={"_id": 1},
        )
        return str(stored["_id"])

    async def threads_of(self, feedback_ids: list[str]) -> dict[str, str]:
        """The thread of each of these feedback ids that is stored, in one command."""
        return await thread_ids_of(self.collection, feedback_ids)

    async def insert_many(self, documents: list[Document]) -> None:
        """Store first ratings (`feedback_document`), many per command. A rating whose id
        another feedback has, or whose step is rated already, goes through `upsert`."""
        if not documents:
            return
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            for index in duplicates_of(error):
                rating = documents[index]
                await self.upsert(
                    rating["threadId"],
                    rating["forId"],
                    rating["value"],
                    rating["comment"],
                    new_id=rating["_id"],
                )

    async def find_with_author(self, feedback_id: str) -> Document | None:
        """The feedback's thread id and `author` (the identifiers of that thread's user),
        or None when there is no such feedback, in one command."""
        found = await aggregate(
            self.collection,
            [
                {"$match": {"_id": feedback_id}},
                {"$limit": 1},
                with_thread_user_id(self.threads_collection, "threadId"),
                {"$unwind": {"path": "$thread", "preserveNullAndEmptyArrays": True}},
                {"$project": {"threadId": 1, "userId": "$thread.userId"}},
                *with_author_identifier(self.users_collection),
            ],
        )
        return found[0] if found else None

    async def delete(self, feedback_id: str) -> bool:
        """Delete a feedback knowing only its id. Its thread (the shard key) is unknown, so
        this is a multi-document delete, which a sharded cluster sends to every shard."""
        result = await self.collection.delete_many({"_id": feedback_id})
        return bool(result.deleted_count)

    async def delete_of_thread(self, feedback_id: str, thread_id: str | None) -> bool:
        result = await self.collection.delete_one({"_id": feedback_id, "threadId": thread_id})
        return bool(result.deleted_count)

    async def delete_for_step(self, thread_id: str, step_id: str) -> None:
        await self.collection.delete_many({"threadId": thread_id, "forId": step_id})

    async def delete_for_thread(self, thread_id: str) -> None:
        await self.collection.delete_many({"threadId": thread_id})
