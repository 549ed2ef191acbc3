"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

from .errors import (
    ArchiveError,
    ElementConflictError,
    InvalidIdError,
    InvalidInputError,
    MongoLayerError,
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
    "ElementConflictError",
    "InvalidIdError",
    "InvalidInputError",
    "MongoDataLayer",
    "MongoLayerError",
    "MongoLayerSettings",
    "RestoreSummary",
    "StepNotFoundError",
    "ThreadAccessError",
    "ThreadNotFoundError",
    "ThreadTooLargeError",
    "UserConflictError",
    "UserNotFoundError",
]
