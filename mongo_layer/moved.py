"""The calls that left `MongoDataLayer` for `layer.operations` in 0.2. For one release the old
names still work: each forwards to its new home and warns, so an app or script written against
0.1 keeps running while it is updated. The next release removes this module."""

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .operations import Operations

MOVED_TO_OPERATIONS = frozenset(
    {
        "delete_threads_older_than",
        "document_counts",
        "erase_user",
        "open_element_file",
        "prune_orphans",
        "restore_thread",
        "restore_threads",
        "restore_user",
        "statistics",
        "thread_batches",
        "user_batches",
    }
)


def warn_moved(old: str, new: str) -> None:
    warnings.warn(
        f"{old} moved to {new}; the old name goes in the next release",
        DeprecationWarning,
        stacklevel=3,
    )


class ForwardsMovedCalls:
    """Mixed into MongoDataLayer: `layer.statistics()` and the other moved calls still answer,
    through `layer.operations`, with a DeprecationWarning. Type checkers see no such names, so
    new code cannot come to depend on them."""

    operations: "Operations"

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name not in MOVED_TO_OPERATIONS:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            warn_moved(f"MongoDataLayer.{name}", f"layer.operations.{name}")
            return getattr(self.operations, name)
