"""The guarded PUT/DELETE /feedback routes: Chainlit's requests and answers, but a user
rates and un-rates only steps of their own threads (Chainlit issue #2975)."""

import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from chainlit.config import config
from chainlit.types import Feedback
from fastapi import FastAPI

from mongo_layer import MongoDataLayer
from mongo_layer.web.feedback_routes import (
    DELETE_FEEDBACK_ROUTE_NAME,
    UPDATE_FEEDBACK_ROUTE_NAME,
    mount_feedback_routes,
    mount_feedback_routes_on_chainlit,
)

from .conftest import bearer
from .factories import step, thread_of, user


@pytest.fixture
async def http(chainlit_auth: None, layer: MongoDataLayer) -> AsyncIterator[httpx.AsyncClient]:
    """Alice's thread t-alice (steps a1, a2; a1 rated) and bob's t-bob (step b1), behind an
    app with the guarded routes."""
    alice, bob = await user(layer, "alice"), await user(layer, "bob")
    await thread_of(layer, alice, "t-alice")
    await thread_of(layer, bob, "t-bob")
    for step_id, thread_id in (("a1", "t-alice"), ("a2", "t-alice"), ("b1", "t-bob")):
        await layer.create_step(step(step_id, thread_id))
    await layer.rate_step(Feedback(forId="a1", value=1, comment="alice's"), "alice")
    app = FastAPI()
    mount_feedback_routes(app, layer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


def rating(for_id: str, value: int = 0, **fields: Any) -> dict[str, Any]:
    return {"sessionId": "no-session", "feedback": {"forId": for_id, "value": value, **fields}}


async def unrate(http: httpx.AsyncClient, feedback_id: Any, identifier: str) -> httpx.Response:
    return await http.request(
        "DELETE", "/feedback", json={"feedbackId": feedback_id}, headers=bearer(identifier)
    )


async def all_feedback(layer: MongoDataLayer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await layer.stores.feedback.collection.find({}).sort("_id").to_list(None)
    )
    return found


async def alices_feedback_id(layer: MongoDataLayer) -> str:
    found = await layer.stores.feedback.collection.find_one({"forId": "a1"})
    assert found is not None
    return str(found["_id"])


async def test_the_author_rates_and_unrates_with_chainlits_request_and_answer_shapes(
    http: httpx.AsyncClient, layer: MongoDataLayer
) -> None:
    rated = await http.put("/feedback", json=rating("a2", 1), headers=bearer("alice"))

    assert rated.status_code == 200
    assert rated.json() == {"success": True, "feedbackId": rated.json()["feedbackId"]}
    deleted = await unrate(http, rated.json()["feedbackId"], "alice")
    assert (deleted.status_code, deleted.json()) == (200, {"success": True})


@pytest.mark.parametrize(
    "attack",
    [
        rating("a1"),
        rating("a1", threadId="t-bob"),
        rating("a2", comment="pwned"),
        rating("a1", id="ALICES_FEEDBACK"),
    ],
    ids=["her step", "her step naming his thread", "her unrated step", "her feedback id"],
)
async def test_another_user_cannot_rate_a_step_of_her_thread(
    http: httpx.AsyncClient, layer: MongoDataLayer, attack: dict[str, Any]
) -> None:
    before = await all_feedback(layer)
    if attack["feedback"].get("id"):
        attack["feedback"]["id"] = await alices_feedback_id(layer)

    response = await http.put("/feedback", json=attack, headers=bearer("bob"))

    assert (response.status_code, response.json()) == (401, {"detail": "Unauthorized"})
    assert await all_feedback(layer) == before


async def test_her_feedback_id_on_his_own_step_makes_his_own_feedback(
    http: httpx.AsyncClient, layer: MongoDataLayer
) -> None:
    alices = await alices_feedback_id(layer)
    before = await all_feedback(layer)

    response = await http.put(
        "/feedback", json=rating("b1", id=alices, threadId="t-alice"), headers=bearer("bob")
    )

    assert response.status_code == 200
    assert response.json()["feedbackId"] != alices
    after = {d["_id"]: d for d in await all_feedback(layer)}
    assert after[alices] == before[0]
    assert after[response.json()["feedbackId"]]["threadId"] == "t-bob"


async def test_another_user_cannot_delete_her_feedback(
    http: httpx.AsyncClient, layer: MongoDataLayer
) -> None:
    before = await all_feedback(layer)

    response = await unrate(http, await alices_feedback_id(layer), "bob")

    assert response.status_code == 401
    assert await all_feedback(layer) == before


@pytest.mark.parametrize("feedback_id", ["", "no-such-feedback"])
async def test_deleting_feedback_that_does_not_exist_is_a_404(
    http: httpx.AsyncClient, layer: MongoDataLayer, feedback_id: str
) -> None:
    before = await all_feedback(layer)

    response = await unrate(http, feedback_id, "alice")

    assert response.status_code == 404
    assert await all_feedback(layer) == before


@pytest.mark.parametrize(
    "body",
    [
        rating("no-such-step"),
        rating("a1", value=5),
        rating(""),
        {"sessionId": "s", "feedback": {"forId": {"$ne": None}, "value": 1}},
        {"feedback": {"forId": "a1", "value": 1}},
    ],
    ids=["missing step", "value 5", "empty step id", "operator step id", "no session id"],
)
async def test_a_bad_rating_is_a_4xx_and_changes_nothing(
    http: httpx.AsyncClient, layer: MongoDataLayer, body: dict[str, Any]
) -> None:
    before = await all_feedback(layer)

    response = await http.put("/feedback", json=body, headers=bearer("alice"))

    assert 400 <= response.status_code < 500, response.text
    assert await all_feedback(layer) == before


async def test_without_a_login_nothing_is_rated(
    http: httpx.AsyncClient, layer: MongoDataLayer
) -> None:
    before = await all_feedback(layer)

    put = await http.put("/feedback", json=rating("a2"))
    delete = await http.request("DELETE", "/feedback", json={"feedbackId": "x"})

    assert (put.status_code, delete.status_code) == (401, 401)
    assert await all_feedback(layer) == before


async def test_the_apps_on_feedback_callback_sees_the_stored_feedback(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Feedback] = []

    async def on_feedback(feedback: Feedback) -> None:
        seen.append(feedback)

    monkeypatch.setattr(config.code, "on_feedback", on_feedback)
    # The rating user's websocket session, which Chainlit's route enters first.
    monkeypatch.setattr(sys.modules["chainlit.context"], "init_ws_context", lambda session: None)

    response = await http.put(
        "/feedback", json=rating("a2", threadId="forged", id="forged"), headers=bearer("alice")
    )

    assert response.status_code == 200
    [feedback] = seen
    assert (feedback.id, feedback.threadId, feedback.forId) == (
        response.json()["feedbackId"],
        "t-alice",
        "a2",
    )


async def test_the_routes_go_ahead_of_chainlits_own_on_its_app(
    chainlit_auth: None, layer: MongoDataLayer
) -> None:
    import chainlit.server

    alice = await user(layer, "alice")
    await thread_of(layer, alice, "t-alice")
    await layer.create_step(step("a1", "t-alice"))
    mounted = mount_feedback_routes_on_chainlit(layer)
    try:
        transport = httpx.ASGITransport(app=chainlit.server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            attack = await http.put("/feedback", json=rating("a1"), headers=bearer("bob"))
            own = await http.put("/feedback", json=rating("a1"), headers=bearer("alice"))
    finally:
        names = {UPDATE_FEEDBACK_ROUTE_NAME, DELETE_FEEDBACK_ROUTE_NAME}
        routes = chainlit.server.app.router.routes
        routes[:] = [r for r in routes if getattr(r, "name", None) not in names]

    assert mounted
    assert (attack.status_code, own.status_code) == (401, 200)


async def test_the_routes_honour_chainlits_root_path(
    chainlit_auth: None, layer: MongoDataLayer
) -> None:
    alice = await user(layer, "alice")
    await thread_of(layer, alice, "t-alice")
    await layer.create_step(step("a1", "t-alice"))
    app = FastAPI()

    path = mount_feedback_routes(app, layer, root_path="/chat")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        response = await http.put("/chat/feedback", json=rating("a1"), headers=bearer("alice"))
    assert (path, response.status_code) == ("/chat/feedback", 200)
