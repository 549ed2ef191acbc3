"""Guarded `PUT /feedback` and `DELETE /feedback` routes, mounted ahead of Chainlit's own.

Chainlit 2.12's feedback routes hand any logged-in user's request to the data layer with
ids from the request body and no Chainlit context, so a layer cannot tell whose request it
is (Chainlit issue #2975). These routes take the same requests and give the same answers,
but rate and un-rate only steps of the requesting user's own threads; another user's step
or feedback is answered as Chainlit answers a thread one may not see (401).
"""

import logging
from typing import Annotated, Any

from chainlit.types import DeleteFeedbackRequest, Feedback, UpdateFeedbackRequest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse

from ..errors import InvalidIdError, InvalidInputError, StepNotFoundError, ThreadAccessError
from .access import identifier_of
from .routes import mount_ahead, mount_on_chainlit
from .served import ServedLayer

logger = logging.getLogger("mongo_layer")

UPDATE_FEEDBACK_ROUTE_NAME = "mongo_layer_update_feedback"
DELETE_FEEDBACK_ROUTE_NAME = "mongo_layer_delete_feedback"
UNAUTHORIZED = HTTPException(status_code=401, detail="Unauthorized")


def update_feedback_endpoint(layer: ServedLayer) -> Any:
    from chainlit.auth import get_current_user

    async def update_feedback(
        update: UpdateFeedbackRequest, user: Annotated[Any, Depends(get_current_user)]
    ) -> JSONResponse:
        try:
            rated = await layer.rate_step(update.feedback, identifier_of(user))
        except ThreadAccessError:
            raise UNAUTHORIZED from None
        except StepNotFoundError:
            raise HTTPException(status_code=404, detail="Step not found") from None
        except (InvalidIdError, InvalidInputError) as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        await call_on_feedback(rated, update.sessionId)
        return JSONResponse(content={"success": True, "feedbackId": rated.id})

    return update_feedback


async def call_on_feedback(feedback: Feedback, session_id: str) -> None:
    """Run the app's `on_feedback` callback in the rating user's session, as Chainlit does;
    its failure is logged, never the request's."""
    from chainlit.config import config

    if not config.code.on_feedback:
        return
    try:
        from chainlit.context import init_ws_context
        from chainlit.session import WebsocketSession

        init_ws_context(WebsocketSession.get_by_id(session_id))
        await config.code.on_feedback(feedback)
    except Exception:
        logger.exception("the app's on_feedback callback failed for step %r", feedback.forId)


def delete_feedback_endpoint(layer: ServedLayer) -> Any:
    from chainlit.auth import get_current_user

    async def delete_feedback(
        payload: DeleteFeedbackRequest, user: Annotated[Any, Depends(get_current_user)]
    ) -> JSONResponse:
        try:
            deleted = await layer.unrate_step(payload.feedbackId, identifier_of(user))
        except ThreadAccessError:
            raise UNAUTHORIZED from None
        except InvalidIdError:
            deleted = False
        if not deleted:
            raise HTTPException(status_code=404, detail="Feedback not found")
        return JSONResponse(content={"success": True})

    return delete_feedback


def mount_feedback_routes(app: FastAPI, layer: ServedLayer, root_path: str = "") -> str:
    """Serve the guarded feedback routes on `app` at `{root_path}/feedback`, ahead of any
    route already there. Returns the routes' path."""
    path = f"{root_path.rstrip('/')}/feedback"
    mount_ahead(app, path, update_feedback_endpoint(layer), ["PUT"], UPDATE_FEEDBACK_ROUTE_NAME)
    mount_ahead(app, path, delete_feedback_endpoint(layer), ["DELETE"], DELETE_FEEDBACK_ROUTE_NAME)
    return path


def mount_feedback_routes_on_chainlit(layer: ServedLayer) -> bool:
    """Put the guarded feedback routes in front of Chainlit's. Returns whether they are."""
    return mount_on_chainlit(layer, mount_feedback_routes, "guarding Chainlit's feedback routes")
