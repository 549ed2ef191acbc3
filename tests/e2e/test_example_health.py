"""The running example app (`chainlit run`) answers the layer's health route, with no login,
next to Chainlit's own `/health`."""

import httpx
import pytest

from .conftest import ExampleApp

pytestmark = pytest.mark.e2e


def test_the_example_answers_the_health_route_without_login(example_app: ExampleApp) -> None:
    with httpx.Client(base_url=example_app.url, timeout=10) as client:
        response = client.get("/mongo-layer/health")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "latencyMs"}
    assert body["status"] == "ok"
    assert "127.0.0.1" not in response.text
