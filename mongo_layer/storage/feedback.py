"""The feedback collection: one document per rated step, keyed by the step's thread and id.

A unique index on `(threadId, forId)` keeps one rating per step, and every single-document
write names `threadId` (the collection's shard key) by equality.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from pymongo.errors import BulkWriteError, OperationFailure

from ..errors import MongoLayerError
from ..retry import is_retryable
from ..times import utc_now
from .connection import (
    Document,
    aggregate,
    duplicates_of,
    find_one_and_upsert,
    primary_bound,
    thread_ids_of,
)
from .documents import SCHEMA_VERSION
from .overflow import overflow_id
from .step_versions import REMOVED
from .threads import with_author_identifier, with_thread_user_id

logger = logging.getLogger("mongo_layer")


@dataclass(frozen=True)
class CollectionNames:
    """The collections a rating reads besides its own."""

    threads: str
    users: str
    overflow: str


# What reaches `$merge` when the thread named cannot be rated in one command, or the
# stored rating is not the one named: `$replaceWith` refuses a value that is not a document,
# on MongoDB and SecantusDB alike, so the command fails having written nothing.
NOT_RATED_HERE = "not rated by this command"
# The namespace of the ids of ratings this release creates (`rating_id`).
RATING_IDS = UUID("5b3f0c2e-8d1a-4c57-9a66-2f4e1b7d9c03")


def rating_id(thread_id: str, step_id: str) -> str:
    """The id a step's first rating gets: a name-based UUID of the thread and step ids, so
    that first ratings racing each other all name the document the winner stored (see
    docs/decisions.md, "A rating in one command")."""
    return str(uuid5(RATING_IDS, json.dumps([thread_id, step_id])))


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


def document_or_refusal(condition: Any, document: Any) -> Document:
    """An expression: `document` when `condition` holds, else a value `$replaceWith`
    refuses."""
    return {"$cond": [condition, document, {"$literal": NOT_RATED_HERE}]}


def rateable_held_step(
    thread_id: str, step_id: str, user_identifier: str | None, names: CollectionNames
) -> list[Document]:
    """Stages on the threads collection leaving the thread `thread_id` when it holds the
    step, not deleted, among its own steps or in its overflow (looked up by the overflowed
    step's `_id` and, for a sharded cluster to target one shard, its `threadId`), and the
    user (None: anyone) may change it."""
    overflowed = {
        "_id": overflow_id(thread_id, step_id),
        "threadId": thread_id,
        f"step.{REMOVED}": {"$ne": True},
    }
    stages: list[Document] = [
        {"$match": {"_id": thread_id}},
        {
            "$lookup": {
                "from": names.overflow,
                "pipeline": [{"$match": overflowed}, {"$project": {"_id": 1}}],
                "as": "overflowed",
            }
        },
        {
            "$match": {
                "$or": [
                    {"steps": {"$elemMatch": {"id": step_id, REMOVED: {"$ne": True}}}},
                    {"overflowed": {"$ne": []}},
                ]
            }
        },
        {"$project": {"userId": 1}},
    ]
    if user_identifier is not None:
        stages += [
            *with_author_identifier(names.users),
            {"$match": {"author": user_identifier}},
        ]
    return stages


def merged_rating(feedback_collection: str, changes: Document, claimed_id: str | None) -> Document:
    """A `$merge` of one rating into the feedback collection that succeeds in one way only:
    with no `claimed_id`, by inserting it (the step has no rating yet); with one, by updating
    the step's rating when that is the document with this id."""
    merge: Document = {"into": feedback_collection, "on": ["threadId", "forId"]}
    if claimed_id is None:
        return {"$merge": merge | {"whenMatched": "fail", "whenNotMatched": "insert"}}
    is_claimed = {"$eq": ["$_id", {"$literal": claimed_id}]}
    updated = {"$mergeObjects": ["$$ROOT", {"$literal": changes}]}
    update = [{"$replaceWith": document_or_refusal(is_claimed, updated)}]
    return {"$merge": merge | {"whenMatched": update, "whenNotMatched": "fail"}}


class FeedbackStore:
    def __init__(self, collection: Any, names: CollectionNames) -> None:
        self.collection = collection
        self.names = names
        self.threads = primary_bound(collection.database[names.threads])

    async def rate_held_step(
        self,
        thread_id: str,
        step_id: str,
        value: int,
        comment: str | None,
        user_identifier: str | None,
        claimed_id: str | None,
    ) -> str | None:
        """Rate the step in one command, reading the thread and writing the rating together
        (an aggregation on the threads collection ending in `$merge`), when the thread holds
        the step (see `rateable_held_step`) and the user (None: anyone) may change it, and either
        the step has no rating yet (`claimed_id` None) or its rating has `claimed_id`.
        Returns the rating's id, or None, having written nothing, in any other case (the
        step is elsewhere or nowhere, another user's, rated under another id): `$merge`
        reports nothing, so every other outcome is made to fail the command."""
        new_id = rating_id(thread_id, step_id)
        rating = feedback_document(thread_id, step_id, value, comment, new_id)
        changes = rating_fields(value, comment, rating["updatedAt"])
        pipeline = [
            *rateable_held_step(thread_id, step_id, user_identifier, self.names),
            # One document whatever matched: `$merge` given none would succeed silently.
            {"$facet": {"rateable": [{"$project": {"_id": 1}}]}},
            {
                "$replaceWith": document_or_refusal(
                    {"$eq": [{"$size": "$rateable"}, 1]}, {"$literal": rating}
                )
            },
            merged_rating(self.collection.name, changes, claimed_id),
        ]
        try:
            await aggregate(self.threads, pipeline)
        except OperationFailure as error:
            if is_retryable(error):
                raise
            logger.debug(
                "step %r not rated in one command in thread %r: %s", step_id, thread_id, error
            )
            return None
        return claimed_id or new_id

    async def upsert(
        self,
        thread_id: str,
        step_id: str,
        value: int,
        comment: str | None,
        new_id: str | None = None,
    ) -> str:
        """Store the rating of a step of a thread and return its id. A step's first rating
        creates its document (with `new_id` unless another feedback has that id, else
        `rating_id`); any later one updates that document, whatever id the caller holds."""
        first_id = rating_id(thread_id, step_id)
        try:
            return await self._upsert(thread_id, step_id, value, comment, new_id or first_id)
        except MongoLayerError:
            if new_id is None:
                raise
            return await self._upsert(thread_id, step_id, value, comment, first_id)

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
                with_thread_user_id(self.names.threads, "threadId"),
                {"$unwind": {"path": "$thread", "preserveNullAndEmptyArrays": True}},
                {"$project": {"threadId": 1, "userId": "$thread.userId"}},
                *with_author_identifier(self.names.users),
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
