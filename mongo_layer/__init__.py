"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

from .bulk import ThreadActivity
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
from .retention import DeletionSummary
from .settings import MongoLayerSettings
from .statistics import Statistics

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
