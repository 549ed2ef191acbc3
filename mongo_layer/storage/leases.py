"""The leases collection: which process runs a periodic job, and when it is next due.

One document per job (`_id` = the job's name) says who holds it until when (`heldUntil`),
and when the job is next due (`nextRunAt`). A process takes the job with one
findAndModify that matches only a due job nobody holds, so among processes sharing a database
exactly one wins; a holder that dies frees the job when its hold expires.
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from .connection import Document


def not_after(moment: datetime) -> Document:
    """A field unset or at most `moment`: a job never run, or never held, is free."""
    return {"$not": {"$gt": moment}}


class LeaseStore:
    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def take_if_due(
        self, job: str, holder: str, now: datetime, hold: timedelta
    ) -> Document | None:
        """Hold `job` for `holder` until `now + hold` if it is due and nobody holds it;
        returns the lease as taken, or None when another process holds the job or it is
        not due. A job never run is due."""
        query = {"_id": job, "nextRunAt": not_after(now), "heldUntil": not_after(now)}
        update = {"$set": {"holder": holder, "heldUntil": now + hold, "takenAt": now}}
        try:
            lease: Document | None = await self.collection.find_one_and_update(
                query, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            # The job's document exists and did not match: held, or not due.
            return None
        return lease

    async def extend(self, job: str, holder: str, until: datetime) -> bool:
        """Hold `job` longer, if `holder` still holds it; returns whether it does."""
        result = await self.collection.update_one(
            {"_id": job, "holder": holder}, {"$set": {"heldUntil": until}}
        )
        return bool(result.matched_count)

    async def finish(self, job: str, holder: str, now: datetime, next_run_at: datetime) -> bool:
        """Record the run of `job` done by `holder`, free it and make it due at
        `next_run_at`; returns False, writing nothing, when `holder` lost the job meanwhile."""
        result = await self.collection.update_one(
            {"_id": job, "holder": holder},
            {"$set": {"heldUntil": now, "nextRunAt": next_run_at, "lastRunBy": holder}},
        )
        return bool(result.matched_count)

    async def release(self, job: str, holder: str, now: datetime) -> None:
        """Free `job` at once if `holder` holds it (a run that stopped before finishing):
        it stays due, for another process to run."""
        await self.collection.update_one(
            {"_id": job, "holder": holder, "heldUntil": {"$gt": now}},
            {"$set": {"heldUntil": now}},
        )
