"""Reversible escaping of free-form dictionary keys before they are stored.

Metadata, generation and element props come from app code and may use keys such as
`"a.b"` or `"$x"`. MongoDB reads a dot as a path and a leading dollar as an operator, so
both are percent-escaped on the way in and restored on the way out.

The walks are iterative: a value nested a thousand levels deep is refused with a clear
error (or, where a value must be stored whatever it holds, cut at the deepest level
MongoDB stores) instead of exhausting Python's recursion limit.
"""

from collections.abc import Callable
from typing import Any

from ..errors import InvalidInputError, Naming, named
from ..ids import is_unicode_text

_ESCAPES = (("%", "%25"), (".", "%2E"), ("$", "%24"))

# MongoDB stores documents nested at most 100 levels deep. A free-form value sits at most
# four levels below its document's root (thread, steps, step, generation), so it may
# itself nest this deep.
MONGODB_MAX_NESTING = 100
MAX_VALUE_NESTING = MONGODB_MAX_NESTING - 4


# The values whose dict keys are escaped, at any depth (a tuple is stored as a list). A
# tuple of types, not `dict | list | tuple`: that union is built anew at every check.
CONTAINERS = (dict, list, tuple)


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


def escape_keys(value: Any, what: Naming = "a value") -> Any:
    """Escape every key of every dict nested in `value` (tuples become lists). Raises
    InvalidInputError naming `what` when `value` nests deeper than MongoDB can store."""
    copy, _ = _with_keys_renamed(value, escape_key, what, MAX_VALUE_NESTING)
    return copy


def escape_storable_keys(value: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """`escape_keys` for a dict of values that must be stored whatever they hold: what
    MongoDB cannot store is left out instead of refused. That is an entry whose key holds
    NUL or a lone surrogate, text holding a lone surrogate, an integer past 64 bits, and a
    dict or list nested deeper than a value may be. Returns the copy and how many entries
    were left out."""
    copy, left_out = _with_keys_renamed(
        value, escape_key, "a value", MAX_VALUE_NESTING + 1, leave_out_unstorable=True
    )
    stored: dict[str, Any] = copy
    return stored, left_out


def storable_part(value: Any) -> tuple[Any, int]:
    """What of a value whose keys are escaped already MongoDB can store (see
    `escape_storable_keys`), and how many entries were left out."""
    return _with_keys_renamed(
        value, _same_key, "a value", MAX_VALUE_NESTING + 1, leave_out_unstorable=True
    )


def _same_key(key: str) -> str:
    return key


def unescape_keys(value: Any) -> Any:
    """Undo `escape_keys`."""
    copy, _ = _with_keys_renamed(value, unescape_key, "a stored value", None)
    return copy


def _with_keys_renamed(
    value: Any,
    rename: Callable[[str], str],
    what: Naming,
    max_nesting: int | None,
    leave_out_unstorable: bool = False,
) -> tuple[Any, int]:
    """A copy of `value` with every dict key passed through `rename`, built level by level
    from an explicit stack rather than by recursion, and how many entries it left out."""
    if not isinstance(value, CONTAINERS):
        return value, 0
    copy = _empty_like(value)
    if not value:
        return copy, 0
    left_out = 0
    pending: list[tuple[Any, Any, int]] = [(value, copy, 1)]
    while pending:
        source, target, nesting = pending.pop()
        if max_nesting is not None and nesting > max_nesting:
            raise InvalidInputError(
                f"{named(what)} is nested more than {max_nesting} levels deep, deeper than MongoDB"
                f" stores ({MONGODB_MAX_NESTING} levels per document)"
            )
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if leave_out_unstorable and not _is_storable_entry(
                str(key) if isinstance(target, dict) else "", item, nesting, max_nesting
            ):
                left_out += 1
                continue
            if isinstance(item, CONTAINERS):
                child = _empty_like(item)
                pending.append((item, child, nesting + 1))
            else:
                child = item
            if isinstance(target, dict):
                target[rename(str(key))] = child
            else:
                target.append(child)
    return copy, left_out


def _is_storable_entry(key: str, item: Any, nesting: int, max_nesting: int | None) -> bool:
    """Whether BSON can encode an entry of a dict or list nested `nesting` deep (a list
    item's key is "")."""
    if "\x00" in key or not is_unicode_text(key):
        return False
    if isinstance(item, CONTAINERS):
        return max_nesting is None or nesting < max_nesting
    if isinstance(item, str):
        return is_unicode_text(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return is_int64(item)
    return True


def is_int64(value: int) -> bool:
    """Whether BSON can store the integer (as a 64-bit one)."""
    return -(2**63) <= value < 2**63


def _empty_like(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Any:
    return {} if isinstance(value, dict) else []
