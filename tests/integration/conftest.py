"""Fixtures of the integration tests that drive the layer's HTTP routes as Chainlit would."""

import pytest
from chainlit.auth import create_jwt
from chainlit.config import config
from chainlit.user import User

from mongo_layer import MongoDataLayer


async def password_login(username: str, password: str) -> User | None:
    return None


@pytest.fixture
def chainlit_auth(monkeypatch: pytest.MonkeyPatch, layer: MongoDataLayer) -> None:
    """Chainlit as a password-auth app whose data layer is `layer`: its current-user
    dependency then requires a valid token."""
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "test-secret-" + "x" * 40)
    monkeypatch.setattr(config.code, "password_auth_callback", password_login)
    monkeypatch.setattr(config.code, "on_shared_thread_view", None)
    monkeypatch.setattr(config.code, "on_feedback", None)
    monkeypatch.setattr(config.features, "allow_thread_sharing", False)
    monkeypatch.setattr("chainlit.data._data_layer", layer)
    monkeypatch.setattr("chainlit.data._data_layer_initialized", True)


@pytest.fixture
def thread_sharing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chainlit's `allow_thread_sharing` feature turned on."""
    monkeypatch.setattr(config.features, "allow_thread_sharing", True)


def token_of(identifier: str) -> str:
    return str(create_jwt(User(identifier=identifier)))


def bearer(identifier: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(identifier)}"}
