"""The HTTP route that serves element files from GridFS to the browser, and how the
layer's routes are mounted on Chainlit's app.

Chainlit serves no bytes for persisted elements, so the layer mounts this route on
Chainlit's own FastAPI app when it is created inside a Chainlit server. It authenticates
with Chainlit's current-user dependency and serves a file to whoever may read the thread
(see `access.may_read_thread`).
"""

import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from ..errors import InvalidIdError
from ..ids import as_id
from ..settings import MongoLayerSettings
from ..storage.files import StoredFile
from .access import may_read_thread
from .served import ServedLayer

logger = logging.getLogger("mongo_layer")

# Whatever a route mounts from: the layer, or the part of it that route needs.
MountedLayer = TypeVar("MountedLayer")

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# Positions longer than this are past the end of any file (and Python refuses to parse
# integers of more than 4,300 digits).
_MAX_POSITION_DIGITS = 18
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
FILE_ROUTE_NAME = "mongo_layer_element_file"
DEFAULT_MIME = "application/octet-stream"
# Types a browser may show in its own tab; anything else (HTML, SVG, scripts) is sent as
# an attachment, so an uploaded file can never run as a page of the app's origin.
INLINE_MIME_PREFIXES = ("image/png", "image/jpeg", "image/gif", "image/webp", "audio/", "video/")
INLINE_MIMES = frozenset({"application/pdf", "text/plain", "text/csv", "application/json"})


def chainlit_root_path() -> str:
    """The path prefix under which the browser reaches Chainlit (`--root-path`, or the path
    Chainlit was mounted at, under its parent app's own root path)."""
    mounted = os.environ.get("CHAINLIT_PARENT_ROOT_PATH", "") + os.environ.get(
        "CHAINLIT_ROOT_PATH", ""
    )
    return mounted.rstrip("/")


def element_file_url(settings: MongoLayerSettings, thread_id: str, element_id: str) -> str:
    """Where the browser fetches an element's file from (Chainlit's root path included)."""
    return f"{chainlit_root_path()}{settings.file_route}/{thread_id}/{element_id}"


def safe_mime(mime: str | None) -> str:
    """The stored MIME type if it is a well-formed `type/subtype`, else a neutral one."""
    if mime and _MIME.match(mime):
        return mime.lower()
    return DEFAULT_MIME


def is_inline_mime(mime: str) -> bool:
    return mime in INLINE_MIMES or mime.startswith(INLINE_MIME_PREFIXES)


def content_disposition(name: str, mime: str = DEFAULT_MIME) -> str:
    """A disposition whose file name cannot break out of the header: an ASCII fallback
    plus the exact name percent-encoded (RFC 6266)."""
    disposition = "inline" if is_inline_mime(mime) else "attachment"
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name)[:150].strip() or "file"
    return (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name[:150], safe='')}"
    )


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The first byte range of a `Range` header, or None to send the whole file.
    Raises 416 for a range outside the file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or length == 0:
        return None
    first, last = (position(digits, length) for digits in match.groups())
    if first is None and last is None:
        return None
    if first is None:
        start, end = max(0, length - (last or 0)), length - 1
    else:
        start = first
        end = length - 1 if last is None else min(last, length - 1)
    if start >= length or start > end:
        raise HTTPException(
            status_code=416, headers={"Content-Range": f"bytes */{length}"}, detail="bad range"
        )
    return start, end


def position(digits: str, length: int) -> int | None:
    """A byte position of a `Range` header; a huge one reads as the end of the file."""
    if not digits:
        return None
    return length if len(digits) > _MAX_POSITION_DIGITS else int(digits)


def file_endpoint(layer: ServedLayer) -> Any:
    """The endpoint serving `GET` and `HEAD .../{thread_id}/{element_id}` for `layer`."""
    from chainlit.auth import get_current_user

    async def serve_element_file(
        request: Request,
        thread_id: str,
        element_id: str,
        user: Annotated[Any, Depends(get_current_user)],
    ) -> Response:
        # One answer for "no such file" and "not yours": a stranger learns nothing.
        not_found = HTTPException(status_code=404, detail="Not found")
        try:
            thread_id = as_id(thread_id, "thread id")
            element_id = as_id(element_id, f"element id in thread {thread_id!r}")
            allowed = await layer.stores.retrier.run(
                "file_route", lambda: may_read_thread(layer, thread_id, user)
            )
        except InvalidIdError:
            raise not_found from None
        if not allowed:
            raise (
                HTTPException(status_code=401, detail="Unauthorized") if user is None else not_found
            )
        element, stored = await layer.stores.retrier.run(
            "file_route", lambda: stored_element_file(layer, thread_id, element_id)
        )
        if element is None or stored is None:
            raise not_found
        with_body = request.method != "HEAD"
        return file_response(stored, element, request.headers.get("range"), with_body)

    return serve_element_file


async def stored_element_file(
    layer: ServedLayer, thread_id: str, element_id: str
) -> tuple[dict[str, Any] | None, StoredFile | None]:
    """The element of this thread and its stored file (either None when missing)."""
    stores = layer.stores
    element = await stores.threads.find_element(thread_id, element_id)
    return element, None if element is None else await stores.files.open(element.get("fileId"))


def file_response(
    stored: StoredFile, element: dict[str, Any], range_header: str | None, with_body: bool = True
) -> Response:
    """The whole file (200) or one byte range of it (206), streamed chunk by chunk; without
    the body, the same headers (HEAD)."""
    byte_range = parse_range(range_header, stored.length)
    start, end = byte_range or (0, stored.length - 1)
    mime = safe_mime(element.get("mime") or stored.mime)
    headers = {
        "Content-Disposition": content_disposition(str(element.get("name") or stored.name), mime),
        "Content-Length": str(max(0, end - start + 1)),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        # Declared so that Chainlit's gzip middleware leaves the body (and its length) alone.
        "Content-Encoding": "identity",
    }
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{stored.length}"
    status_code = 206 if byte_range else 200
    if not with_body:
        return Response(status_code=status_code, media_type=mime, headers=headers)
    return StreamingResponse(
        stored.chunks(start, end), status_code=status_code, media_type=mime, headers=headers
    )


def mount_ahead(app: FastAPI, path: str, endpoint: Any, methods: list[str], name: str) -> None:
    """Add a route to `app` ahead of every route already there, so that it wins over
    Chainlit's own route for the same path and over its catch-all page route. Mounting a
    route of the same name again replaces it."""
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "name", None) != name
    ]
    app.add_api_route(path, endpoint, methods=methods, name=name)
    app.router.routes.insert(0, app.router.routes.pop())


def mount_file_route(app: FastAPI, layer: ServedLayer, root_path: str = "") -> str:
    """Serve `layer`'s element files on `app` at `{root_path}{file_route}/{thread}/{element}`.
    Returns the route's path."""
    path = f"{root_path.rstrip('/')}{layer.settings.file_route}/{{thread_id}}/{{element_id}}"
    mount_ahead(app, path, file_endpoint(layer), ["GET", "HEAD"], FILE_ROUTE_NAME)
    return path


def mount_on_chainlit(
    layer: MountedLayer, mount: Callable[[FastAPI, MountedLayer, str], str], what: str
) -> bool:
    """Mount routes on Chainlit's own app with `mount(app, layer, root_path)` (which returns
    their path) and log `what` they do there. Does nothing outside a Chainlit server.
    Returns whether they are mounted."""
    server = sys.modules.get("chainlit.server")
    if server is None:
        return False
    from chainlit.config import config

    # Chainlit prefixes its own routes with `config.run.root_path` (`--root-path`); when it
    # is mounted under a parent app, the mount point is not part of its route paths.
    path = mount(server.app, layer, config.run.root_path)
    logger.info("%s at %s", what, path)
    return True


def mount_file_route_on_chainlit(layer: ServedLayer) -> bool:
    """Mount the file route on Chainlit's own app. Returns whether it is mounted."""
    return mount_on_chainlit(layer, mount_file_route, "serving element files")
