"""Sidebar pages and their cursors: an opaque string holding the last thread's last activity
time and id."""

import re
from datetime import datetime

from chainlit.types import PageInfo, PaginatedResponse, ThreadDict

from ..ids import as_read_id
from ..times import from_epoch_ms, to_epoch_ms
from .connection import Document
from .documents import first_or_none, sidebar_thread_from_document

# The most threads a sidebar page holds, whatever the browser asks for.
MAX_PAGE_SIZE = 100

# ASCII digits only (str.isdigit also accepts "١٢٣"), and no more than a datetime holds.
_CURSOR = re.compile(r"([0-9]{1,15}):(.+)", re.DOTALL)


def encode_cursor(updated_at: datetime, thread_id: str) -> str:
    return f"{to_epoch_ms(updated_at)}:{thread_id}"


def decode_cursor(cursor: object) -> tuple[datetime, str] | None:
    """The position a cursor points at, or None for a cursor this layer did not make
    (the browser sends it back unchecked: a forged one points nowhere)."""
    match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is None:
        return None
    thread_id = as_read_id(match.group(2))
    if thread_id is None:
        return None
    try:
        return from_epoch_ms(int(match.group(1))), thread_id
    except (OverflowError, ValueError, OSError):
        return None


def thread_page(documents: list[Document], limit: int) -> PaginatedResponse[ThreadDict]:
    """A sidebar page of the first `limit` thread documents; one more says there is a next
    page."""
    page = documents[:limit]
    return PaginatedResponse(
        PageInfo(
            hasNextPage=len(documents) > limit,
            startCursor=encode_cursor(page[0]["updatedAt"], page[0]["_id"]) if page else None,
            endCursor=encode_cursor(page[-1]["updatedAt"], page[-1]["_id"]) if page else None,
        ),
        [sidebar_thread_from_document(d, first_or_none(d.get("author"))) for d in page],
    )
