"""Moved to `mongo_layer.web.routes` in 0.2; this module forwards for one release."""

from .moved import warn_moved
from .web.routes import mount_file_route

warn_moved("mongo_layer.routes", "mongo_layer.web.routes")

__all__ = ["mount_file_route"]
