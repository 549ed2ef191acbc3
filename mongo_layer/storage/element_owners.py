"""Which thread an element id belongs to: one small document per element id.

An element id names one element of one thread; a write naming it from another thread is
refused. A unique index on the embedded `elements.id` would say so, but a sharded cluster
refuses a unique index that does not start with the shard key (`threads` is sharded on
`_id`). So the claim lives in its own collection, keyed by the element id, which is also its
shard key: `{_id: element id, threadId}`.
"""

from collections import OrderedDict
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from ..errors import ElementConflictError
from ..times import utc_now
from .connection import Document, duplicates_of, find_one_and_upsert, primary_bound, thread_ids_of
from .documents import SCHEMA_VERSION

# How many claims a layer remembers, sparing a rewrite of a known element its claim command.
REMEMBERED_CLAIMS = 4096
BACKFILL_BATCH = 1000


def claim_fields(thread_id: str) -> Document:
    return {"threadId": thread_id, "createdAt": utc_now(), "schemaVersion": SCHEMA_VERSION}


async def backfill_owners(threads: Any, owners: Any) -> None:
    """Claim, for their threads, the element ids stored before claims were kept (when a
    unique index on `elements.id` guarded them); existing claims stay. Idempotent."""
    batch: list[UpdateOne] = []
    async for thread in threads.find({"elements.0": {"$exists": True}}, {"elements.id": 1}):
        for element in thread.get("elements") or []:
            claim = {"$setOnInsert": claim_fields(thread["_id"])}
            batch.append(UpdateOne({"_id": element["id"]}, claim, upsert=True))
        if len(batch) >= BACKFILL_BATCH:
            await owners.bulk_write(batch, ordered=False)
            batch = []
    if batch:
        await owners.bulk_write(batch, ordered=False)


class ElementOwnerStore:
    def __init__(self, collection: Any) -> None:
        # An owner read must see the claim just written, whatever the app's read preference.
        self.collection = primary_bound(collection)
        self._owners: OrderedDict[str, str] = OrderedDict()

    async def claim(self, element_id: str, thread_id: str) -> None:
        """Make `thread_id` the owner of `element_id`, unless another thread owns it:
        ElementConflictError then. Two first claims racing end with one owner. One command
        the first time this layer meets the element id, none after."""
        if self._owners.get(element_id) == thread_id:
            self._owners.move_to_end(element_id)
            return
        claimed = await find_one_and_upsert(
            self.collection,
            {"_id": element_id},
            {"$setOnInsert": claim_fields(thread_id)},
            f"element {element_id!r}",
            projection={"threadId": 1},
        )
        if claimed.get("threadId") != thread_id:
            raise ElementConflictError(
                f"element {element_id!r} belongs to another thread than {thread_id!r}"
            )
        self._remember(element_id, thread_id)

    async def claim_many(self, claims: dict[str, str]) -> dict[str, str]:
        """Make each thread of `claims` (element id to thread id) the owner of its element
        id unless another thread owns it, in two commands for all of them. Returns the
        element ids owned by another thread, with that thread's id."""
        if not claims:
            return {}
        writes = [
            UpdateOne({"_id": element_id}, {"$setOnInsert": claim_fields(thread_id)}, upsert=True)
            for element_id, thread_id in claims.items()
        ]
        try:
            await self.collection.bulk_write(writes, ordered=False)
        except BulkWriteError as error:
            duplicates_of(error)  # two first claims raced: the owners are read below
        found = await self.collection.find({"_id": {"$in": list(claims)}}, {"threadId": 1}).to_list(
            None
        )
        conflicts: dict[str, str] = {}
        for claim in found:
            element_id, owner = claim["_id"], claim.get("threadId")
            if owner == claims[element_id]:
                self._remember(element_id, owner)
            else:
                conflicts[element_id] = str(owner)
        return conflicts

    async def owner_of(self, element_id: str) -> str | None:
        """The id of the thread owning the element id, or None when none does."""
        if element_id in self._owners:
            return self._owners[element_id]
        found = await self.collection.find_one({"_id": element_id}, {"threadId": 1})
        return str(found["threadId"]) if found else None

    async def owners_of(self, element_ids: list[str]) -> dict[str, str]:
        """The owning thread of each of these element ids that has one, in one command."""
        return await thread_ids_of(self.collection, element_ids)

    async def release(self, element_ids: list[str]) -> None:
        """Forget the owners of these element ids (their thread is gone)."""
        for element_id in element_ids:
            self._owners.pop(element_id, None)
        if element_ids:
            await self.collection.delete_many({"_id": {"$in": element_ids}})

    async def release_thread(self, thread_id: str) -> None:
        """Forget the owner of every element id this thread holds (the thread is gone, and
        which element ids it had is not known)."""
        for element_id in [e for e, owner in self._owners.items() if owner == thread_id]:
            del self._owners[element_id]
        await self.collection.delete_many({"threadId": thread_id})

    def _remember(self, element_id: str, thread_id: str) -> None:
        self._owners[element_id] = thread_id
        self._owners.move_to_end(element_id)
        while len(self._owners) > REMEMBERED_CLAIMS:
            self._owners.popitem(last=False)
