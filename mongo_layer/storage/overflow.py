"""Overflow storage for threads that outgrow their document.

A thread document holds its steps until it reaches the size budget
(`MongoLayerSettings.thread_document_budget_bytes`). From then on the thread is marked
`overflow: true` and each further step lives in a document of its own in this collection,
keyed by thread and step id, so no document ever approaches MongoDB's 16 MB limit.
"""

from datetime import datetime, timedelta
from typing import Any

from ..times import utc_now
from .connection import Document
from .documents import SCHEMA_VERSION
from .large_fields import FILE_ID_FIELDS
from .step_versions import REMOVED
from .threads import with_thread_user_id


def overflow_id(thread_id: str, step_id: str) -> str:
    """A string key, unambiguous for any two ids: a document-valued _id would make some
    servers (SecantusDB) scan the collection on every upsert."""
    return f"{len(thread_id)}:{thread_id}:{step_id}"


def overflowed_step_document(thread_id: str, step: Document, arrived_at: datetime) -> Document:
    """An overflowed step as its first write stores it (see `OverflowStore.upsert_step`)."""
    return {
        "_id": overflow_id(thread_id, step["id"]),
        "threadId": thread_id,
        "schemaVersion": SCHEMA_VERSION,
        "arrivedAt": arrived_at,
        "step": step,
    }


class OverflowStore:
    """One document per overflowed step: `{_id: "<len>:<thread>:<step>", threadId, step}`."""

    def __init__(self, collection: Any, threads_collection: str) -> None:
        self.collection = collection
        self.threads_collection = threads_collection

    async def upsert_step(
        self, thread_id: str, step: Document, merged_step: Document, previous: bool = False
    ) -> Document | None:
        """Insert `step`, or replace the stored step by `merged_step` (an expression on it
        as `$$item`), the same rule as for embedded steps. With `previous`, returns the
        step as it was before (None when new)."""
        query = {"_id": overflow_id(thread_id, step["id"]), "threadId": thread_id}
        pipeline = [
            {
                "$addFields": {
                    "threadId": {"$literal": thread_id},
                    "schemaVersion": SCHEMA_VERSION,
                    "arrivedAt": {"$ifNull": ["$arrivedAt", {"$literal": utc_now()}]},
                    "step": {
                        "$let": {
                            "vars": {"item": {"$ifNull": ["$step", {"$literal": step}]}},
                            "in": merged_step,
                        }
                    },
                }
            }
        ]
        if not previous:
            await self.collection.update_one(query, pipeline, upsert=True)
            return None
        found = await self.collection.find_one_and_update(
            query, pipeline, projection={"step": 1}, upsert=True
        )
        return found["step"] if found else None

    async def insert_steps(self, thread_id: str, steps: list[Document]) -> None:
        """Store steps of a thread written whole, in the order given (their `arrivedAt` a
        millisecond apart, as reads order equal creation times by arrival), many per
        command. Their thread document is stored already, so no step of it is here yet."""
        if not steps:
            return
        first = utc_now()
        await self.collection.insert_many(
            [
                overflowed_step_document(thread_id, step, first + timedelta(milliseconds=n))
                for n, step in enumerate(steps)
            ]
        )

    async def steps_of_thread(self, thread_id: str) -> list[Document]:
        """The thread's overflowed steps in the order they first reached the database, so
        that steps with equal creation times keep their arrival order, as embedded ones do."""
        cursor = self.collection.find(
            {"threadId": thread_id, f"step.{REMOVED}": {"$ne": True}}, {"step": 1}
        )
        found = await cursor.sort([("arrivedAt", 1), ("_id", 1)]).to_list(None)
        return [document["step"] for document in found]

    async def delete_step(self, thread_id: str, step_id: str) -> Document | None:
        """Delete an overflowed step; returns it as it was, or None."""
        found = await self.collection.find_one_and_delete(
            {"_id": overflow_id(thread_id, step_id), "threadId": thread_id},
            projection={"step": 1},
        )
        return found["step"] if found else None

    async def delete_for_thread(self, thread_id: str) -> None:
        await self.collection.delete_many({"threadId": thread_id})

    def favorite_steps_union(self, user_id: str) -> Document:
        """A `$unionWith` adding the user's overflowed favorite steps, each as
        `{"_id": thread id, "step": ...}`, to a query on the threads collection."""
        stages: list[Document] = [
            {"$match": {"step.metadata.favorite": True}},
            with_thread_user_id(self.threads_collection, "threadId"),
            {"$match": {"thread.userId": user_id}},
            {"$project": {"_id": "$threadId", "step": 1}},
        ]
        return {"$unionWith": {"coll": self.collection.name, "pipeline": stages}}

    def threads_holding_step_union(self, step_id: str) -> Document:
        """A `$unionWith` adding, to a query on the threads collection, the threads whose
        overflow holds the step, each as `{"_id": thread id, "userId": ...}`."""
        stages: list[Document] = [
            {"$match": {"step.id": step_id, f"step.{REMOVED}": {"$ne": True}}},
            with_thread_user_id(self.threads_collection, "threadId"),
            {"$unwind": "$thread"},
            {"$project": {"_id": "$threadId", "userId": "$thread.userId"}},
        ]
        return {"$unionWith": {"coll": self.collection.name, "pipeline": stages}}

    async def file_references(self, thread_ids: list[str]) -> list[Any]:
        """The GridFS ids that overflowed steps of these threads point to."""
        projection = {f"step.{field}": 1 for field in FILE_ID_FIELDS}
        found = await self.collection.find({"threadId": {"$in": thread_ids}}, projection).to_list(
            None
        )
        return [
            document["step"][field]
            for document in found
            for field in FILE_ID_FIELDS
            if document.get("step", {}).get(field) is not None
        ]
