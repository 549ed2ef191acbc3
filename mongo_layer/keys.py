"""Reversible escaping of free-form dictionary keys before they are stored.

Metadata, generation and element props come from app code and may use keys such as
`"a.b"` or `"$x"`. MongoDB reads a dot as a path and a leading dollar as an operator, so
both are percent-escaped on the way in and restored on the way out.
"""

from typing import Any

_ESCAPES = (("%", "%25"), (".", "%2E"), ("$", "%24"))


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


def escape_keys(value: Any) -> Any:
    """Escape every key of every dict nested in `value`."""
    if isinstance(value, dict):
        return {escape_key(str(key)): escape_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escape_keys(item) for item in value]
    return value


def unescape_keys(value: Any) -> Any:
    """Undo `escape_keys`."""
    if isinstance(value, dict):
        return {unescape_key(key): unescape_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescape_keys(item) for item in value]
    return value
