"""The file route: it serves an element's bytes from GridFS to the thread's author (or to
anyone when the thread is shared), streamed chunk by chunk, and tells a stranger nothing."""

import re
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from chainlit.config import config
from chainlit.element import File
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mongo_layer import MongoDataLayer
from mongo_layer.web.routes import FILE_ROUTE_NAME, mount_file_route, mount_file_route_on_chainlit

from .conftest import bearer, token_of
from .factories import thread_of, user

GRIDFS_CHUNK_SIZE = 255 * 1024
HOSTILE_NAME = 'évil "quoted"\r\nSet-Cookie: stolen=1; x=\\..\\.txt'


class BodyCounter:
    """ASGI wrapper recording the size of every body message the app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.body_sizes: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self.body_sizes.append(len(message["body"]))
            await send(message)

        await self.app(scope, receive, counting_send)


@pytest.fixture
async def client(
    chainlit_auth: None, layer: MongoDataLayer
) -> AsyncIterator[tuple[httpx.AsyncClient, BodyCounter]]:
    app = FastAPI()
    mount_file_route(app, layer)
    counter = BodyCounter(app)
    transport = httpx.ASGITransport(app=counter)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        yield http, counter


async def alices_file(layer: MongoDataLayer, content: bytes = b"hello world", **fields: Any) -> str:
    """Alice's thread t1 holding element e1; returns the element's URL."""
    alice = await user(layer, "alice")
    await user(layer, "bob")
    await thread_of(layer, alice, "t1", **fields.pop("thread", {}))
    fields = {"name": "a.txt", "mime": "text/plain", **fields}
    await layer.create_element(File(thread_id="t1", content=content, id="e1", **fields))
    element = await layer.get_element("t1", "e1")
    assert element is not None
    return str(element["url"])


def disposition_file_name(header: str) -> str:
    """The exact name carried by the RFC 6266 `filename*` parameter."""
    match = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert match, header
    return unquote(match.group(1))


async def test_the_author_gets_the_bytes_with_type_length_and_name(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer, b"hello world")

    response = await http.get(url, headers=bearer("alice"))

    assert response.status_code == 200
    assert response.content == b"hello world"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-length"] == "11"
    assert response.headers["content-disposition"].startswith('inline; filename="a.txt"')
    assert response.headers["accept-ranges"] == "bytes"


async def test_the_auth_cookie_works_like_the_header(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer)

    http.cookies.set("access_token", token_of("alice"))
    response = await http.get(url)

    assert response.status_code == 200


async def test_a_hostile_file_name_cannot_break_out_of_its_header(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer, name=HOSTILE_NAME)

    response = await http.get(url, headers=bearer("alice"))

    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    [header] = response.headers.get_list("content-disposition")
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert disposition_file_name(header) == HOSTILE_NAME


async def test_html_is_sent_as_an_attachment_so_it_never_runs_on_the_apps_origin(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer, b"<script>alert(1)</script>", name="x.html", mime="text/html")

    response = await http.get(url, headers=bearer("alice"))

    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=-5", 599_995, 599_999), ("bytes=261100-261200", 261100, 261200)],
)
async def test_a_byte_range_is_served_as_partial_content(
    layer: MongoDataLayer,
    client: tuple[httpx.AsyncClient, BodyCounter],
    range_header: str,
    start: int,
    end: int,
) -> None:
    http, _ = client
    content = bytes(i % 251 for i in range(600_000))
    url = await alices_file(layer, content)

    response = await http.get(url, headers={**bearer("alice"), "Range": range_header})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/600000"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == content[start : end + 1]


async def test_a_range_outside_the_file_is_refused(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer, b"0123456789")

    response = await http.get(url, headers={**bearer("alice"), "Range": "bytes=10-20"})

    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10"


async def test_another_user_cannot_tell_a_forbidden_file_from_a_missing_one(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer)
    missing_element = url.replace("/e1", "/nope")
    missing_thread = url.replace("/t1/", "/nope/")

    forbidden = await http.get(url, headers=bearer("bob"))
    missing = [await http.get(u, headers=bearer("bob")) for u in (missing_element, missing_thread)]
    alice_missing = await http.get(missing_element, headers=bearer("alice"))

    assert forbidden.status_code in (401, 403, 404)
    answer = (forbidden.status_code, forbidden.content)
    for response in [*missing, alice_missing]:
        assert (response.status_code, response.content) == answer


async def test_an_unauthenticated_request_gets_401(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer)

    assert (await http.get(url)).status_code == 401
    assert (await http.get(url.replace("/e1", "/nope"))).status_code == 401
    assert (await http.get(url, headers={"Authorization": "Bearer forged"})).status_code == 401


async def test_a_shared_thread_is_readable_by_another_user(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter], thread_sharing: None
) -> None:
    http, _ = client
    url = await alices_file(layer, b"shared", thread={"metadata": {"is_shared": True}})

    response = await http.get(url, headers=bearer("bob"))

    assert (response.status_code, response.content) == (200, b"shared")


async def test_the_apps_shared_thread_callback_can_open_a_thread(
    layer: MongoDataLayer,
    client: tuple[httpx.AsyncClient, BodyCounter],
    monkeypatch: pytest.MonkeyPatch,
    thread_sharing: None,
) -> None:
    http, _ = client
    url = await alices_file(layer, b"allowed")

    async def only_bob(thread: dict[str, Any], viewer: Any) -> bool:
        return thread["id"] == "t1" and viewer is not None and viewer.identifier == "bob"

    monkeypatch.setattr(config.code, "on_shared_thread_view", only_bob)

    assert (await http.get(url, headers=bearer("bob"))).status_code == 200
    assert (await http.get(url, headers=bearer("carol"))).status_code == 404


async def test_with_sharing_off_a_shared_thread_stays_its_authors_alone(
    layer: MongoDataLayer,
    client: tuple[httpx.AsyncClient, BodyCounter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, _ = client
    url = await alices_file(layer, b"shared", thread={"metadata": {"is_shared": True}})

    async def everyone(thread: dict[str, Any], viewer: Any) -> bool:
        return True

    monkeypatch.setattr(config.code, "on_shared_thread_view", everyone)

    assert (await http.get(url, headers=bearer("bob"))).status_code == 404
    assert (await http.get(url, headers=bearer("alice"))).status_code == 200


async def test_head_answers_like_get_without_the_body(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, _ = client
    url = await alices_file(layer, b"hello world")

    head = await http.head(url, headers=bearer("alice"))
    get = await http.get(url, headers=bearer("alice"))

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "content-disposition", "accept-ranges"):
        assert head.headers[name] == get.headers[name]
    assert (await http.head(url, headers=bearer("bob"))).status_code == 404


@pytest.mark.parametrize(
    ("range_header", "status", "body"),
    [
        ("bytes=" + "9" * 5000 + "-", 416, b""),
        ("bytes=0-" + "9" * 5000, 206, b"0123456789"),
        ("bytes=-" + "9" * 5000, 206, b"0123456789"),
        ("bytes=" + "9" * 5000 + "-" + "9" * 5000, 416, b""),
    ],
)
async def test_a_range_with_thousands_of_digits_is_answered_never_a_500(
    layer: MongoDataLayer,
    client: tuple[httpx.AsyncClient, BodyCounter],
    range_header: str,
    status: int,
    body: bytes,
) -> None:
    http, _ = client
    url = await alices_file(layer, b"0123456789")

    response = await http.get(url, headers={**bearer("alice"), "Range": range_header})

    assert (response.status_code, response.content if status != 416 else b"") == (status, body)


async def test_a_50_mb_file_is_streamed_one_gridfs_chunk_at_a_time(
    layer: MongoDataLayer, client: tuple[httpx.AsyncClient, BodyCounter]
) -> None:
    http, counter = client
    content = bytes(range(256)) * (50 * 1024 * 1024 // 256)
    url = await alices_file(layer, content, name="big.bin", mime="application/octet-stream")

    response = await http.get(url, headers=bearer("alice"))

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(content))
    assert response.content == content
    assert len(counter.body_sizes) >= len(content) // GRIDFS_CHUNK_SIZE
    assert max(counter.body_sizes) <= GRIDFS_CHUNK_SIZE


@pytest.mark.parametrize("mounting", ["root-path option", "mounted under a parent app"])
async def test_the_url_honours_chainlits_root_path(
    layer: MongoDataLayer,
    chainlit_auth: None,
    monkeypatch: pytest.MonkeyPatch,
    mounting: str,
) -> None:
    monkeypatch.setenv("CHAINLIT_ROOT_PATH", "/chat")
    url = await alices_file(layer, b"rooted")
    assert url == "/chat/mongo-layer/files/t1/e1"
    if mounting == "root-path option":
        app = FastAPI()
        mount_file_route(app, layer, root_path="/chat")
    else:
        chainlit_app = FastAPI()
        mount_file_route(chainlit_app, layer)
        app = FastAPI()
        app.mount("/chat", chainlit_app)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        response = await http.get(url, headers=bearer("alice"))

    assert (response.status_code, response.content) == (200, b"rooted")


async def test_the_layer_mounts_its_route_on_chainlits_app_ahead_of_the_page_route(
    layer: MongoDataLayer, chainlit_auth: None
) -> None:
    import chainlit.server

    url = await alices_file(layer, b"from chainlit")
    mounted = mount_file_route_on_chainlit(layer)
    try:
        transport = httpx.ASGITransport(app=chainlit.server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            response = await http.get(url, headers=bearer("alice"))
    finally:
        routes = chainlit.server.app.router.routes
        routes[:] = [r for r in routes if getattr(r, "name", None) != FILE_ROUTE_NAME]

    assert mounted
    assert (response.status_code, response.content) == (200, b"from chainlit")


def test_outside_a_chainlit_server_nothing_is_mounted(
    monkeypatch: pytest.MonkeyPatch, layer: MongoDataLayer
) -> None:
    monkeypatch.delitem(sys.modules, "chainlit.server", raising=False)

    assert mount_file_route_on_chainlit(layer) is False
