"""Reading a JSON archive back into a database, through `restore_user` and
`restore_thread`: ids and times kept, and idempotent, so importing the same archive twice
changes nothing and an interrupted import is finished by running it again."""

import io
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import IO, TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from ..errors import ArchiveError, MongoLayerError, RestoreRefusedError, UserConflictError
from ..operations.bulk_restore import RestoreOutcome, ThreadToRestore
from ..operations.restore import plan_restore
from .records import (
    MAX_RECORD_BYTES,
    ChunkRecord,
    EndRecord,
    FileRecord,
    ThreadRecord,
    UserRecord,
    parse_header,
    parse_record,
)

if TYPE_CHECKING:
    from chainlit.element import ElementDict
    from chainlit.types import ThreadDict

    from ..layer import MongoDataLayer

# The files of a thread wait in memory up to this size, on disk beyond, until it comes.
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
# Thread records restored together: at most this many, or once their records take
# `batch_bytes` (the files in the spool not counted).
BATCH_THREADS = 100
BATCH_BYTES = 8 * 1024 * 1024


class ImportSummary(BaseModel):
    """What an import read, and how much of it changed the database."""

    users: int = 0
    threads: int = 0
    refused: int = 0
    """Users and threads left unchanged because they belong to someone else here."""
    threads_changed: int = 0
    steps_written: int = 0
    files_stored: int = 0
    rows: int = 0
    """Rows read: users, threads, steps, elements and rated steps."""
    seconds: float = 0.0
    """How long the import took, from its first line read."""


ImportProgress = Callable[[ImportSummary], None]
# Hears one line per refused record, naming it and its line in the archive.
RefusalReport = Callable[[str], None]

logger = logging.getLogger("mongo_layer")
Restored = TypeVar("Restored")


class SpooledFile:
    """One file's bytes in the spool, read in the pieces the reader asks for, so that a
    file goes to GridFS chunk by chunk instead of whole."""

    def __init__(self, spool: IO[bytes], start: int, length: int) -> None:
        self.spool = spool
        self.position = start
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        wanted = self.remaining if size < 0 else min(size, self.remaining)
        self.spool.seek(self.position)
        data = self.spool.read(wanted)
        self.position += len(data)
        self.remaining -= len(data)
        return data


class PendingFiles:
    """The files read since the last thread record, until the thread that holds them is
    restored: their bytes one after another in `spool`, found by element id."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.spool = spool
        self.extents: dict[str, tuple[int, int]] = {}
        self.reading: FileRecord | None = None
        self.remaining = 0

    def start(self, record: FileRecord, line: int) -> None:
        self.check_complete(line)
        self.reading, self.remaining = record, record.length
        self.extents[record.elementId] = (self.spool.seek(0, io.SEEK_END), record.length)

    def add(self, chunk: ChunkRecord, line: int) -> None:
        data = chunk.bytes()
        if self.reading is None or len(data) > self.remaining:
            raise ArchiveError(f"line {line} of the archive: bytes that belong to no file")
        self.spool.seek(0, io.SEEK_END)
        self.spool.write(data)
        self.remaining -= len(data)

    def check_complete(self, line: int) -> None:
        if self.reading is not None and self.remaining:
            raise ArchiveError(
                f"line {line} of the archive: the file of element {self.reading.elementId!r}"
                f" lacks {self.remaining} of its {self.reading.length} bytes"
            )
        self.reading = None

    def take(self) -> dict[str, tuple[int, int]]:
        """The files of the thread whose record came: the next files are another's."""
        taken, self.extents = self.extents, {}
        return taken

    def clear(self) -> None:
        self.spool.seek(0)
        self.spool.truncate()
        self.extents.clear()


def files_of(
    pending: PendingFiles, extents: dict[str, tuple[int, int]]
) -> Callable[["ElementDict"], Awaitable[SpooledFile | None]]:
    """The `element_bytes` of a batch: the bytes of its files, in the spool."""

    async def bytes_of(element: "ElementDict") -> SpooledFile | None:
        extent = extents.get(element["id"])
        return None if extent is None else SpooledFile(pending.spool, *extent)

    return bytes_of


class ThreadBatch:
    """Thread records read and not restored yet, with their files in the spool, restored
    together (`Operations.restore_threads`) once they take `batch_bytes`."""

    def __init__(self, pending: PendingFiles, batch_bytes: int) -> None:
        self.pending = pending
        self.batch_bytes = batch_bytes
        self.records: list[tuple[int, ThreadRecord]] = []
        self.files: dict[str, tuple[int, int]] = {}
        self.bytes = 0

    def add(
        self, number: int, record: ThreadRecord, size: int, files: dict[str, tuple[int, int]]
    ) -> None:
        self.records.append((number, record))
        self.files |= files
        self.bytes += size

    @property
    def full(self) -> bool:
        return self.bytes >= self.batch_bytes or len(self.records) >= BATCH_THREADS

    async def restore_all(
        self,
        layer: "MongoDataLayer",
        summary: ImportSummary,
        report: RefusalReport,
        keep_spool: bool = False,
    ) -> None:
        """Restore the threads read so far and start a new batch; with `keep_spool`, the
        spool keeps its bytes (those of a thread read after these)."""
        records, files = self.records, self.files
        self.records, self.files, self.bytes = [], {}, 0
        if records:
            threads = [ThreadToRestore(r.thread_dict(), r.updatedAt) for _, r in records]
            outcomes = await layer.operations.restore_threads(
                threads, files_of(self.pending, files)
            )
            for (number, _), outcome in zip(records, outcomes, strict=True):
                count_restored(outcome, number, summary, report)
        if not keep_spool:
            self.pending.clear()


def archive_lines(
    source: IO[bytes], max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[tuple[int, str]]:
    """The numbered lines of an archive, each read with at most `max_record_bytes` (and its
    line end) in memory: a longer line is refused as soon as that much of it was read.
    Raises ArchiveError naming the line for a line too long or not UTF-8."""
    number = 0
    while line := source.readline(max_record_bytes + 1):
        number += 1
        if len(line) > max_record_bytes and not line.endswith(b"\n"):
            raise ArchiveError(
                f"line {number} of the archive is longer than {max_record_bytes:,} bytes"
                f" ({max_record_bytes / 2**20:g} MiB), the most a record may take"
            )
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ArchiveError(
                f"line {number} of the archive is not UTF-8 (byte {error.start + 1} of the line)"
            ) from error
        line = b""  # a record's bytes need not stay in memory while it is imported
        yield number, text


async def import_archive(
    layer: "MongoDataLayer",
    source: IO[bytes],
    dry_run: bool = False,
    on_progress: ImportProgress | None = None,
    on_refused: RefusalReport | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
    batch_bytes: int = BATCH_BYTES,
) -> ImportSummary:
    """Restore every user and thread of a JSON archive (docs/archive-format.md), read from
    the binary stream `source` line by line, threads restored in batches of records taking
    `batch_bytes`; `on_progress` hears the running counts after each batch. With
    `dry_run`, only reads and checks the archive.

    A user or thread that would change what belongs to someone else here is left as it is,
    counted in `refused` and reported to `on_refused` (else logged as a warning), and the
    import goes on. Raises ArchiveError, naming the line, at the first record that is not
    an importable record (not an archive, a newer version, a malformed record, a line over
    `max_record_bytes`, a cut-off archive): the records before it are imported, nothing of
    it."""
    report = on_refused or logger.warning
    summary = ImportSummary()
    started = time.perf_counter()
    numbered = archive_lines(source, max_record_bytes)
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY_BYTES) as spool:
        pending = PendingFiles(spool)
        batch = ThreadBatch(pending, batch_bytes)

        async def restore_batch() -> None:
            await batch.restore_all(layer, summary, report)
            if on_progress is not None:
                on_progress(summary)

        first = next(numbered, None)
        if first is None:
            raise ArchiveError("the archive is empty")
        parse_header(first[1])
        try:
            for number, line in numbered:
                record = parse_record(line, number)
                size = len(line)
                del line  # nor its text, once parsed
                if isinstance(record, UserRecord):
                    if not dry_run:
                        restoring = layer.operations.restore_user(record.persisted_user())
                        await restore_or_refuse(restoring, number, summary, report)
                    summary.users += 1
                    summary.rows += 1
                elif isinstance(record, FileRecord):
                    pending.start(record, number)
                elif isinstance(record, ChunkRecord):
                    pending.add(record, number)
                elif isinstance(record, ThreadRecord):
                    pending.check_complete(number)
                    summary.threads += 1
                    summary.rows += rows_of(record.thread_dict())
                    if dry_run:
                        pending.clear()
                        continue
                    check_storable(record, number, layer.settings.max_thread_name_length)
                    files = pending.take()
                    if files.keys() & batch.files.keys():
                        await batch.restore_all(layer, summary, report, keep_spool=True)
                    batch.add(number, record, size, files)
                    if batch.full:
                        await restore_batch()
                elif isinstance(record, EndRecord):
                    pending.check_complete(number)
                    if batch.records:
                        await restore_batch()
                    check_counts(record, summary)
                    summary.seconds = time.perf_counter() - started
                    return summary
                else:
                    raise ArchiveError(f"line {number} of the archive: a second archive header")
        finally:
            # What came before a bad or missing record is imported.
            if batch.records:
                await restore_batch()
    raise ArchiveError(
        "the archive ends without its end record: it was cut off"
        f" after {summary.threads} threads (those are imported)"
    )


def rows_of(thread: "ThreadDict") -> int:
    """The rows a thread counts for: itself, its steps, its elements and its ratings."""
    steps = thread.get("steps") or []
    rated = sum(1 for step in steps if step.get("feedback"))
    return 1 + len(steps) + len(thread.get("elements") or []) + rated


def check_storable(record: ThreadRecord, number: int, max_name_length: int) -> None:
    """Refuse, naming its line, a thread record holding a value that cannot be stored,
    before it joins a batch: the import stops there, with the records before it imported."""
    try:
        plan_restore(record.thread_dict(), max_name_length, record.updatedAt)
    except MongoLayerError as error:
        raise ArchiveError(f"line {number} of the archive: {error}") from error


async def restore_or_refuse(
    work: Awaitable[Restored], number: int, summary: ImportSummary, report: RefusalReport
) -> Restored | None:
    """What restoring one record returned, or None when it was refused (reported, counted)
    because it would change what belongs to someone else. Any other failure of the record
    ends the import with its line named."""
    try:
        return await work
    except (RestoreRefusedError, UserConflictError) as error:
        summary.refused += 1
        report(f"line {number} of the archive: refused: {error}")
        return None
    except MongoLayerError as error:
        raise ArchiveError(f"line {number} of the archive: {error}") from error


def count_restored(
    outcome: RestoreOutcome, number: int, summary: ImportSummary, report: RefusalReport
) -> None:
    """Count what restoring the thread of line `number` did; a refusal is reported."""
    if isinstance(outcome, RestoreRefusedError):
        summary.refused += 1
        report(f"line {number} of the archive: refused: {outcome}")
    elif isinstance(outcome, MongoLayerError):
        raise ArchiveError(f"line {number} of the archive: {outcome}") from outcome
    else:
        summary.threads_changed += outcome.changed
        summary.steps_written += outcome.steps_written
        summary.files_stored += outcome.files_stored


def check_counts(end: EndRecord, summary: ImportSummary) -> None:
    if (end.users, end.threads) != (summary.users, summary.threads):
        raise ArchiveError(
            f"the archive says it holds {end.users} users and {end.threads} threads,"
            f" but {summary.users} and {summary.threads} were read"
        )
