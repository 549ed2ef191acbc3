"""The threads collection: one document per conversation, with its steps and elements embedded."""

import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DocumentTooLarge, DuplicateKeyError, OperationFailure

from ..errors import InvalidInputError, MongoLayerError, Naming, ThreadTooLargeError, named
from ..ids import without_lone_surrogates
from ..telemetry import record_thread_overflowed
from ..times import utc_now
from .connection import Document, aggregate, duplicates_of, primary_bound
from .documents import SCHEMA_VERSION
from .keys import MAX_VALUE_NESTING, escape_storable_keys
from .large_fields import FILE_ID_FIELDS
from .step_versions import REMOVED

# The thread document's running size: the bytes the layer's writes put into it (see
# `stored_size`), kept with `$inc` so a step write need not measure the whole document.
SIZE = "size"
# What an item adds to an array beyond its own BSON: type byte, index as a key, its NUL.
ARRAY_ITEM_BYTES = 8
# Server error codes meaning "the document would exceed the BSON size limit".
logger = logging.getLogger("mongo_layer")

DOCUMENT_TOO_LARGE_CODES = frozenset({10334, 17419, 17420, 13548})
# How stale the last activity of a thread past its budget may be (see record_activity).
ACTIVITY_RESOLUTION = timedelta(seconds=1)
# The sidebar lists a user's threads by last activity (`updatedAt`), newest first.
SIDEBAR_SORT = {"updatedAt": -1, "_id": -1}
# What a sidebar page leaves out: the conversation itself and the storage bookkeeping.
SIDEBAR_OMITS = {"steps": 0, "elements": 0, "overflow": 0, "overflowStartedBy": 0}


def thread_filter_for_user(user_id: str) -> Document:
    return {"userId": user_id}


def search_text(search: object, max_length: int) -> str:
    """The part of a sidebar search MongoDB can match: cut to `max_length`, without NUL
    bytes (MongoDB refuses a regex holding one) or lone surrogates (not UTF-8)."""
    if not isinstance(search, str):
        return ""
    return without_lone_surrogates(search[:max_length].replace("\x00", ""))


def search_filter(search: str) -> Document:
    """Threads whose name or message text contains `search`, case-insensitive and literally."""
    pattern = {"$regex": re.escape(search), "$options": "i"}
    return {"$or": [{"name": pattern}, {"steps.output": pattern}, {"steps.input": pattern}]}


def after_cursor_filter(updated_at: Any, thread_id: str) -> Document:
    """Threads after the cursor in sidebar order; the id breaks ties between equal times."""
    return {
        "$or": [
            {"updatedAt": {"$lt": updated_at}},
            {"updatedAt": updated_at, "_id": {"$lt": thread_id}},
        ]
    }


def last_activity(activity_at: datetime | None) -> Document:
    """The thread's `updatedAt` after a write: the later of the stored value and
    `activity_at` (so racing writes never move it back), or just kept when the write is
    no activity. A thread created by the write starts with the write's time."""
    if activity_at is None:
        return {"$ifNull": ["$updatedAt", {"$literal": utc_now()}]}
    return {"$max": ["$updatedAt", {"$literal": activity_at}]}


def stored_size(item: Document | RawBSONDocument) -> int:
    """What storing `item` adds to a thread document's running size (`SIZE`): its BSON
    size as an array item. A whole thread document counts the same way, so a writer of
    whole documents (import, migration) sets `SIZE` to `stored_size(document)`."""
    if isinstance(item, RawBSONDocument):
        return len(item.raw) + ARRAY_ITEM_BYTES
    return bson_size(item) + ARRAY_ITEM_BYTES


def largest_size_taking(item_size: int, budget_bytes: int) -> int:
    """The largest running size a thread document may have to take, embedded, an item of
    `item_size` (its `stored_size`) within `budget_bytes`: the one rule deciding whether a
    new step is embedded or overflowed, for the live write and the whole-thread write."""
    return budget_bytes - item_size


def whole_thread_document(
    thread_id: str,
    fields: Document,
    steps: list[Document],
    elements: list[Document],
    budget_bytes: int,
) -> tuple[Document, list[Document]]:
    """A thread written whole, as the live writes would have left it: its steps embedded,
    in order, as long as each fits the budget (from the first that does not, every later
    step overflows), then its elements, which mark the document full when they take it
    past the budget. Returns the document and the steps that belong in overflow."""
    document: Document = {
        "_id": thread_id,
        "schemaVersion": SCHEMA_VERSION,
        **fields,
        "steps": [],
        "elements": [],
    }
    running = stored_size(document)
    overflowed: list[Document] = []
    for step in steps:
        size = stored_size(step)
        if overflowed or running > largest_size_taking(size, budget_bytes):
            overflowed.append(step)
        else:
            document["steps"].append(step)
            running += size
    document["elements"] = elements
    if overflowed:
        document["overflowStartedBy"] = overflowed[0]["id"]
    if overflowed or elements:
        # As a thread's element write leaves it: marked full or not.
        document["overflow"] = bool(overflowed) or bson_size(document) > budget_bytes
    document[SIZE] = stored_size(document)
    return document, overflowed


def measured_size() -> Document:
    """An expression: the running size of the document being written, measured whole."""
    return {"$bsonSize": "$$ROOT"}


def backfilled_activity() -> Document:
    """For a thread stored before the layer kept `updatedAt`: the latest of its creation
    and its embedded steps' creation."""
    step_times = {"$map": {"input": {"$ifNull": ["$steps", []]}, "as": "s", "in": "$$s.createdAt"}}
    return {"$ifNull": [{"$max": ["$createdAt", {"$max": step_times}]}, "$createdAt"]}


def with_author_identifier(users_collection: str) -> list[Document]:
    """Stages adding `author`: the identifiers of the thread's user (zero or one)."""
    return [
        {
            "$lookup": {
                "from": users_collection,
                "localField": "userId",
                "foreignField": "_id",
                "as": "author",
            }
        },
        {
            "$addFields": {
                "author": {"$map": {"input": "$author", "as": "a", "in": "$$a.identifier"}}
            }
        },
    ]


def with_thread_user_id(threads_collection: str, thread_id_field: str) -> Document:
    """A stage adding `thread`: `[{_id, userId}]` of the thread `thread_id_field` names, or
    `[]` when there is no such thread."""
    return {
        "$lookup": {
            "from": threads_collection,
            "localField": thread_id_field,
            "foreignField": "_id",
            "pipeline": [{"$project": {"userId": 1}}],
            "as": "thread",
        }
    }


def merged_with(stored: Any, changes: Document) -> Document:
    """An expression merging `changes` into the `stored` item, the changes winning."""
    return {"$mergeObjects": [stored, {"$literal": changes}]}


def without_elements_of_step(step_id: str) -> Document:
    """The thread's elements less those attached to the step."""
    return {
        "$filter": {
            "input": "$elements",
            "as": "element",
            "cond": {"$ne": ["$$element.forId", {"$literal": step_id}]},
        }
    }


def merge_by_id_pipeline(
    array: str,
    item: Document,
    merged_item: Document,
    budget_bytes: int | None = None,
    activity_at: datetime | None = None,
    also: Document | None = None,
) -> list[Document]:
    """An update pipeline that replaces the item of `array` with the same id by
    `merged_item` (an expression on it as `$$item`), or appends `item`, creating the thread
    document when it does not exist yet. With `activity_at`, the write is activity: the
    thread's `updatedAt` becomes at least that. `also` sets more fields of the thread.

    With `budget_bytes`, a new item that would take the document past that size is not
    appended: the document is marked `overflow: true` instead, for good."""
    item_id = {"$literal": item["id"]}
    merged = {
        "$map": {
            "input": "$$items",
            "as": "item",
            "in": {"$cond": [{"$eq": ["$$item.id", item_id]}, merged_item, "$$item"]},
        }
    }
    is_stored = {"$in": [item_id, {"$map": {"input": "$$items", "as": "item", "in": "$$item.id"}}]}
    appended: Document = {"$concatArrays": ["$$items", {"$literal": [item]}]}
    in_items = {"vars": {"items": f"${array}"}}
    overflow: Document = {}
    if budget_bytes is not None:
        already_full = {"$eq": ["$overflow", True]}
        too_big = {"$gt": [{"$add": [{"$bsonSize": "$$ROOT"}, bson_size(item)]}, budget_bytes]}
        full = {"$or": [already_full, too_big]}
        appended = {"$cond": [full, "$$items", appended]}
        is_new = {"$not": [is_stored]}
        new_and_full = {"$let": in_items | {"in": {"$and": [is_new, full]}}}
        fills_it = {
            "$let": in_items | {"in": {"$and": [{"$not": [already_full]}, is_new, too_big]}}
        }
        overflow = {
            "overflow": {"$or": [already_full, new_and_full]},
            # The step that found the document full: the one write that is told "not
            # embedded" by an `overflow: true` it set itself (see ThreadStore.upsert_step).
            "overflowStartedBy": {
                "$cond": [fills_it, item_id, {"$ifNull": ["$overflowStartedBy", None]}]
            },
        }
    return [
        {
            "$addFields": {
                "schemaVersion": {"$ifNull": ["$schemaVersion", SCHEMA_VERSION]},
                "createdAt": {"$ifNull": ["$createdAt", {"$literal": utc_now()}]},
                "steps": {"$ifNull": ["$steps", []]},
                "elements": {"$ifNull": ["$elements", []]},
                "updatedAt": last_activity(activity_at),
            }
        },
        {
            "$addFields": {
                array: {"$let": in_items | {"in": {"$cond": [is_stored, merged, appended]}}},
                **overflow,
                **(also or {}),
            }
        },
        # The pipeline measures the document anyway: its running size is reset to the truth.
        {"$addFields": {SIZE: measured_size()}},
    ]


async def backfill_activity(collection: Any) -> None:
    """Give `updatedAt` to the threads stored before the layer kept it; idempotent."""
    await collection.update_many(
        {"updatedAt": {"$exists": False}}, [{"$addFields": {"updatedAt": backfilled_activity()}}]
    )


async def backfill_size(collection: Any) -> None:
    """Give the running size to the threads stored before the layer kept it; idempotent."""
    await collection.update_many(
        {SIZE: {"$exists": False}}, [{"$addFields": {SIZE: measured_size()}}]
    )


def past(budget_bytes: int) -> Document:
    """Whether the document being written is larger than `budget_bytes`."""
    return {"$gt": [{"$bsonSize": "$$ROOT"}, budget_bytes]}


def bson_size(document: Document) -> int:
    return len(bson.encode(document))


def warn_left_out(thread_id: str, left_out: int) -> None:
    """One warning naming the thread when `upsert_thread` left metadata entries out."""
    if left_out:
        logger.warning(
            "thread %r: left out %d metadata entries MongoDB cannot store (a key holding"
            " NUL, text that is not UTF-8, an integer past 64 bits or nesting past %d"
            " levels)",
            thread_id,
            left_out,
            MAX_VALUE_NESTING,
        )


def refuse_oversized_element(document: Document, thread_id: str, max_element_bytes: int) -> None:
    """Raises InvalidInputError when the element's stored metadata (props included) takes
    more than `max_element_bytes`."""
    size = bson_size(document)
    if size > max_element_bytes:
        raise InvalidInputError(
            f"element {document['id']!r} of thread {thread_id!r} takes {size} bytes once"
            f" stored (its props included); an element may take"
            f" {max_element_bytes} (max_element_bytes)"
        )


def _step(step_id: str) -> str:
    return f"step {step_id!r}"


def is_too_large(error: Exception) -> bool:
    if isinstance(error, DocumentTooLarge):
        return True
    return isinstance(error, OperationFailure) and error.code in DOCUMENT_TOO_LARGE_CODES


def thread_too_large(thread_id: str, what: Naming) -> ThreadTooLargeError:
    """The error for a write of `what` the server refused as too large a document."""
    return ThreadTooLargeError(
        f"writing {named(what)} would take thread {thread_id!r} past the 16 MB document limit"
    )


@contextmanager
def named_if_too_large(thread_id: str, what: str) -> Iterator[None]:
    """Turn the server's "document too large" into ThreadTooLargeError naming the write."""
    try:
        yield
    except (DocumentTooLarge, OperationFailure) as error:
        if not is_too_large(error):
            raise
        raise thread_too_large(thread_id, what) from error


class ThreadStore:
    """Verbs on the threads collection; each is one MongoDB command."""

    def __init__(self, collection: Any, users_collection: str, feedback_collection: str) -> None:
        self.collection = collection
        # Reads that must see the layer's own last write (which steps a full thread holds,
        # which thread holds a step) go to the primary, whatever the app's read preference.
        self.primary = primary_bound(collection)
        self.users_collection = users_collection
        self.feedback_collection = feedback_collection

    async def upsert_thread(
        self,
        thread_id: str,
        name: str | None,
        user_id: str | None,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
    ) -> int:
        """Create the thread or change only the fields given. Metadata is merged key by key
        (None removes a key); what of it MongoDB cannot store is left out (see
        `escape_storable_keys`, and an empty key), and the count of entries left out is
        returned. Only a change of name, user or tags bumps `updatedAt`.

        A call naming nothing but the thread creates it. A metadata-only call never does:
        Chainlit makes one on every disconnect, including the disconnect that follows
        deleting the thread."""
        now = utc_now()
        changes: Document = {}
        removals: Document = {}
        if name is not None:
            changes["name"] = name
        if user_id is not None:
            changes["userId"] = user_id
        if tags is not None:
            changes["tags"] = list(tags)
        creates_thread = bool(changes) or metadata is None
        if changes:
            changes["updatedAt"] = now
        stored_metadata, left_out = escape_storable_keys(metadata or {})
        for key, value in stored_metadata.items():
            if not key:
                left_out += 1
                continue
            if value is None:
                removals["metadata." + key] = ""
            else:
                changes["metadata." + key] = value
        created: Document = {
            "createdAt": now,
            "schemaVersion": SCHEMA_VERSION,
            "steps": [],
            "elements": [],
        }
        # A thread's own fields count once, as created: metadata is written back on every
        # disconnect, and adding it each time would make the running size meaningless.
        created[SIZE] = stored_size({"_id": thread_id, **created, **changes})
        update: Document = {"$setOnInsert": created}
        if changes:
            update["$set"] = changes
        if removals:
            update["$unset"] = removals
        await self.collection.update_one({"_id": thread_id}, update, upsert=creates_thread)
        return left_out

    async def restore_fields(self, thread_id: str, fields: Document) -> None:
        """Set the thread's own fields as given (its creation time included), creating the
        thread when it does not exist."""
        created: Document = {"schemaVersion": SCHEMA_VERSION, "steps": [], "elements": []}
        created[SIZE] = stored_size({"_id": thread_id, **created, **fields})
        await self.collection.update_one(
            {"_id": thread_id}, {"$set": fields, "$setOnInsert": created}, upsert=True
        )

    async def stored_ids(self, thread_ids: list[str]) -> set[str]:
        """Which of these threads are stored, in one command."""
        found = await self.primary.find({"_id": {"$in": thread_ids}}, {"_id": 1}).to_list(None)
        return {document["_id"] for document in found}

    async def insert_whole(self, documents: list[Document]) -> set[str]:
        """Insert thread documents written whole (`whole_thread_document`), many per
        command. Returns the ids of those already stored, which are left as they were."""
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            return {documents[index]["_id"] for index in duplicates_of(error)}
        return set()

    async def append_step(
        self,
        thread_id: str,
        step_id: str,
        step: RawBSONDocument,
        budget_bytes: int,
        activity_at: datetime,
    ) -> bool:
        """Append a step the thread does not hold (`step`: as stored, encoded once, so that
        its size and the command share one encoding), creating the thread when needed, in one
        command of update operators. Returns False, writing nothing, when the thread holds the
        step already (or its deletion), is full, or might be by its running size: the merge
        pipeline decides those (`upsert_step`)."""
        size = stored_size(step)
        query = {
            "_id": thread_id,
            "steps.id": {"$ne": step_id},
            "overflow": {"$ne": True},
            SIZE: {"$lte": largest_size_taking(size, budget_bytes)},
        }
        update = {
            "$push": {"steps": step},
            "$inc": {SIZE: size},
            "$max": {"updatedAt": activity_at},
            "$setOnInsert": {
                "createdAt": utc_now(),
                "schemaVersion": SCHEMA_VERSION,
                "elements": [],
            },
        }
        # Where the query matches no document the upsert collides with the thread's _id,
        # which costs the server little. (No `named_if_too_large` on this path, nor on
        # `update_embedded_step`: the write behind every message spares its context manager.)
        try:
            result = await self.collection.update_one(query, update, upsert=True)
        except DuplicateKeyError:
            return False
        except (DocumentTooLarge, OperationFailure) as error:
            if is_too_large(error):
                raise thread_too_large(thread_id, functools.partial(_step, step_id)) from error
            raise
        return bool(result.matched_count or result.upserted_id is not None)

    async def update_embedded_step(
        self, thread_id: str, step_id: str, newer_than_stored: Document, update: Document
    ) -> bool:
        """Apply `update` (update operators on `steps.$`) to the step embedded in the
        thread, if it matches `newer_than_stored`, in one command. Returns False, writing
        nothing, when the thread document holds no such step."""
        query = {"_id": thread_id, "steps": {"$elemMatch": newer_than_stored}}
        try:
            result = await self.collection.update_one(query, update)
        except (DocumentTooLarge, OperationFailure) as error:
            if is_too_large(error):
                raise thread_too_large(thread_id, functools.partial(_step, step_id)) from error
            raise
        return bool(result.matched_count)

    async def upsert_step(
        self,
        thread_id: str,
        step: Document,
        merged_step: Document,
        budget_bytes: int,
        activity_at: datetime | None,
        also: Document | None = None,
    ) -> bool:
        """Insert `step` into its thread, or replace the stored step by `merged_step` (an
        expression on it as `$$item`), moving the thread's last activity to `activity_at`
        when given. Returns False, storing nothing, when the step is new and the thread
        document is full: the step then belongs in overflow."""
        pipeline = merge_by_id_pipeline("steps", step, merged_step, budget_bytes, activity_at, also)
        # A full thread document matches only for steps it already holds; for any other
        # step the upsert collides with the existing _id, which costs the server little
        # where evaluating the pipeline would rewrite a document at its budget. So when the
        # conditional write applies, the step is embedded unless this very write found the
        # document full (`overflowStartedBy`), and no step needs to come back. A collision
        # can also be two first writes racing to create the thread, so after one the
        # pipeline runs on the thread whatever its state and decides (and marks) for good,
        # returning the step if it holds it.
        step_id = step["id"]
        embedded_or_room_left = {"$or": [{"overflow": {"$ne": True}}, {"steps.id": step_id}]}
        attempts: list[tuple[Document | None, Document]] = [
            (embedded_or_room_left, {"overflow": 1, "overflowStartedBy": 1}),
            (None, {"steps": {"$elemMatch": {"id": step_id}}, "_id": 1}),
        ]
        for condition, projection in attempts:
            try:
                after = await self._update_thread_document(
                    thread_id,
                    pipeline,
                    f"step {step_id!r}",
                    projection=projection,
                    return_document=ReturnDocument.AFTER,
                    condition=condition,
                )
            except DuplicateKeyError:
                continue
            if after is None:
                # SecantusDB answers some racing first writes with no document where MongoDB
                # raises a duplicate key error: treat it as that collision.
                continue
            if condition is not None:
                started_overflow = (
                    after.get("overflow") and after.get("overflowStartedBy") == step_id
                )
                if started_overflow:
                    record_thread_overflowed()
                return not started_overflow
            return bool(after.get("steps"))
        raise MongoLayerError(
            f"thread {thread_id!r} could not take step {step['id']!r}: its document kept"
            " colliding on creation"
        )

    async def record_activity(self, thread_id: str, activity_at: datetime) -> None:
        """Move the thread's last activity to `activity_at` unless it is at most
        `ACTIVITY_RESOLUTION` earlier already: this is the write of an overflowed step, and
        the thread document it rewrites is at its budget, so a burst of steps rewrites it
        once per second, not once per step."""
        recent = activity_at - ACTIVITY_RESOLUTION
        await self.collection.update_one(
            {"_id": thread_id, "updatedAt": {"$not": {"$gte": recent}}},
            {"$max": {"updatedAt": activity_at}},
        )

    async def upsert_element(
        self, thread_id: str, element: Document, budget_bytes: int
    ) -> Document | None:
        """Insert or merge one element's metadata (its id is claimed for this thread first,
        see element_owners.py). Returns the element as it was stored before (None when
        new), so that a file the previous version pointed to can be deleted.

        Elements count against the thread document's budget like steps: one that takes the
        document past `budget_bytes` is stored, and the document is marked full, so the
        thread's later steps go to overflow."""
        pipeline = [
            *merge_by_id_pipeline("elements", element, merged_with("$$item", element)),
            {
                "$addFields": {
                    "overflow": {"$or": [{"$eq": ["$overflow", True]}, past(budget_bytes)]}
                }
            },
        ]
        projection = {"elements": {"$elemMatch": {"id": element["id"]}}}
        what = f"element {element['id']!r}"
        for _ in range(2):
            try:
                before = await self._update_thread_document(thread_id, pipeline, what, projection)
            except DuplicateKeyError:
                # Two first writes raced to create the thread.
                continue
            previous = (before or {}).get("elements") or []
            return previous[0] if previous else None
        raise MongoLayerError(
            f"thread {thread_id!r} could not take {what}: its document kept colliding on creation"
        )

    async def _update_thread_document(
        self,
        thread_id: str,
        pipeline: list[Document],
        what: str,
        projection: Document | None = None,
        return_document: bool = ReturnDocument.BEFORE,
        condition: Document | None = None,
    ) -> Document | None:
        """Apply `pipeline` to the thread, creating it if needed. With `projection`, returns
        those fields of the document as they were before (or after) the write. A
        `condition` narrows which existing document the write applies to."""
        query = {"_id": thread_id} | (condition or {})
        with named_if_too_large(thread_id, what):
            if projection is None:
                await self.collection.update_one(query, pipeline, upsert=True)
                return None
            found: Document | None = await self.collection.find_one_and_update(
                query,
                pipeline,
                projection=projection,
                upsert=True,
                return_document=return_document,
            )
            return found

    async def remove_embedded_step(
        self, thread_id: str, step_id: str, removed_step: Document
    ) -> Document | None:
        """Replace the step embedded in the thread by `removed_step` (an expression on it as
        `$$item`) and remove the elements attached to it. Returns the thread's elements and
        the step as they were, or None when the thread document does not hold the step."""
        found: Document | None = await self.collection.find_one_and_update(
            {"_id": thread_id, "steps.id": step_id},
            merge_by_id_pipeline(
                "steps",
                {"id": step_id},
                removed_step,
                also={"elements": without_elements_of_step(step_id)},
            ),
            projection={"elements": 1, "steps": {"$elemMatch": {"id": step_id}}},
        )
        return found

    async def remove_element(self, element_id: str, thread_id: str) -> Document | None:
        """Remove one element's metadata from its thread; returns it as it was, or None when
        the thread does not hold it."""
        found: Document | None = await self.collection.find_one_and_update(
            {"_id": thread_id, "elements.id": element_id},
            {"$pull": {"elements": {"id": element_id}}},
            projection={"elements": {"$elemMatch": {"id": element_id}}},
        )
        if not found or not found.get("elements"):
            return None
        element: Document = found["elements"][0]
        return element

    async def find_element(self, thread_id: str, element_id: str) -> Document | None:
        found = await self.collection.find_one(
            {"_id": thread_id, "elements.id": element_id},
            {"elements": {"$elemMatch": {"id": element_id}}},
        )
        if not found or not found.get("elements"):
            return None
        element: Document = found["elements"][0]
        return element

    async def find_thread(self, thread_id: str) -> Document | None:
        """The whole thread document plus `author` (the user's identifier, in a list) and
        `feedback` (the feedback documents of its steps), in one command.

        The feedback comes as documents of their own after the thread's (`$unionWith`), not
        inside it: a thread document near MongoDB's 16 MB limit plus its feedback could not
        be returned as one document."""
        documents = await aggregate(
            self.collection,
            [
                {"$match": {"_id": thread_id}},
                *with_author_identifier(self.users_collection),
                {
                    "$unionWith": {
                        "coll": self.feedback_collection,
                        "pipeline": [
                            {"$match": {"threadId": thread_id}},
                            {"$project": {"_id": 0, "feedbackOfThread": "$$ROOT"}},
                        ],
                    }
                },
            ],
        )
        threads = [document for document in documents if "feedbackOfThread" not in document]
        if not threads:
            return None
        feedback = [d["feedbackOfThread"] for d in documents if "feedbackOfThread" in d]
        return threads[0] | {"feedback": feedback}

    async def find_author(self, thread_id: str) -> Document | None:
        """The thread's user id and identifier, reading nothing else of the thread."""
        documents = await aggregate(
            self.collection,
            [
                {"$match": {"_id": thread_id}},
                {"$project": {"userId": 1, "metadata.is_shared": 1}},
                *with_author_identifier(self.users_collection),
            ],
        )
        return documents[0] if documents else None

    async def embedded_step_ids(self, thread_id: str) -> list[str]:
        found = await self.primary.find_one({"_id": thread_id}, {"steps.id": 1})
        return [step["id"] for step in (found or {}).get("steps") or []]

    async def file_references(self, thread_ids: list[str]) -> list[Any]:
        """The GridFS ids that these thread documents point to: element files and the
        large fields of embedded steps."""
        step_fields = [
            {"$map": {"input": "$steps", "as": "s", "in": f"$$s.{field}"}}
            for field in FILE_ID_FIELDS
        ]
        element_files = {"$map": {"input": "$elements", "as": "e", "in": "$$e.fileId"}}
        found = await aggregate(
            self.collection,
            [
                {"$match": {"_id": {"$in": thread_ids}}},
                {"$project": {"files": {"$concatArrays": [element_files, *step_fields]}}},
            ],
        )
        return [file_id for document in found for file_id in document["files"] if file_id]

    async def threads_holding_step(self, step_id: str, overflowed: Document) -> list[Document]:
        """Every thread holding the step (not deleted), embedded or in the overflow the
        `$unionWith` stage `overflowed` adds, each as `{_id, author}` (`author`: its user's
        identifiers), in one command."""
        return await aggregate(
            self.primary,
            [
                {"$match": {"steps": {"$elemMatch": {"id": step_id, REMOVED: {"$ne": True}}}}},
                {"$project": {"userId": 1}},
                overflowed,
                *with_author_identifier(self.users_collection),
            ],
        )

    async def list_for_user(
        self,
        user_id: str,
        limit: int,
        search: str | None,
        feedback: int | None,
        after: tuple[Any, str] | None,
    ) -> list[Document]:
        """One sidebar page (plus one thread to tell whether another page follows), without
        steps or elements."""
        conditions: list[Document] = []
        if search:
            conditions.append(search_filter(search))
        if after is not None:
            conditions.append(after_cursor_filter(*after))
        # The user's own $match stays alone in the first stage so that every server uses the
        # sidebar index (SecantusDB scans the collection for a first stage with $and; MongoDB
        # merges consecutive $match stages anyway). Steps are dropped once the page is cut.
        pipeline: list[Document] = [{"$match": thread_filter_for_user(user_id)}]
        if conditions:
            pipeline.append({"$match": {"$and": conditions}})
        pipeline.append({"$sort": SIDEBAR_SORT})
        if feedback is not None:
            pipeline += [
                {
                    "$lookup": {
                        "from": self.feedback_collection,
                        "localField": "_id",
                        "foreignField": "threadId",
                        "pipeline": [
                            {"$match": {"value": feedback}},
                            {"$limit": 1},
                            {"$project": {"_id": 1}},
                        ],
                        "as": "matchingFeedback",
                    }
                },
                {"$match": {"matchingFeedback": {"$ne": []}}},
            ]
        pipeline += [
            {"$limit": limit},
            {"$project": {**SIDEBAR_OMITS, "matchingFeedback": 0}},
            *with_author_identifier(self.users_collection),
        ]
        return await aggregate(self.collection, pipeline)

    async def favorite_steps(self, user_id: str, overflowed: Document) -> list[Document]:
        """The user's favorite steps, embedded ones and the overflowed ones the `$unionWith`
        stage `overflowed` adds, each as `{"_id": thread id, "step": ...}`, newest first, in
        one command."""
        is_favorite = {"$eq": ["$$step.metadata.favorite", True]}
        favorites = {"$filter": {"input": "$steps", "as": "step", "cond": is_favorite}}
        return await aggregate(
            self.collection,
            [
                {"$match": {"userId": user_id, "steps.metadata.favorite": True}},
                {"$project": {"step": favorites}},
                {"$unwind": "$step"},
                overflowed,
                {"$sort": {"step.createdAt": -1}},
            ],
        )

    async def delete(self, thread_id: str) -> Document | None:
        """Delete the thread document; returns its elements and overflow mark, or None."""
        found: Document | None = await self.collection.find_one_and_delete(
            {"_id": thread_id}, projection={"elements": 1, "overflow": 1}
        )
        return found
