"""Values of Chainlit's SQL rows turned back into what the app gave Chainlit.

Both SQL layers store JSON as text on some databases, times as naive timestamps or ISO
text, and `showInput` as the string of a boolean; the layer would have stored the values
themselves.
"""

import json
from datetime import UTC, datetime
from typing import Any

from ..times import format_time, parse_time

SHOW_INPUT_BOOLEANS = {"true": True, "false": False}


def json_value(value: Any, default: Any = None) -> Any:
    """A JSON column's value: decoded when the driver returned text, as is otherwise."""
    if value is None:
        return default
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def json_object(value: Any) -> dict[str, Any]:
    decoded = json_value(value, {})
    return decoded if isinstance(decoded, dict) else {}


def time_text(value: Any) -> str | None:
    """A time column (a naive UTC datetime or ISO text) as ISO-8601 UTC with a `Z`."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return format_time(aware)
    parsed = parse_time(str(value), "a time column")
    return format_time(parsed) if parsed is not None else None


def show_input(value: Any) -> bool | str | None:
    """`showInput` as the app set it: Chainlit's SQL layers store `str(True)` or `"true"`."""
    if isinstance(value, str) and value.lower() in SHOW_INPUT_BOOLEANS:
        return SHOW_INPUT_BOOLEANS[value.lower()]
    return value  # type: ignore[no-any-return]


def text_id(value: Any) -> str | None:
    """An id column (TEXT or UUID) as text; None stays None."""
    return None if value is None else str(value)


def flag(value: Any) -> bool | None:
    """A BOOLEAN column (SQLite returns 0 or 1) as a boolean; None stays None."""
    return None if value is None else bool(value)
