"""Writing a JSON archive: the selected users and threads with their files' bytes, one
record per line, written as it is read so that nothing is held whole in memory."""

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from chainlit.types import ThreadDict
from pydantic import BaseModel

from ..errors import ArchiveError
from ..times import format_time, utc_now
from .records import (
    ArchiveHeader,
    ChunkRecord,
    EndRecord,
    FileRecord,
    ThreadRecord,
    UserRecord,
    record_line,
)
from .selection import EVERYTHING, ExportSelection, ExportSummary, selected_threads, selected_users

if TYPE_CHECKING:
    from ..layer import MongoDataLayer

ExportProgress = Callable[[ExportSummary], None]


async def export_archive(
    layer: "MongoDataLayer",
    out: TextIO,
    selection: ExportSelection = EVERYTHING,
    batch_size: int = 100,
    on_progress: ExportProgress | None = None,
) -> ExportSummary:
    """Write the selected history to `out` as a JSON archive (docs/archive-format.md);
    `on_progress` hears the running counts after each thread."""
    summary = ExportSummary()
    write(out, ArchiveHeader(exportedAt=format_time(utc_now()), selection=selection.describe()))
    async for user in selected_users(layer, selection, batch_size):
        write(out, UserRecord.of(user))
        summary.users += 1
    async for activity, thread in selected_threads(layer, selection, batch_size):
        await write_files(layer, out, thread, summary)
        write(out, ThreadRecord(thread=dict(thread), updatedAt=activity.updatedAt), thread)
        summary.threads += 1
        if on_progress is not None:
            on_progress(summary)
    write(out, EndRecord(users=summary.users, threads=summary.threads, files=summary.files))
    return summary


async def write_files(
    layer: "MongoDataLayer", out: TextIO, thread: ThreadDict, summary: ExportSummary
) -> None:
    """The thread's element files, each a `file` record and its bytes chunk by chunk."""
    for element in thread.get("elements") or []:
        stored = await layer.operations.open_element_file(thread["id"], element["id"])
        if stored is None:
            continue
        write(
            out,
            FileRecord(
                threadId=thread["id"],
                elementId=element["id"],
                name=stored.name,
                mime=stored.mime,
                length=stored.length,
            ),
        )
        async for chunk in stored.chunks():
            write(out, ChunkRecord.of(chunk))
        summary.files += 1
        summary.file_bytes += stored.length


def write(out: TextIO, record: BaseModel, thread: ThreadDict | None = None) -> None:
    try:
        out.write(record_line(record))
    except TypeError as error:
        where = f"thread {thread['id']!r}" if thread is not None else "a record"
        raise ArchiveError(f"{where} cannot be written as JSON: {error}") from error
