"""The MongoDB connection: motor or PyMongo's async client, owned or borrowed.

Both drivers expose the same collection verbs; the two places they differ (whether
`aggregate` must be awaited, and which GridFS bucket class to use) are handled here.
"""

import functools
import inspect
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pymongo import ReadPreference, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConfigurationError, DuplicateKeyError

from ..errors import InvalidUriError, MongoLayerError
from ..retry import Retrier

Document = dict[str, Any]
# The server error code of a write whose unique key is stored already.
DUPLICATE_KEY = 11000


class Connection:
    """A database handle plus whether the layer created (and so may close) its client."""

    def __init__(self, database: Any, owns_client: bool) -> None:
        self.database = database
        self.client = database.client
        self.owns_client = owns_client

    @classmethod
    def from_uri(
        cls,
        uri: str,
        database: str,
        driver: str = "pymongo",
        server_selection_timeout_ms: int = 5000,
    ) -> "Connection":
        """Open a new client; the layer closes it in `close()`. It gives up on a server that
        does not answer within `server_selection_timeout_ms`, unless the URI sets its own."""
        if driver not in ("pymongo", "motor"):
            raise ValueError(f"driver must be 'motor' or 'pymongo', got {driver!r}")
        options: dict[str, Any] = {"tz_aware": True}
        # A timeout written in the URI wins; keyword options would override it.
        if "serverselectiontimeoutms=" not in uri.lower():
            options["serverSelectionTimeoutMS"] = server_selection_timeout_ms
        try:
            client = new_client(uri, driver, options)
        except (ConfigurationError, ValueError) as error:
            # PyMongo parses the URI here: a bad port, scheme or option value is refused
            # before anything is contacted (ConfigurationError, InvalidURI or ValueError).
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InvalidUriError(f"not a usable MongoDB URI: {reason}") from error
        return cls(client[database], owns_client=True)

    @classmethod
    def borrow(
        cls, client: Any = None, database: Any = None, name: str = "chainlit"
    ) -> "Connection":
        """Use a team's own client or database object; it is never closed by the layer."""
        if database is not None and not isinstance(database, str):
            return cls(database, owns_client=False)
        if client is None:
            raise ValueError("give a uri, a client or a database object")
        return cls(client[database or name], owns_client=False)

    def collection(self, name: str) -> Any:
        return self.database[name]

    def gridfs_bucket(self, bucket_name: str) -> Any:
        if isinstance(self.database, AsyncDatabase):
            from gridfs import AsyncGridFSBucket

            return AsyncGridFSBucket(self.database, bucket_name=bucket_name)
        from motor.motor_asyncio import AsyncIOMotorGridFSBucket

        return AsyncIOMotorGridFSBucket(self.database, bucket_name=bucket_name)

    async def close(self) -> None:
        if not self.owns_client:
            return
        closing = self.client.close()
        if inspect.isawaitable(closing):
            await closing


def new_client(uri: str, driver: str, options: dict[str, Any]) -> Any:
    if driver == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient

        return AsyncIOMotorClient(uri, **options)
    from pymongo import AsyncMongoClient

    return AsyncMongoClient(uri, **options)


def primary_bound(collection: Any) -> Any:
    """The same collection, read from the primary whatever read preference the app's URI or
    client sets: for the layer's reads that must see its own last write."""
    return collection.database.get_collection(
        collection.name, read_preference=ReadPreference.PRIMARY
    )


def duplicates_of(error: BulkWriteError) -> list[int]:
    """The positions of the documents an unordered bulk write left out because their key
    was stored already; any other failure is raised again."""
    failures = error.details.get("writeErrors") or []
    if any(failure.get("code") != DUPLICATE_KEY for failure in failures):
        raise error
    return [failure["index"] for failure in failures]


async def find_one_and_upsert(
    collection: Any, query: Mapping[str, Any], update: Mapping[str, Any], what: str, **options: Any
) -> Document:
    """Update the one document `query` matches, or insert it, and return it as it is after.

    Two first writes racing to insert the same document collide: MongoDB reports a duplicate
    key, SecantusDB returns no document. The write is then tried once more, when the
    document exists; a second failure raises a MongoLayerError naming `what`."""
    for _ in range(2):
        try:
            document: Document | None = await collection.find_one_and_update(
                query, update, upsert=True, return_document=ReturnDocument.AFTER, **options
            )
        except DuplicateKeyError:
            continue
        if document is not None:
            return document
    raise MongoLayerError(f"{what} was not stored: its insert kept colliding with another")


async def aggregate(collection: Any, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
    """Run a pipeline and return all its documents (motor returns a cursor, PyMongo awaits one)."""
    cursor = await opened_cursor(collection.aggregate(list(pipeline)))
    documents: list[Document] = await cursor.to_list(None)
    return documents


async def pages_by_id(
    collection: Any,
    query: Mapping[str, Any],
    batch_size: int,
    retrier: Retrier,
    projection: Mapping[str, Any] | None = None,
) -> AsyncIterator[list[Document]]:
    """The documents `query` matches, `batch_size` at a time in `_id` order, each page one
    command that starts after the last id seen: documents deleted or added meanwhile never
    make a page skip or repeat one, and no more than a page is held in memory. Through a
    failover a page is read again from the same place (`retrier`)."""

    async def read(page: Mapping[str, Any]) -> list[Document]:
        cursor = collection.find(page, projection).sort("_id", 1).limit(batch_size)
        found: list[Document] = await cursor.to_list(None)
        return found

    after: Any = None
    while True:
        page = dict(query)
        if after is not None:
            # Merged rather than `$and`-ed where possible: some servers (SecantusDB) use no
            # index for an `$and`.
            after_last = {"_id": {"$gt": after}}
            page = page | after_last if "_id" not in page else {"$and": [page, after_last]}
        found = await retrier.run("read_pages", functools.partial(read, page))
        if not found:
            return
        yield found
        after = found[-1]["_id"]


async def thread_ids_of(collection: Any, ids: list[str]) -> dict[str, str]:
    """The `threadId` of each document of `collection` whose `_id` is one of `ids` (those
    stored), in one command."""
    if not ids:
        return {}
    found = collection.find({"_id": {"$in": ids}}, {"threadId": 1})
    return {str(document["_id"]): str(document["threadId"]) async for document in found}


async def opened_cursor(cursor: Any) -> Any:
    """The cursor of a call that opens one: motor returns it, PyMongo's async client
    returns an awaitable of it (aggregate, list_indexes)."""
    if inspect.isawaitable(cursor):
        return await cursor
    return cursor
