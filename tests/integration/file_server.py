"""A FastAPI app serving the layer's file route to alice, run by uvicorn in its own process
so that a test can measure what serving files costs that process in memory.

Usage: python file_server.py PORT (MONGODB_URI, MONGODB_DATABASE and MONGO_LAYER_DRIVER
from the environment).
"""

import os
import sys
from typing import Any, Literal, cast

import uvicorn
from chainlit.auth import get_current_user
from chainlit.user import User
from fastapi import FastAPI

from mongo_layer import MongoDataLayer
from mongo_layer.web.routes import mount_file_route


def alice() -> User:
    return User(identifier="alice")


def file_server_app() -> FastAPI:
    driver = cast(Literal["motor", "pymongo"], os.environ["MONGO_LAYER_DRIVER"])
    layer = MongoDataLayer.from_uri(
        os.environ["MONGODB_URI"],
        os.environ["MONGODB_DATABASE"],
        driver=driver,
        mount_file_route=False,
        guard_feedback_routes=False,
    )
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    mount_file_route(app, layer)
    app.dependency_overrides[get_current_user] = alice
    return app


if __name__ == "__main__":
    uvicorn.run(file_server_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
