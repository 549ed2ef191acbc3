"""Reading a JSON archive back into a database, through `restore_user` and
`restore_thread`: ids and times kept, and idempotent, so importing the same archive twice
changes nothing and an interrupted import is finished by running it again."""

import io
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING

from pydantic import BaseModel

from ..errors import ArchiveError
from .records import (
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

    from ..layer import MongoDataLayer

# The files of a thread wait in memory up to this size, on disk beyond, until it comes.
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024


class ImportSummary(BaseModel):
    """What an import read, and how much of it changed the database."""

    users: int = 0
    threads: int = 0
    threads_changed: int = 0
    steps_written: int = 0
    files_stored: int = 0


ImportProgress = Callable[[ImportSummary], None]


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

    async def bytes_of(self, element: "ElementDict") -> bytes | None:
        extent = self.extents.get(element["id"])
        if extent is None:
            return None
        start, length = extent
        self.spool.seek(start)
        return self.spool.read(length)

    def clear(self) -> None:
        self.spool.seek(0)
        self.spool.truncate()
        self.extents.clear()


async def import_archive(
    layer: "MongoDataLayer",
    lines: Iterable[str],
    dry_run: bool = False,
    on_progress: ImportProgress | None = None,
) -> ImportSummary:
    """Restore every user and thread of a JSON archive (docs/archive-format.md), read line
    by line; `on_progress` hears the running counts after each thread. With `dry_run`,
    only reads and checks the archive. Raises ArchiveError for something that is not an
    archive, a newer version, or an archive cut off (what came before the cut is
    imported)."""
    summary = ImportSummary()
    numbered = enumerate(lines, start=1)
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY_BYTES) as spool:
        pending = PendingFiles(spool)
        first = next(numbered, None)
        if first is None:
            raise ArchiveError("the archive is empty")
        parse_header(first[1])
        for number, line in numbered:
            record = parse_record(line, number)
            if isinstance(record, UserRecord):
                if not dry_run:
                    await layer.restore_user(record.persisted_user())
                summary.users += 1
            elif isinstance(record, FileRecord):
                pending.start(record, number)
            elif isinstance(record, ChunkRecord):
                pending.add(record, number)
            elif isinstance(record, ThreadRecord):
                pending.check_complete(number)
                if not dry_run:
                    await restore(layer, record, pending, summary)
                pending.clear()
                summary.threads += 1
                if on_progress is not None:
                    on_progress(summary)
            elif isinstance(record, EndRecord):
                pending.check_complete(number)
                check_counts(record, summary)
                return summary
            else:
                raise ArchiveError(f"line {number} of the archive: a second archive header")
    raise ArchiveError(
        "the archive ends without its end record: it was cut off"
        f" after {summary.threads} threads (those are imported)"
    )


async def restore(
    layer: "MongoDataLayer", record: ThreadRecord, pending: PendingFiles, summary: ImportSummary
) -> None:
    restored = await layer.restore_thread(
        record.thread_dict(), element_bytes=pending.bytes_of, updated_at=record.updatedAt
    )
    summary.threads_changed += restored.changed
    summary.steps_written += restored.steps_written
    summary.files_stored += restored.files_stored


def check_counts(end: EndRecord, summary: ImportSummary) -> None:
    if (end.users, end.threads) != (summary.users, summary.threads):
        raise ArchiveError(
            f"the archive says it holds {end.users} users and {end.threads} threads,"
            f" but {summary.users} and {summary.threads} were read"
        )
