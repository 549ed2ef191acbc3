"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ArchiveError,
    ElementConflictError,
    IncompatibleServerError,
    InvalidIdError,
    InvalidInputError,
    InvalidUriError,
    MongoLayerError,
    RestoreRefusedError,
    ServerUnreachableError,
    StepNotFoundError,
    ThreadAccessError,
    ThreadNotFoundError,
    ThreadTooLargeError,
    UserConflictError,
    UserNotFoundError,
)
from .settings import MongoLayerSettings
from .storage.capabilities import Capability, DeploymentReport, IndexStatus

if TYPE_CHECKING:
    from .layer import MongoDataLayer
    from .operations import Operations
    from .operations.bulk import ThreadActivity
    from .operations.bulk_restore import ThreadToRestore
    from .operations.restore import RestoreSummary
    from .operations.retention import DeletionSummary
    from .operations.scheduled_retention import RetentionSchedule
    from .operations.statistics import Statistics

# These names import Chainlit, which writes `.chainlit/` and `.files/` into its app root as
# it loads: they load on first use, so that the `mongo-layer` command can choose that root.
_LOADED_ON_FIRST_USE = {
    "MongoDataLayer": ".layer",
    "Operations": ".operations",
    "DeletionSummary": ".operations.retention",
    "RestoreSummary": ".operations.restore",
    "RetentionSchedule": ".operations.scheduled_retention",
    "Statistics": ".operations.statistics",
    "ThreadActivity": ".operations.bulk",
    "ThreadToRestore": ".operations.bulk_restore",
}


def __getattr__(name: str) -> Any:
    module = _LOADED_ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'mongo_layer' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "ArchiveError",
    "Capability",
    "DeletionSummary",
    "DeploymentReport",
    "ElementConflictError",
    "IncompatibleServerError",
    "IndexStatus",
    "InvalidIdError",
    "InvalidInputError",
    "InvalidUriError",
    "MongoDataLayer",
    "MongoLayerError",
    "MongoLayerSettings",
    "Operations",
    "RestoreRefusedError",
    "RestoreSummary",
    "RetentionSchedule",
    "ServerUnreachableError",
    "Statistics",
    "StepNotFoundError",
    "ThreadAccessError",
    "ThreadActivity",
    "ThreadNotFoundError",
    "ThreadToRestore",
    "ThreadTooLargeError",
    "UserConflictError",
    "UserNotFoundError",
]
