"""The indexes every query of the layer relies on, created idempotently."""

from pymongo import ASCENDING, DESCENDING, IndexModel

from .connection import Connection
from .settings import MongoLayerSettings
from .threads import backfill_activity

SIDEBAR_INDEX = "sidebar_by_activity"
# The index of releases that ordered the sidebar by creation; nothing uses it any more.
SUPERSEDED_THREAD_INDEXES = ("sidebar",)


def thread_indexes() -> list[IndexModel]:
    return [
        # The sidebar: a user's threads, last active first, the id breaking ties.
        IndexModel(
            [("userId", ASCENDING), ("updatedAt", DESCENDING), ("_id", DESCENDING)],
            name=SIDEBAR_INDEX,
        ),
        IndexModel([("steps.id", ASCENDING)], name="step_id"),
        # An element id belongs to one thread only: a later write naming it from another
        # thread is refused by this index instead of moving or overwriting the element.
        IndexModel(
            [("elements.id", ASCENDING)],
            name="element_id",
            unique=True,
            partialFilterExpression={"elements.id": {"$exists": True}},
        ),
    ]


async def ensure_indexes(connection: Connection, settings: MongoLayerSettings) -> None:
    """Create the layer's indexes; existing ones are left as they are."""
    database = connection.database
    threads = database[settings.threads_name]
    await backfill_activity(threads)
    await threads.create_indexes(thread_indexes())
    existing = await threads.index_information()
    for name in SUPERSEDED_THREAD_INDEXES:
        if name in existing:
            await threads.drop_index(name)
    await database[settings.overflow_name].create_indexes(
        [
            IndexModel([("threadId", ASCENDING), ("arrivedAt", ASCENDING)], name="thread"),
            IndexModel([("step.id", ASCENDING)], name="step_id"),
            IndexModel([("step.metadata.favorite", ASCENDING)], name="favorite", sparse=True),
        ]
    )
    await database[settings.users_name].create_indexes(
        [IndexModel([("identifier", ASCENDING)], name="identifier", unique=True)]
    )
    await database[settings.feedback_name].create_indexes(
        [
            IndexModel([("forId", ASCENDING)], name="step"),
            # One rating per step, enforced by the server: two first ratings racing make one
            # document. It starts with the shard key, as a sharded cluster requires.
            IndexModel(
                [("threadId", ASCENDING), ("forId", ASCENDING)], name="one_per_step", unique=True
            ),
        ]
    )
    files = database[f"{settings.files_bucket_name}.files"]
    await files.create_indexes(
        [
            IndexModel([("metadata.threadId", ASCENDING)], name="thread"),
            IndexModel([("metadata.elementId", ASCENDING)], name="element"),
            IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)]),
        ]
    )
    await database[f"{settings.files_bucket_name}.chunks"].create_indexes(
        [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)]
    )
