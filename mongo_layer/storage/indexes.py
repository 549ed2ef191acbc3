"""The indexes every query of the layer relies on, created idempotently."""

import logging
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

from ..settings import MongoLayerSettings
from .capabilities import IndexStatus
from .connection import DUPLICATE_KEY, Connection, aggregate, opened_cursor
from .element_owners import backfill_owners
from .threads import backfill_activity, backfill_size

logger = logging.getLogger("mongo_layer")

SIDEBAR_INDEX = "sidebar_by_activity"
# Indexes of earlier releases that nothing uses any more: the sidebar by creation, and the
# unique index on element ids (a sharded cluster refuses it; element_owners.py replaces it).
ELEMENT_ID_INDEX = "element_id"
SUPERSEDED_THREAD_INDEXES = ("sidebar", ELEMENT_ID_INDEX)


def thread_indexes() -> list[IndexModel]:
    return [
        # The sidebar: a user's threads, last active first, the id breaking ties.
        IndexModel(
            [("userId", ASCENDING), ("updatedAt", DESCENDING), ("_id", DESCENDING)],
            name=SIDEBAR_INDEX,
        ),
        IndexModel([("steps.id", ASCENDING)], name="step_id"),
    ]


def layer_indexes(settings: MongoLayerSettings) -> dict[str, list[IndexModel]]:
    """Every index the layer relies on, by collection name."""
    bucket = settings.files_bucket_name
    return {
        settings.threads_name: thread_indexes(),
        settings.overflow_name: [
            IndexModel([("threadId", ASCENDING), ("arrivedAt", ASCENDING)], name="thread"),
            IndexModel([("step.id", ASCENDING)], name="step_id"),
            IndexModel([("step.metadata.favorite", ASCENDING)], name="favorite", sparse=True),
        ],
        # A thread deleted without its document at hand (see `Stores.delete_thread`).
        settings.element_owners_name: [IndexModel([("threadId", ASCENDING)], name="thread")],
        settings.users_name: [
            IndexModel([("identifier", ASCENDING)], name="identifier", unique=True)
        ],
        settings.feedback_name: [
            IndexModel([("forId", ASCENDING)], name="step"),
            # One rating per step, enforced by the server: two first ratings racing make one
            # document. It starts with the shard key, as a sharded cluster requires.
            IndexModel(
                [("threadId", ASCENDING), ("forId", ASCENDING)], name="one_per_step", unique=True
            ),
        ],
        f"{bucket}.files": [
            IndexModel([("metadata.threadId", ASCENDING)], name="thread"),
            IndexModel([("metadata.elementId", ASCENDING)], name="element"),
            IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)]),
        ],
        f"{bucket}.chunks": [
            IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True),
        ],
    }


async def ensure_indexes(connection: Connection, settings: MongoLayerSettings) -> None:
    """Create the layer's indexes; existing ones are left as they are."""
    threads = connection.collection(settings.threads_name)
    await backfill_activity(threads)
    await backfill_size(threads)
    for collection, indexes in layer_indexes(settings).items():
        if collection == settings.feedback_name:
            await ensure_feedback_indexes(connection.collection(collection), indexes)
        else:
            await connection.collection(collection).create_indexes(indexes)
    existing = await threads.index_information()
    if ELEMENT_ID_INDEX in existing:
        await backfill_owners(threads, connection.collection(settings.element_owners_name))
    for name in SUPERSEDED_THREAD_INDEXES:
        if name in existing:
            await threads.drop_index(name)


async def index_statuses(connection: Connection, settings: MongoLayerSettings) -> list[IndexStatus]:
    """Which of the layer's indexes exist (one listIndexes per collection)."""
    statuses = []
    for collection, indexes in layer_indexes(settings).items():
        cursor = await opened_cursor(connection.collection(collection).list_indexes())
        existing = {index["name"] async for index in cursor}
        statuses += [
            IndexStatus(collection=collection, name=name, present=name in existing)
            for name in (index.document["name"] for index in indexes)
        ]
    return statuses


async def ensure_feedback_indexes(feedback: Any, indexes: list[IndexModel]) -> None:
    """Create the feedback indexes. Releases before the unique index could store two ratings
    of one step; the latest is kept, the others removed, so the index can be built."""
    try:
        await feedback.create_indexes(indexes)
    except OperationFailure as error:
        if error.code != DUPLICATE_KEY:
            raise
        removed = await remove_duplicate_ratings(feedback)
        logger.warning("removed %d older duplicate ratings of the same steps", removed)
        await feedback.create_indexes(indexes)


async def remove_duplicate_ratings(feedback: Any) -> int:
    """Keep each step's latest rating; returns how many others were deleted."""
    groups = await aggregate(
        feedback,
        [
            {"$sort": {"updatedAt": -1, "_id": 1}},
            {
                "$group": {
                    "_id": {"thread": "$threadId", "step": "$forId"},
                    "ids": {"$push": "$_id"},
                }
            },
            {"$match": {"ids.1": {"$exists": True}}},
        ],
    )
    older = [feedback_id for group in groups for feedback_id in group["ids"][1:]]
    if older:
        await feedback.delete_many({"_id": {"$in": older}})
    return len(older)
