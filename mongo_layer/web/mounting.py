"""Every route the layer puts on Chainlit's app, mounted when the layer is created inside a
Chainlit server (outside one, nothing is mounted)."""

from typing import Protocol

from .element_routes import mount_element_routes_on_chainlit
from .feedback_routes import mount_feedback_routes_on_chainlit
from .health import ProbedLayer, mount_health_route_on_chainlit
from .routes import mount_file_route_on_chainlit
from .served import ServedLayer


class MountingLayer(ServedLayer, ProbedLayer, Protocol):
    """What the routes together need of a layer (`MongoDataLayer` is one)."""


def mount_routes_on_chainlit(
    layer: MountingLayer, file_route: bool, guard_feedback_routes: bool
) -> None:
    """The file route and the readiness route (with `file_route`), the guarded feedback
    routes (with `guard_feedback_routes`) and the guarded element deletion."""
    if file_route:
        mount_file_route_on_chainlit(layer)
        if layer.settings.health_route:
            mount_health_route_on_chainlit(layer)
    if guard_feedback_routes:
        mount_feedback_routes_on_chainlit(layer)
    mount_element_routes_on_chainlit(layer)
