"""The example app lets pages of its own address and of EXAMPLE_PUBLIC_URL call it with a
logged-in user's cookie (CORS and the websocket), and no other page: not one on port 8000
of the same host when the app serves on another port (examples/origins.py).
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import ARTIFACTS, ExampleApp
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

PUBLIC_URL = "https://chat.example.org"
HANDSHAKE = "/ws/socket.io/?EIO=4&transport=polling"


@pytest.fixture
def public_app(mongo_server: Any, database: Any) -> Iterator[ExampleApp]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "origins.log"
    log_path.write_bytes(b"")
    app = ExampleApp(
        mongo_server.uri, database.name, log_path, EXAMPLE_PUBLIC_URL=f"{PUBLIC_URL}/chat/"
    )
    app.start()
    try:
        yield app
    finally:
        app.stop()


def cors_origin(client: httpx.Client, origin: str) -> str | None:
    """The origin the app lets read the answer to a credentialed sidebar request."""
    response = client.post(
        "/project/threads",
        json={"pagination": {"first": 20}, "filter": {}},
        headers={"Origin": origin},
    )
    assert response.status_code == 200
    allowed: str | None = response.headers.get("access-control-allow-origin")
    return allowed


def preflight_allowed(client: httpx.Client, origin: str) -> bool:
    response = client.options(
        "/project/threads",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    return response.status_code == 200 and (
        response.headers.get("access-control-allow-origin") == origin
    )


def socket_opens(client: httpx.Client, origin: str) -> bool:
    response = client.get(HANDSHAKE, headers={"Origin": origin})
    assert response.status_code in (200, 400), response.text
    return response.status_code == 200


def test_only_the_served_address_and_the_public_url_may_call_the_app(
    public_app: ExampleApp,
) -> None:
    port = public_app.port
    foreign_port = 8000 if port != 8000 else 8001
    own = [f"http://127.0.0.1:{port}", f"http://localhost:{port}", PUBLIC_URL]
    foreign = [
        f"http://127.0.0.1:{foreign_port}",
        f"http://localhost:{foreign_port}",
        f"https://127.0.0.1:{port}",
        "https://chat.example.org.evil.test",
        "null",
    ]
    alice = logged_in(public_app, "alice")
    try:
        assert {origin: cors_origin(alice, origin) for origin in own + foreign} == {
            origin: origin if origin in own else None for origin in own + foreign
        }
        assert {origin: preflight_allowed(alice, origin) for origin in own + foreign} == {
            origin: origin in own for origin in own + foreign
        }
        assert {origin: socket_opens(alice, origin) for origin in own + foreign} == {
            origin: origin in own for origin in own + foreign
        }
    finally:
        alice.close()


def test_a_public_url_that_is_not_an_http_url_stops_the_app_in_one_line(
    mongo_server: Any, database: Any
) -> None:
    app = ExampleApp(
        mongo_server.uri,
        database.name,
        ARTIFACTS / "origins-refused.log",
        EXAMPLE_PUBLIC_URL="chat.example.org",
    )

    outcome = app.run_until_exit(timeout=60)

    assert outcome.returncode == 1
    assert "Traceback" not in outcome.stdout
    [line] = [line for line in outcome.stdout.splitlines() if "EXAMPLE_PUBLIC_URL" in line]
    assert "'chat.example.org'" in line
