"""The feedback collection: one document per rated step, carrying the step's thread id."""

from typing import Any
from uuid import uuid4

from .connection import Document, find_one_and_upsert
from .documents import SCHEMA_VERSION
from .times import utc_now


class FeedbackStore:
    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def upsert(
        self,
        feedback_id: str | None,
        step_id: str,
        thread_id: str | None,
        value: int,
        comment: str | None,
    ) -> str:
        """Store the rating of a step and return its id. Without an id, the step's existing
        feedback (if any) is updated, so a step never carries two ratings."""
        query: Document = {"_id": feedback_id} if feedback_id else {"forId": step_id}
        changes: Document = {"forId": step_id, "value": value, "comment": comment}
        if thread_id is not None:
            changes["threadId"] = thread_id
        changes["updatedAt"] = utc_now()
        update = {
            "$set": changes,
            "$setOnInsert": {"schemaVersion": SCHEMA_VERSION, "createdAt": utc_now()}
            | ({} if feedback_id else {"_id": str(uuid4())}),
        }
        stored = await find_one_and_upsert(
            self.collection, query, update, f"feedback on step {step_id!r}", projection={"_id": 1}
        )
        return str(stored["_id"])

    async def delete(self, feedback_id: str) -> bool:
        result = await self.collection.delete_one({"_id": feedback_id})
        return bool(result.deleted_count)

    async def delete_for_step(self, step_id: str) -> None:
        await self.collection.delete_many({"forId": step_id})

    async def delete_for_thread(self, thread_id: str) -> None:
        await self.collection.delete_many({"threadId": thread_id})
