"""The records of a JSON archive, one JSON object per line (see docs/archive-format.md).

An archive is a header, the users, then per thread its element files (a `file` record
followed by the file's bytes in `chunk` records) and the `thread` record, and a closing
`end` record with the counts, so that a cut-off archive is told from a complete one.
"""

import base64
import json
from datetime import datetime
from typing import Any, Literal

from chainlit.types import ThreadDict
from chainlit.user import PersistedUser
from pydantic import BaseModel

from ..errors import ArchiveError
from ..times import format_time

ARCHIVE_FORMAT = "mongo-layer-archive"
ARCHIVE_VERSION = 1


class ArchiveHeader(BaseModel):
    record: Literal["archive"] = "archive"
    format: str = ARCHIVE_FORMAT
    version: int = ARCHIVE_VERSION
    exportedAt: str
    selection: dict[str, Any]


class UserRecord(BaseModel):
    record: Literal["user"] = "user"
    user: dict[str, Any]

    @classmethod
    def of(cls, user: PersistedUser) -> "UserRecord":
        return cls(user=user.to_dict())

    def persisted_user(self) -> PersistedUser:
        return PersistedUser(**self.user)


class FileRecord(BaseModel):
    """An element's file; its bytes follow in `chunk` records, `length` bytes in all."""

    record: Literal["file"] = "file"
    threadId: str
    elementId: str
    name: str
    mime: str
    length: int


class ChunkRecord(BaseModel):
    record: Literal["chunk"] = "chunk"
    data: str
    """Base64 of the next bytes of the file."""

    @classmethod
    def of(cls, data: bytes) -> "ChunkRecord":
        return cls(data=base64.b64encode(data).decode("ascii"))

    def bytes(self) -> bytes:
        return base64.b64decode(self.data, validate=True)


class ThreadRecord(BaseModel):
    record: Literal["thread"] = "thread"
    thread: dict[str, Any]
    """The thread as `get_thread` returns it (Chainlit's ThreadDict), feedback in its steps."""
    updatedAt: str | None = None
    """Its last activity, which a ThreadDict does not carry."""

    def thread_dict(self) -> ThreadDict:
        thread: ThreadDict = self.thread  # type: ignore[assignment]
        return thread


class EndRecord(BaseModel):
    record: Literal["end"] = "end"
    users: int
    threads: int
    files: int


Record = ArchiveHeader | UserRecord | FileRecord | ChunkRecord | ThreadRecord | EndRecord
RECORD_TYPES: dict[str, type[BaseModel]] = {
    "archive": ArchiveHeader,
    "user": UserRecord,
    "file": FileRecord,
    "chunk": ChunkRecord,
    "thread": ThreadRecord,
    "end": EndRecord,
}


def json_value(value: object) -> object:
    """JSON has no dates: one stored in free-form metadata is written as ISO-8601."""
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"a {type(value).__name__} cannot be written to a JSON archive")


def record_line(record: BaseModel) -> str:
    return json.dumps(record.model_dump(), ensure_ascii=False, default=json_value) + "\n"


def parse_record(line: str, number: int) -> Record:
    """The record on line `number` of an archive."""
    try:
        fields = json.loads(line)
        record_type = RECORD_TYPES[fields["record"]]
        record: Record = record_type.model_validate(fields)  # type: ignore[assignment]
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(f"line {number} of the archive is not an archive record") from error
    return record


def parse_header(line: str) -> ArchiveHeader:
    """The header on the first line, of a version this code reads."""
    try:
        record = parse_record(line, 1)
    except ArchiveError:
        record = None
    if not isinstance(record, ArchiveHeader) or record.format != ARCHIVE_FORMAT:
        raise ArchiveError(f"not a {ARCHIVE_FORMAT}: its first line is no archive header")
    if record.version > ARCHIVE_VERSION:
        raise ArchiveError(
            f"the archive has version {record.version}; this mongo_layer reads up to"
            f" version {ARCHIVE_VERSION}"
        )
    return record
