"""MongoDB data layer for Chainlit.

@cl.data_layer
def data_layer():
    return MongoDataLayer.from_env()
"""

from .errors import (
    ElementConflictError,
    InvalidIdError,
    InvalidInputError,
    MongoLayerError,
    StepNotFoundError,
    ThreadAccessError,
    ThreadNotFoundError,
    ThreadTooLargeError,
)
from .layer import MongoDataLayer
from .settings import MongoLayerSettings

__all__ = [
    "ElementConflictError",
    "InvalidIdError",
    "InvalidInputError",
    "MongoDataLayer",
    "MongoLayerError",
    "MongoLayerSettings",
    "StepNotFoundError",
    "ThreadAccessError",
    "ThreadNotFoundError",
    "ThreadTooLargeError",
]
