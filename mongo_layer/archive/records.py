"""The records of a JSON archive, one JSON object per line (see docs/archive-format.md).

An archive is a header, the users, then per thread its element files (a `file` record
followed by the file's bytes in `chunk` records) and the `thread` record, and a closing
`end` record with the counts, so that a cut-off archive is told from a complete one.
"""

import base64
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from chainlit.types import ThreadDict
from chainlit.user import PersistedUser
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ..errors import ArchiveError
from ..times import format_time
from .contents import ArchivedThread, ArchivedUser

ARCHIVE_FORMAT = "mongo-layer-archive"
ARCHIVE_VERSION = 1

# A record is one line: the longest one import reads (see docs/archive-format.md).
MAX_RECORD_BYTES = 32 * 1024 * 1024
# MongoDB stores documents nested 100 levels deep, and a record holds its thread one level
# below its root. (The layer refuses deeper values too; this refuses them before the layer
# is reached, from the archive tool's own floor.)
MAX_RECORD_NESTING = 100 + 1
# json.loads pairs the escapes of a surrogate pair; any surrogate left alone is not UTF-8.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ArchiveHeader(BaseModel):
    record: Literal["archive"] = "archive"
    format: str = ARCHIVE_FORMAT
    version: int = ARCHIVE_VERSION
    exportedAt: str
    selection: dict[str, Any]


class UserRecord(BaseModel):
    record: Literal["user"] = "user"
    user: dict[str, Any]
    """Chainlit's PersistedUser as a dict (checked against `ArchivedUser` when read)."""

    @classmethod
    def of(cls, user: PersistedUser) -> "UserRecord":
        return cls(user=user.to_dict())

    def persisted_user(self) -> PersistedUser:
        return PersistedUser(**self.user)


class FileRecord(BaseModel):
    """An element's file; its bytes follow in `chunk` records, `length` bytes in all."""

    model_config = ConfigDict(strict=True)

    record: Literal["file"] = "file"
    threadId: str
    elementId: str
    name: str
    mime: str
    length: int = Field(ge=0)


class ChunkRecord(BaseModel):
    model_config = ConfigDict(strict=True)

    record: Literal["chunk"] = "chunk"
    data: str
    """Base64 of the next bytes of the file."""

    @field_validator("data")
    @classmethod
    def base64_data(cls, data: str) -> str:
        base64.b64decode(data, validate=True)
        return data

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

    model_config = ConfigDict(strict=True)

    def thread_dict(self) -> ThreadDict:
        thread: ThreadDict = self.thread  # type: ignore[assignment]
        return thread


def checked_as(model: type[BaseModel]) -> AfterValidator:
    """Checks a record's contents against `model` and keeps them as given, so that a round
    trip adds no field (no default of the model is filled in)."""

    def check(contents: dict[str, Any]) -> dict[str, Any]:
        model.model_validate(contents)
        return contents

    return AfterValidator(check)


class ReadUserRecord(UserRecord):
    """A user record as read: its user is checked before anything is written."""

    user: Annotated[dict[str, Any], checked_as(ArchivedUser)]


class ReadThreadRecord(ThreadRecord):
    """A thread record as read: its thread is checked before anything is written."""

    thread: Annotated[dict[str, Any], checked_as(ArchivedThread)]


class EndRecord(BaseModel):
    model_config = ConfigDict(strict=True)

    record: Literal["end"] = "end"
    users: int
    threads: int
    files: int


Record = ArchiveHeader | UserRecord | FileRecord | ChunkRecord | ThreadRecord | EndRecord
RECORD_TYPES: dict[str, type[BaseModel]] = {
    "archive": ArchiveHeader,
    "user": ReadUserRecord,
    "file": FileRecord,
    "chunk": ChunkRecord,
    "thread": ReadThreadRecord,
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
    """The record on line `number` of an archive. Raises ArchiveError naming the line and
    what is wrong with it: not JSON, not a record, a value MongoDB cannot store (a key with
    NUL, a lone surrogate, an integer past 64 bits, nesting past MongoDB's), or a field of
    the wrong type."""
    where = f"line {number} of the archive"
    try:
        fields = json.loads(line)
    except (ValueError, RecursionError) as error:
        reason = "nested too deep" if isinstance(error, RecursionError) else error
        raise ArchiveError(f"{where} is not JSON: {reason}") from error
    if not isinstance(fields, dict) or fields.get("record") not in RECORD_TYPES:
        raise ArchiveError(f"{where} is not an archive record")
    problem = unstorable_value(fields)
    if problem is not None:
        raise ArchiveError(f"{where}: {problem}")
    try:
        record: Record = RECORD_TYPES[fields["record"]].model_validate(fields)  # type: ignore[assignment]
    except ValidationError as error:
        raise ArchiveError(f"{where}: {validation_problem(error)}") from error
    return record


def validation_problem(error: ValidationError) -> str:
    """The first thing pydantic found wrong, with where it is in the record."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    return f"{location}: {first['msg']}" if location else first["msg"]


def unstorable_value(fields: dict[str, Any]) -> str | None:
    """What in a parsed record MongoDB cannot store, walked level by level from an explicit
    stack (never by recursion), or None."""
    pending: list[tuple[Any, int]] = [(fields, 1)]
    while pending:
        value, nesting = pending.pop()
        if nesting > MAX_RECORD_NESTING:
            return f"a value is nested more than {MAX_RECORD_NESTING} levels deep"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                if "\x00" in key:
                    return f"the key {key!r} holds a NUL character, which MongoDB cannot store"
                if LONE_SURROGATE.search(key):
                    return f"the key {key!r} holds a lone surrogate, which is not UTF-8"
            if isinstance(item, str) and LONE_SURROGATE.search(item):
                return f"the value of {key!r} holds a lone surrogate, which is not UTF-8"
            if isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
                return f"the value of {key!r} is an integer past MongoDB's 64 bits"
            if isinstance(item, dict | list):
                pending.append((item, nesting + 1))
    return None


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
