"""GridFS: the bytes of element files (and of step fields too large to embed)."""

import functools
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from bson import Binary, ObjectId

from ..errors import MongoLayerError
from ..retry import Retrier
from ..times import utc_now
from .connection import Connection, Document, aggregate, pages_by_id
from .documents import SCHEMA_VERSION

logger = logging.getLogger("mongo_layer")

CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
CHUNKS_PER_INSERT = 16
# Chunks fetched per round trip when a file is served: about 1 MB held at a time.
CHUNKS_PER_READ = 4

ELEMENT_FILE = "element"
STEP_FIELD_FILE = "step-field"


class Readable(Protocol):
    """Bytes read in pieces: an open binary file, or any object with such a `read`."""

    def read(self, size: int = -1, /) -> bytes: ...


# Stores a file's bytes with a name and metadata; returns the file's id.
Upload = Callable[[bytes | Readable, str, Document], Awaitable[ObjectId]]


class StoredFile:
    """A GridFS file's description (size, type, name) and a way to read its bytes."""

    def __init__(self, document: Document, chunks: Any, retrier: Retrier) -> None:
        metadata = document.get("metadata") or {}
        self.id = document["_id"]
        self.length = int(document["length"])
        self.chunk_size = int(document.get("chunkSize") or CHUNK_BYTES)
        self.name: str = metadata.get("name") or document.get("filename") or "file"
        self.mime: str = metadata.get("mime") or "application/octet-stream"
        self.thread_id: str | None = metadata.get("threadId")
        self._chunks = chunks
        self._retrier = retrier

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` up to and including `end`, one GridFS chunk at a time.

        The chunks are fetched a few per round trip: a download cursor's first batch
        would otherwise bring up to 16 MB of the file into memory at once. Each fetch
        names the chunks it wants, so through a failover the download goes on from the
        chunk it reached."""
        end = self.length - 1 if end is None else min(end, self.length - 1)
        if start > end:
            return
        expected, last = start // self.chunk_size, end // self.chunk_size
        while expected <= last:
            upto = min(expected + CHUNKS_PER_READ - 1, last)
            found = await self._retrier.run(
                "read_file", functools.partial(self._read_chunks, expected, upto)
            )
            for chunk in found:
                if chunk["n"] != expected:
                    break
                offset = expected * self.chunk_size
                yield bytes(chunk["data"])[max(0, start - offset) : end - offset + 1]
                expected += 1
            if expected <= upto:
                raise MongoLayerError(f"GridFS file {self.id} is missing its chunk {expected}")

    async def _read_chunks(self, first: int, last: int) -> list[Document]:
        query = {"files_id": self.id, "n": {"$gte": first, "$lte": last}}
        cursor = self._chunks.find(query, {"n": 1, "data": 1}).sort("n", 1)
        found: list[Document] = await cursor.to_list(None)
        return found


@dataclass(frozen=True)
class FileOwner:
    """Whose files these are, as their metadata says: an element's, or a step's (its large
    fields and the files of elements attached to it)."""

    thread_id: str
    element_id: str | None = None
    step_id: str | None = None

    def query(self) -> Document:
        query: Document = {"metadata.threadId": self.thread_id}
        if self.element_id is not None:
            query |= {"metadata.kind": ELEMENT_FILE, "metadata.elementId": self.element_id}
        if self.step_id is not None:
            query["metadata.stepId"] = self.step_id
        return query


@dataclass(frozen=True)
class ElementFile:
    """What the metadata of an element's file records: whose bytes these are."""

    element_id: str
    thread_id: str
    step_id: str | None
    name: str
    mime: str | None

    def metadata(self) -> Document:
        return {
            "kind": ELEMENT_FILE,
            "schemaVersion": SCHEMA_VERSION,
            "elementId": self.element_id,
            "threadId": self.thread_id,
            "stepId": self.step_id,
            "name": self.name,
            "mime": self.mime,
        }


class FileStore:
    """Verbs on the GridFS bucket holding element files."""

    def __init__(self, connection: Connection, bucket_name: str, retrier: Retrier) -> None:
        self.connection = connection
        self.bucket_name = bucket_name
        self.retrier = retrier
        self.files = connection.collection(f"{bucket_name}.files")
        self.chunks = connection.collection(f"{bucket_name}.chunks")

    @cached_property
    def bucket(self) -> Any:
        return self.connection.gridfs_bucket(self.bucket_name)

    async def upload(self, source: bytes | Readable, name: str, metadata: Document) -> ObjectId:
        """Store bytes, given whole or read in chunks from an open file, as a GridFS file
        (a `FileBatch` of one file: two commands for a small file)."""
        batch = FileBatch(self)
        file_id = await batch.add(source, name, metadata)
        await batch.close()
        return file_id

    async def _write_once(
        self,
        write: Callable[[], Awaitable[Any]],
        undo: Callable[[], Awaitable[Any]],
        subject: str,
    ) -> None:
        """`write()`, and through a failover `undo()` before each further attempt: an
        insert whose reply was lost may have been applied."""
        attempts = 0

        async def attempt() -> None:
            nonlocal attempts
            if attempts:
                await undo()
            attempts += 1
            await write()

        await self.retrier.run("upload_file", attempt, subject)

    async def upload_path(self, path: str, name: str, metadata: Document) -> ObjectId:
        with Path(path).open("rb") as source:
            return await self.upload(source, name, metadata)

    async def upload_element_file(
        self, file: ElementFile, content: bytes | str | None, path: str | None
    ) -> ObjectId | None:
        """Store an element's bytes, given as `content` or read in chunks from `path`.
        Returns the file's id, or None for an element without bytes (a remote url)."""
        if content is not None and content not in (b"", ""):
            data = content.encode() if isinstance(content, str) else bytes(content)
            return await self.upload(data, file.name, file.metadata())
        if not path:
            return None
        try:
            return await self.upload_path(path, file.name, file.metadata())
        except OSError as error:
            raise MongoLayerError(
                f"cannot read the file of element {file.element_id!r} in thread"
                f" {file.thread_id!r} from {path!r}: {error}"
            ) from error

    async def read(self, file_id: ObjectId) -> bytes:
        stream = await self.bucket.open_download_stream(file_id)
        data: bytes = await stream.read()
        return data

    async def open(self, file_id: ObjectId | None) -> StoredFile | None:
        """The stored file with this id, or None when there is none."""
        if file_id is None:
            return None
        document = await self.files.find_one({"_id": file_id})
        return None if document is None else StoredFile(document, self.chunks, self.retrier)

    async def delete_many(self, file_ids: list[ObjectId]) -> None:
        """Delete files by id: their descriptions first, then their chunks (a crash between
        leaves only chunks without a file, which `prune_orphans` removes)."""
        if not file_ids:
            return
        await self.files.delete_many({"_id": {"$in": file_ids}})
        await self.chunks.delete_many({"files_id": {"$in": file_ids}})

    async def delete_for_thread(self, thread_id: str) -> None:
        """Delete every file stored for a thread, including any whose element never landed."""
        await self.delete_many(await self._ids_of({"metadata.threadId": thread_id}))

    async def delete_left_behind(
        self, owner: FileOwner, uploaded_before: datetime, keep: Collection[Any] = ()
    ) -> bool:
        """Delete the files of `owner` uploaded before `uploaded_before`, except those in
        `keep`; returns whether there were any. This is the clean-up of a delete whose reply
        was lost (its repetition no longer sees what it removed): a file uploaded later
        belongs to a write called after that delete, which may still be on its way."""
        query = owner.query() | {"uploadDate": {"$lt": uploaded_before}}
        found = [file_id for file_id in await self._ids_of(query) if file_id not in keep]
        await self.delete_many(found)
        return bool(found)

    async def _ids_of(self, query: Document) -> list[ObjectId]:
        found = await self.files.find(query, {"_id": 1}).to_list(None)
        return [document["_id"] for document in found]

    async def old_files_in_batches(
        self, grace: timedelta, batch_size: int
    ) -> AsyncIterator[dict[str, list[ObjectId]]]:
        """The layer's files older than `grace`, `batch_size` at a time in id order, each
        batch grouped by the thread they were stored for. Younger files are left out: their
        element or step may still be on its way."""
        query: Document = {
            "uploadDate": {"$lt": utc_now() - grace},
            "metadata.kind": {"$in": [ELEMENT_FILE, STEP_FIELD_FILE]},
        }
        projection = {"metadata.threadId": 1}
        async for found in pages_by_id(self.files, query, batch_size, self.retrier, projection):
            by_thread: dict[str, list[ObjectId]] = {}
            for document in found:
                thread_id = (document.get("metadata") or {}).get("threadId")
                by_thread.setdefault(str(thread_id), []).append(document["_id"])
            yield by_thread

    async def prune_chunks_without_file(self, dry_run: bool = False) -> int:
        """Delete chunks whose file document is gone (a crash mid-upload or mid-delete);
        returns for how many files. With `dry_run`, only counts them."""
        groups = await aggregate(
            self.chunks,
            [
                {"$group": {"_id": "$files_id"}},
                {
                    "$lookup": {
                        "from": self.files.name,
                        "localField": "_id",
                        "foreignField": "_id",
                        "as": "file",
                    }
                },
                {"$match": {"file": []}},
            ],
        )
        file_ids = [group["_id"] for group in groups]
        if file_ids and not dry_run:
            await self.chunks.delete_many({"files_id": {"$in": file_ids}})
        return len(file_ids)


class FileBatch:
    """Files uploaded together: the chunks of several files go in one insert (as many as
    take `CHUNKS_PER_INSERT` full chunks), their file documents in one insert at `close`.

    Written directly rather than through the driver's bucket, which checks the bucket's
    indexes on every upload (the layer creates them once). The file documents go last, so a
    crash leaves only chunks without a file, which `prune_orphans` removes. Through a
    failover each write is tried again after removing what its failed attempt stored: never
    half a file, never two, and each source is read once. Memory holds at most the bytes of
    `CHUNKS_PER_INSERT` full chunks (4 MB)."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.chunks: list[Document] = []
        self.buffered = 0
        self.documents: list[Document] = []

    async def add(self, source: bytes | Readable, name: str, metadata: Document) -> ObjectId:
        """Upload a file's bytes (its file document waits for `close`); returns its id."""
        file_id = ObjectId()
        reader = io.BytesIO(source) if isinstance(source, bytes) else source
        length = 0
        for number, data in enumerate(iter(lambda: reader.read(CHUNK_BYTES), b"")):
            chunk = {"_id": ObjectId(), "files_id": file_id, "n": number, "data": Binary(data)}
            self.chunks.append(chunk)
            self.buffered += len(data)
            length += len(data)
            if self.buffered >= CHUNKS_PER_INSERT * CHUNK_BYTES:
                await self._insert_chunks()
        self.documents.append(
            {
                "_id": file_id,
                "length": length,
                "chunkSize": CHUNK_BYTES,
                "uploadDate": utc_now(),
                "filename": name or "file",
                "metadata": metadata,
            }
        )
        return file_id

    async def close(self) -> None:
        """Store what is left of the chunks, then every file document."""
        if self.chunks:
            await self._insert_chunks()
        documents, self.documents = self.documents, []
        if documents:
            ids = [document["_id"] for document in documents]
            await self.store._write_once(
                lambda: self.store.files.insert_many(documents),
                lambda: self.store.files.delete_many({"_id": {"$in": ids}}),
                f"{len(ids)} files ({ids[0]}...)",
            )

    async def _insert_chunks(self) -> None:
        chunks, self.chunks, self.buffered = self.chunks, [], 0
        ids = [chunk["_id"] for chunk in chunks]
        await self.store._write_once(
            lambda: self.store.chunks.insert_many(chunks),
            lambda: self.store.chunks.delete_many({"_id": {"$in": ids}}),
            f"file {chunks[0]['files_id']} and others",
        )
