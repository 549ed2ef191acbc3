"""Reversible escaping of free-form dictionary keys before they are stored.

Metadata, generation and element props come from app code and may use keys such as
`"a.b"` or `"$x"`. MongoDB reads a dot as a path and a leading dollar as an operator, so
both are percent-escaped on the way in and restored on the way out.

Both walks are iterative: a value nested a thousand levels deep is refused with a clear
error instead of exhausting Python's recursion limit.
"""

from collections.abc import Callable
from typing import Any

from ..errors import InvalidInputError

_ESCAPES = (("%", "%25"), (".", "%2E"), ("$", "%24"))

# MongoDB stores documents nested at most 100 levels deep. A free-form value sits at most
# four levels below its document's root (thread, steps, step, generation), so it may
# itself nest this deep.
MONGODB_MAX_NESTING = 100
MAX_VALUE_NESTING = MONGODB_MAX_NESTING - 4


def escape_key(key: str) -> str:
    if "%" not in key and "." not in key and "$" not in key:
        return key
    for raw, escaped in _ESCAPES:
        key = key.replace(raw, escaped)
    return key


def unescape_key(key: str) -> str:
    if "%" not in key:
        return key
    for raw, escaped in reversed(_ESCAPES):
        key = key.replace(escaped, raw)
    return key


def escape_keys(value: Any, what: str = "a value") -> Any:
    """Escape every key of every dict nested in `value` (tuples become lists). Raises
    InvalidInputError naming `what` when `value` nests deeper than MongoDB can store."""
    return _with_keys_renamed(value, escape_key, what, MAX_VALUE_NESTING)


def unescape_keys(value: Any) -> Any:
    """Undo `escape_keys`."""
    return _with_keys_renamed(value, unescape_key, "a stored value", None)


def _with_keys_renamed(
    value: Any, rename: Callable[[str], str], what: str, max_nesting: int | None
) -> Any:
    """A copy of `value` with every dict key passed through `rename`, built level by level
    from an explicit stack rather than by recursion."""
    if not isinstance(value, dict | list | tuple):
        return value
    copy = _empty_like(value)
    pending: list[tuple[Any, Any, int]] = [(value, copy, 1)]
    while pending:
        source, target, nesting = pending.pop()
        if max_nesting is not None and nesting > max_nesting:
            raise InvalidInputError(
                f"{what} is nested more than {max_nesting} levels deep, deeper than MongoDB"
                f" stores ({MONGODB_MAX_NESTING} levels per document)"
            )
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, dict | list | tuple):
                child = _empty_like(item)
                pending.append((item, child, nesting + 1))
            else:
                child = item
            if isinstance(target, dict):
                target[rename(str(key))] = child
            else:
                target.append(child)
    return copy


def _empty_like(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Any:
    return {} if isinstance(value, dict) else []
