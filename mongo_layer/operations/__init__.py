"""Operations over the stores, beside Chainlit's contract: retention, erasure, statistics,
batches, restore and maintenance. `MongoDataLayer.operations` is an `Operations`."""

from .operations import Operations
from .scheduled_retention import RetentionSchedule

__all__ = ["Operations", "RetentionSchedule"]
