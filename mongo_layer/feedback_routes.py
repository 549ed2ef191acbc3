"""Moved to `mongo_layer.web.feedback_routes` in 0.2; this module forwards for one release."""

from .moved import warn_moved
from .web.feedback_routes import mount_feedback_routes

warn_moved("mongo_layer.feedback_routes", "mongo_layer.web.feedback_routes")

__all__ = ["mount_feedback_routes"]
