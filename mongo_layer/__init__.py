"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

import importlib
from typing import TYPE_CHECKING, Any

from .capabilities import Capability, DeploymentReport, IndexStatus
from .errors import (
    ArchiveError,
    ElementConflictError,
    IncompatibleServerError,
    InvalidIdError,
    InvalidInputError,
    MongoLayerError,
    ServerUnreachableError,
    StepNotFoundError,
    ThreadAccessError,
    ThreadNotFoundError,
    ThreadTooLargeError,
    UserConflictError,
    UserNotFoundError,
)
from .settings import MongoLayerSettings

if TYPE_CHECKING:
    from .bulk import ThreadActivity
    from .layer import MongoDataLayer
    from .restore import RestoreSummary
    from .retention import DeletionSummary
    from .statistics import Statistics

# These names import Chainlit, which writes `.chainlit/` and `.files/` into its app root as
# it loads: they load on first use, so that the `mongo-layer` command can choose that root.
_LOADED_ON_FIRST_USE = {
    "MongoDataLayer": ".layer",
    "DeletionSummary": ".retention",
    "RestoreSummary": ".restore",
    "Statistics": ".statistics",
    "ThreadActivity": ".bulk",
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
    "MongoDataLayer",
    "MongoLayerError",
    "MongoLayerSettings",
    "RestoreSummary",
    "ServerUnreachableError",
    "Statistics",
    "StepNotFoundError",
    "ThreadAccessError",
    "ThreadActivity",
    "ThreadNotFoundError",
    "ThreadTooLargeError",
    "UserConflictError",
    "UserNotFoundError",
]
