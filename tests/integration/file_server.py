"""A FastAPI app serving the layer's file route to alice and its health route, run by uvicorn
in its own process: a test measures what serving files costs that process in memory, or
probes the health route of a running app.

Usage: python file_server.py PORT (MONGODB_URI, MONGODB_DATABASE, MONGO_LAYER_DRIVER and
any MONGO_LAYER_* setting from the environment). `/ready` answers once it serves.
"""

import os
import sys
from typing import Any, Literal, cast

import uvicorn
from chainlit.auth import get_current_user
from chainlit.user import User
from fastapi import FastAPI

from mongo_layer import MongoDataLayer
from mongo_layer.web.health import mount_health_route
from mongo_layer.web.routes import mount_file_route


def alice() -> User:
    return User(identifier="alice")


def file_server_app() -> FastAPI:
    driver = cast(Literal["motor", "pymongo"], os.environ["MONGO_LAYER_DRIVER"])
    layer = MongoDataLayer.from_env(
        driver=driver,
        mount_file_route=False,
        guard_feedback_routes=False,
    )
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> dict[str, Any]:
        return {"ok": True}

    mount_file_route(app, layer)
    mount_health_route(app, layer)
    app.dependency_overrides[get_current_user] = alice
    return app


if __name__ == "__main__":
    uvicorn.run(file_server_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
