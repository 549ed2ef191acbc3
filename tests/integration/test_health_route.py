"""The health route: 200 with the ping's latency while the database answers, 503 and why
(never a host, never a hang, never a 500) when it does not, one ping per second however many
probes come, mounted on Chainlit's app with the file route."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import httpx
import pytest
from chainlit.config import config
from conftest import CommandCounter, MongoServer
from fastapi import FastAPI

from mongo_layer import MongoDataLayer, MongoLayerSettings
from mongo_layer.embedded import EmbeddedServer, free_port
from mongo_layer.web.health import HEALTH_ROUTE_NAME, mount_health_route
from mongo_layer.web.routes import FILE_ROUTE_NAME

from .conftest import AppServer, running_file_server

HEALTH = "/mongo-layer/health"
TIMEOUT_MS = 1000
# The answer must come within the timeout plus this (process scheduling on a busy machine).
A_LITTLE = 1.5


class EveryCommand(CommandCounter):
    """Counts every command, `ping` included."""

    IGNORED = frozenset()


@pytest.fixture
def commands() -> CommandCounter:
    return EveryCommand()


@pytest.fixture
async def http(layer: MongoDataLayer) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    mount_health_route(app, layer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that takes TCP connections and never answers: a server gone unreachable."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def names_no_address(body: dict[str, Any], port: int) -> None:
    text = str(body)
    for secret in ("127.0.0.1", "localhost", str(port), "mongodb://", "@"):
        assert secret not in text, f"{secret!r} in {text}"


async def probe(server: AppServer) -> tuple[int, dict[str, Any], float]:
    """Status, body and how long the answer took."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{server.url}{HEALTH}")
    return response.status_code, response.json(), time.monotonic() - started


def is_unavailable(status: int, body: dict[str, Any], took: float) -> None:
    assert status == 503, body
    assert set(body) == {"status", "reason"}
    assert body["status"] == "unavailable"
    assert body["reason"] and "\n" not in body["reason"]
    assert took < TIMEOUT_MS / 1000 + A_LITTLE, f"answered after {took:.2f} s"


async def test_a_running_app_answers_200_with_the_latency_then_503_once_the_server_stops(
    driver: str, tmp_path: Path
) -> None:
    server = EmbeddedServer(tmp_path / "db")
    server.start()
    try:
        environment = {"MONGO_LAYER_HEALTH_TIMEOUT_MS": str(TIMEOUT_MS)}
        async with running_file_server(server.uri, "health", driver, **environment) as app:
            status, body, _ = await probe(app)
            assert status == 200, body
            assert set(body) == {"status", "latencyMs"}
            assert body["status"] == "ok"
            assert 0 <= body["latencyMs"] < TIMEOUT_MS
            names_no_address(body, server.port)

            server.stop()
            await asyncio.sleep(1.1)  # past the shared answer's second
            status, body, took = await probe(app)
            is_unavailable(status, body, took)
            names_no_address(body, server.port)
    finally:
        server.stop()


@pytest.mark.parametrize("server_is", ["silent", "not listening"])
async def test_a_running_app_answers_503_within_the_timeout_when_the_server_is_unreachable(
    driver: str, black_hole: int, server_is: str
) -> None:
    port = black_hole if server_is == "silent" else free_port()
    uri = f"mongodb://someone:hunter2@127.0.0.1:{port}/?directConnection=true"
    environment = {"MONGO_LAYER_HEALTH_TIMEOUT_MS": str(TIMEOUT_MS)}
    async with running_file_server(uri, "health", driver, **environment) as app:
        answers = [await probe(app) for _ in range(2)]

    for status, body, took in answers:
        is_unavailable(status, body, took)
        names_no_address(body, port)
        assert "someone" not in str(body) and "hunter2" not in str(body)


async def test_a_burst_of_probes_shares_one_ping(
    http: httpx.AsyncClient, commands: CommandCounter
) -> None:
    responses = await asyncio.gather(*(http.get(HEALTH) for _ in range(50)))

    assert {response.status_code for response in responses} == {200}
    assert commands.commands.count("ping") == 1


async def test_probes_cost_the_server_at_most_one_ping_per_second(
    http: httpx.AsyncClient, commands: CommandCounter
) -> None:
    started = time.monotonic()
    while time.monotonic() - started < 2.5:
        assert (await http.get(HEALTH)).status_code == 200
    elapsed = time.monotonic() - started

    pings = commands.commands.count("ping")
    assert 2 <= pings <= int(elapsed) + 1


async def test_the_route_needs_no_login_and_is_not_cached(http: httpx.AsyncClient) -> None:
    response = await http.get(HEALTH)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def chainlit_routes() -> Iterator[list[Any]]:
    """Chainlit's app routes, with whatever a test mounted on them removed afterwards."""
    import chainlit.server

    routes = chainlit.server.app.router.routes
    yield routes
    routes[:] = [
        r for r in routes if getattr(r, "name", None) not in (HEALTH_ROUTE_NAME, FILE_ROUTE_NAME)
    ]


@pytest.mark.parametrize(
    ("health_route", "path"),
    [("/mongo-layer/health", "/chat/mongo-layer/health"), ("/probes/db", "/chat/probes/db")],
)
async def test_the_layer_mounts_it_on_chainlits_app_under_its_root_path(
    mongo_server: MongoServer,
    database_name: str,
    driver: str,
    chainlit_routes: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    health_route: str,
    path: str,
) -> None:
    import chainlit.server

    monkeypatch.setattr(config.run, "root_path", "/chat")
    settings = MongoLayerSettings(database=database_name, health_route=health_route)
    layer = MongoDataLayer(
        mongo_server.uri,
        settings=settings,
        driver=cast(Literal["motor", "pymongo"], driver),
        guard_feedback_routes=False,
    )
    try:
        transport = httpx.ASGITransport(app=chainlit.server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get(path)
    finally:
        await layer.close()

    assert (response.status_code, response.json()["status"]) == (200, "ok")


@pytest.mark.parametrize(
    ("health_route", "mount_file_route"), [("off", True), ("", True), (HEALTH, False)]
)
async def test_the_route_is_turned_off_by_its_setting_or_with_the_file_route(
    chainlit_routes: list[Any], health_route: str, mount_file_route: bool
) -> None:
    settings = MongoLayerSettings(health_route=health_route)
    layer = MongoDataLayer(
        "mongodb://127.0.0.1:1",
        settings=settings,
        mount_file_route=mount_file_route,
        guard_feedback_routes=False,
    )
    await layer.close()

    assert HEALTH_ROUTE_NAME not in [getattr(r, "name", None) for r in chainlit_routes]


def test_the_environment_moves_it_sets_its_timeout_or_turns_it_off() -> None:
    moved = MongoLayerSettings.from_env(
        {"MONGO_LAYER_HEALTH_ROUTE": "/probe", "MONGO_LAYER_HEALTH_TIMEOUT_MS": "750"}
    )
    assert (moved.health_route, moved.health_timeout_ms) == ("/probe", 750)
    assert MongoLayerSettings.from_env({"MONGO_LAYER_HEALTH_ROUTE": "off"}).health_route == ""
    assert MongoLayerSettings().health_timeout_ms == 2000
