"""A guarded `DELETE /project/element`, mounted ahead of Chainlit's own.

Chainlit 2.12's route deletes the element the request body names, in the thread the body
names, through `delete_element` inside the requesting browser session. The layer refuses an
element of another thread than the session's with ThreadAccessError (see
`session_scope.py`), which Chainlit's route does not handle: the request failed with a 500.
This route runs Chainlit's own and answers that refusal as Chainlit answers a session that
is not the user's (401); nothing is deleted.
"""

import logging
from typing import Annotated, Any

from chainlit.types import ElementRequest
from fastapi import Depends, FastAPI, HTTPException

from ..errors import ThreadAccessError
from .routes import mount_ahead, mount_on_chainlit
from .served import ServedLayer

logger = logging.getLogger("mongo_layer")

DELETE_ELEMENT_ROUTE_NAME = "mongo_layer_delete_element"


def delete_element_endpoint() -> Any:
    from chainlit.auth import get_current_user
    from chainlit.server import delete_thread_element

    async def delete_element(
        payload: ElementRequest, user: Annotated[Any, Depends(get_current_user)]
    ) -> Any:
        try:
            return await delete_thread_element(payload, user)
        except ThreadAccessError as refusal:
            logger.warning("refused DELETE /project/element: %s", refusal)
            raise HTTPException(status_code=401, detail="Unauthorized") from None

    return delete_element


def mount_element_routes(app: FastAPI, layer: ServedLayer, root_path: str = "") -> str:
    """Serve the guarded `DELETE {root_path}/project/element` on `app`, ahead of Chainlit's.
    Returns the route's path."""
    path = f"{root_path.rstrip('/')}/project/element"
    mount_ahead(app, path, delete_element_endpoint(), ["DELETE"], DELETE_ELEMENT_ROUTE_NAME)
    return path


def mount_element_routes_on_chainlit(layer: ServedLayer) -> bool:
    """Put the guarded element route in front of Chainlit's. Returns whether it is."""
    return mount_on_chainlit(layer, mount_element_routes, "guarding Chainlit's element deletion")
