"""The exceptions mongo_layer raises. Each message names the thread, step or element concerned."""

from collections.abc import Callable

# What a message says a checked value is: the text, or a function making it. The hot paths
# (a step write checks a dozen values) pass a function, so the text, with its reprs, is
# only formatted for the error that is raised.
Naming = str | Callable[[], str]


def named(what: Naming) -> str:
    """The text a message uses for `what`."""
    return what if isinstance(what, str) else what()


class MongoLayerError(Exception):
    """Base class of every error raised by mongo_layer."""


class InvalidIdError(MongoLayerError, TypeError):
    """An id was not a string-like value (a dict or list there would be a query operator),
    or was text that cannot be stored (a lone surrogate is not UTF-8)."""


class InvalidInputError(MongoLayerError, ValueError):
    """A value from the caller cannot be stored as given (a bad timestamp, cursor or feedback)."""


class ThreadNotFoundError(MongoLayerError, LookupError):
    """The thread does not exist."""


class StepNotFoundError(MongoLayerError, LookupError):
    """No thread holds a step with this id."""


class ElementConflictError(MongoLayerError):
    """The element id already belongs to another thread; it is never moved or overwritten."""


class ThreadAccessError(MongoLayerError, PermissionError):
    """A user or browser session tried to change a thread other than its own."""


class ThreadTooLargeError(MongoLayerError):
    """A write would take a thread document past MongoDB's document size limit."""


class UserConflictError(MongoLayerError):
    """A restored user's identifier or id already belongs to a different stored user."""


class RestoreRefusedError(MongoLayerError):
    """Restoring a thread would change what belongs to someone else: a stored thread of
    another owner, or an element or feedback id another thread holds. Nothing was written."""


class ArchiveError(MongoLayerError):
    """An archive cannot be written or read: not an archive, a newer version, cut off."""


class UserNotFoundError(MongoLayerError, LookupError):
    """No user with this identifier is stored."""


class InvalidUriError(MongoLayerError, ValueError):
    """The connection string cannot be used as given (malformed, a port out of range, an
    unknown scheme or option value); the driver refused it before contacting anything."""


class ServerUnreachableError(MongoLayerError, ConnectionError):
    """No server answered within the server selection timeout; the message names the hosts."""


class IncompatibleServerError(MongoLayerError):
    """The server lacks what the layer uses (too old, or a service without those features);
    the message names the server, its version and what is missing."""
