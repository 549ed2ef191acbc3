"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

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
from .layer import MongoDataLayer
from .restore import RestoreSummary
from .settings import MongoLayerSettings

__all__ = [
    "ArchiveError",
    "Capability",
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
    "StepNotFoundError",
    "ThreadAccessError",
    "ThreadNotFoundError",
    "ThreadTooLargeError",
    "UserConflictError",
    "UserNotFoundError",
]
