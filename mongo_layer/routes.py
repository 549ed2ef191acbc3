"""The HTTP route that serves element files from GridFS to the browser.

Chainlit serves no bytes for persisted elements, so the layer mounts this route on
Chainlit's own FastAPI app when it is created inside a Chainlit server. It authenticates
with Chainlit's current-user dependency and serves a file to the thread's author, or to
anyone when the thread is shared.
"""

import logging
import os
import re
import sys
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from .errors import InvalidIdError

if TYPE_CHECKING:
    from .layer import MongoDataLayer

logger = logging.getLogger("mongo_layer")

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MOUNTED_ROUTE_NAME = "mongo_layer_element_file"


def chainlit_root_path() -> str:
    """The path prefix under which the browser reaches Chainlit (`--root-path`, or the path
    Chainlit was mounted at, under its parent app's own root path)."""
    mounted = os.environ.get("CHAINLIT_PARENT_ROOT_PATH", "") + os.environ.get(
        "CHAINLIT_ROOT_PATH", ""
    )
    return mounted.rstrip("/")


def content_disposition(name: str) -> str:
    """An `inline` disposition whose file name cannot break out of the header."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name)[:150] or "file"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name[:150], safe='')}"


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The first byte range of a `Range` header, or None to send the whole file.
    Raises 416 for a range outside the file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or length == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(0, length - int(last)), length - 1
    else:
        start = int(first)
        end = min(int(last), length - 1) if last else length - 1
    if start >= length or start > end:
        raise HTTPException(
            status_code=416, headers={"Content-Range": f"bytes */{length}"}, detail="bad range"
        )
    return start, end


async def may_read_thread(layer: "MongoDataLayer", thread_id: str, user: Any) -> bool:
    """The thread's author may read it; anyone may when it is shared, or when the app's
    `on_shared_thread_view` callback allows it."""
    author = await layer.threads.find_author(thread_id)
    if author is None:
        return False
    if user is not None and user.identifier in (author.get("author") or []):
        return True
    if (author.get("metadata") or {}).get("is_shared") is True:
        return True
    from chainlit.config import config

    on_shared_thread_view = getattr(config.code, "on_shared_thread_view", None)
    if on_shared_thread_view is None:
        return False
    thread = await layer.get_thread(thread_id)
    try:
        return bool(thread and await on_shared_thread_view(thread, user))
    except Exception:
        logger.exception("on_shared_thread_view failed for thread %r", thread_id)
        return False


def file_endpoint(layer: "MongoDataLayer") -> Any:
    from chainlit.auth import get_current_user

    async def serve_element_file(
        request: Request,
        thread_id: str,
        element_id: str,
        user: Annotated[Any, Depends(get_current_user)],
    ) -> Response:
        not_found = HTTPException(status_code=404, detail="Not found")
        try:
            allowed = await may_read_thread(layer, thread_id, user)
        except InvalidIdError:
            raise not_found from None
        if not allowed:
            raise (
                HTTPException(status_code=401, detail="Unauthorized") if user is None else not_found
            )
        element = await layer.threads.find_element(thread_id, element_id)
        if element is None or element.get("fileId") is None:
            raise not_found
        stored = await layer.files.open(element["fileId"])
        byte_range = parse_range(request.headers.get("range"), stored.length)
        start, end = byte_range or (0, stored.length - 1)
        headers = {
            "Content-Disposition": content_disposition(element.get("name") or stored.name),
            "Content-Length": str(max(0, end - start + 1)),
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        }
        if byte_range:
            headers["Content-Range"] = f"bytes {start}-{end}/{stored.length}"
        return StreamingResponse(
            stored.chunks(start, end) if stored.length else iter([b""]),
            status_code=206 if byte_range else 200,
            media_type=element.get("mime") or stored.mime,
            headers=headers,
        )

    return serve_element_file


def mount_file_route_on_chainlit(layer: "MongoDataLayer") -> bool:
    """Mount the file route on Chainlit's app, ahead of its catch-all page route.
    Does nothing outside a Chainlit server. Returns whether the route is mounted."""
    server = sys.modules.get("chainlit.server")
    if server is None:
        return False
    from chainlit.config import config

    app = server.app
    path = f"{config.run.root_path}{layer.settings.file_route}/{{thread_id}}/{{element_id}}"
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "name", None) != _MOUNTED_ROUTE_NAME
    ]
    app.add_api_route(path, file_endpoint(layer), methods=["GET"], name=_MOUNTED_ROUTE_NAME)
    app.router.routes.insert(0, app.router.routes.pop())
    logger.info("serving element files at %s", path)
    return True
