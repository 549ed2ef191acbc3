"""Coercion of ids coming from Chainlit or the browser into plain strings.

Every id goes through `as_id` before it reaches a MongoDB filter: a dict in a filter would
be read as a query operator, so anything that is not a scalar is refused. So is text that
is not valid Unicode (a lone surrogate such as "\\ud800", which JSON lets a browser send):
BSON stores UTF-8, and the driver would fail to encode it in the middle of a request.
"""

from uuid import UUID

from .errors import InvalidIdError, Naming, named

# What an id may be given as (a tuple: checked on every call).
ID_TYPES = (str, int, UUID)


def as_id(value: object, what: Naming) -> str:
    """Return `value` as a non-empty string id, or raise InvalidIdError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, ID_TYPES):
        raise InvalidIdError(
            f"{named(what)} must be a string, got {type(value).__name__}: {value!r:.80}"
        )
    text = str(value)
    if not text:
        raise InvalidIdError(f"{named(what)} must not be empty")
    if not is_unicode_text(text):
        raise InvalidIdError(f"{named(what)} holds a lone surrogate, not UTF-8 text: {text!r:.80}")
    return text


def is_unicode_text(text: str) -> bool:
    """Whether `text` can be encoded as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_optional_id(value: object, what: Naming) -> str | None:
    """Like `as_id`, but None and "" mean "no id"."""
    if value is None or value == "":
        return None
    return as_id(value, what)


def as_read_id(value: object) -> str | None:
    """`value` as a string id to look up, or None when no stored id can equal it (empty,
    or not a scalar): a read with such an id answers "not found" instead of raising."""
    try:
        return as_id(value, "id")
    except InvalidIdError:
        return None


def without_lone_surrogates(text: str) -> str:
    """`text` as UTF-8 can hold it: any lone surrogate left out."""
    return text if is_unicode_text(text) else text.encode("utf-8", "ignore").decode("utf-8")
