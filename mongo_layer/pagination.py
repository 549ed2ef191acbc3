"""Sidebar cursors: an opaque string holding the last thread's last activity time and id."""

from datetime import datetime

from .errors import InvalidInputError
from .times import from_epoch_ms, to_epoch_ms


def encode_cursor(updated_at: datetime, thread_id: str) -> str:
    return f"{to_epoch_ms(updated_at)}:{thread_id}"


def decode_cursor(cursor: object) -> tuple[datetime, str]:
    """The position a cursor points at; a cursor this layer did not make is refused."""
    if not isinstance(cursor, str):
        raise InvalidInputError(f"thread list cursor must be a string, got {type(cursor).__name__}")
    millis, separator, thread_id = cursor.partition(":")
    if not separator or not thread_id or not millis.isdigit():
        raise InvalidInputError(f"thread list cursor {cursor!r:.80} was not made by this layer")
    return from_epoch_ms(int(millis)), thread_id
