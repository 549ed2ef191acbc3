"""Two users logged in to the running example app: bob attacks alice's ratings through
Chainlit's PUT and DELETE /feedback, and nothing of alice's changes (Chainlit issue #2975).

The app runs under `chainlit run`; the users log in over HTTP with their passwords, and
the conversations they rate are written through the layer into the app's database.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mongo_layer import MongoDataLayer

from .conftest import PASSWORDS, ExampleApp

pytestmark = pytest.mark.e2e


def logged_in(app: ExampleApp, identifier: str) -> httpx.Client:
    """An HTTP client holding the user's login cookie, as the browser would."""
    client = httpx.Client(base_url=app.url, timeout=30)
    response = client.post(
        "/login", data={"username": identifier, "password": PASSWORDS[identifier]}
    )
    assert response.status_code == 200, response.text
    return client


async def write_conversations(uri: str, database: str) -> None:
    """alice's thread t-alice holds steps a1 and a2; bob's thread t-bob holds b1."""
    layer = MongoDataLayer.from_uri(
        uri, database, mount_file_route=False, guard_feedback_routes=False
    )
    try:
        for identifier, thread_id, step_ids in (
            ("alice", "t-alice", ["a1", "a2"]),
            ("bob", "t-bob", ["b1"]),
        ):
            owner = await layer.get_user(identifier)
            assert owner is not None, f"{identifier} has not logged in"
            await layer.update_thread(thread_id, name=f"{identifier}'s chat", user_id=owner.id)
            for step_id in step_ids:
                await layer.create_step(
                    {
                        "id": step_id,
                        "threadId": thread_id,
                        "name": "Assistant",
                        "type": "assistant_message",
                        "output": f"answer {step_id}",
                        "createdAt": "2026-01-01T00:00:00.000Z",
                    }
                )
    finally:
        await layer.close()


@pytest.fixture
def users(example_app: ExampleApp, database: Any) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    alice, bob = logged_in(example_app, "alice"), logged_in(example_app, "bob")
    try:
        asyncio.run(write_conversations(example_app.env["MONGODB_URI"], database.name))
        yield alice, bob
    finally:
        alice.close()
        bob.close()


def rate(client: httpx.Client, for_id: str, **fields: Any) -> httpx.Response:
    feedback = {"forId": for_id, "value": 0, "comment": "pwned", **fields}
    return client.put("/feedback", json={"sessionId": "none", "feedback": feedback})


def unrate(client: httpx.Client, feedback_id: str) -> httpx.Response:
    return client.request("DELETE", "/feedback", json={"feedbackId": feedback_id})


def alices_feedback(database: Any) -> list[dict[str, Any]]:
    return list(database.feedback.find({"threadId": "t-alice"}).sort("_id"))


def test_bob_can_neither_change_nor_delete_alices_ratings(
    users: tuple[httpx.Client, httpx.Client], database: Any
) -> None:
    alice, bob = users
    rated = rate(alice, "a1", value=1, comment="helpful")
    assert rated.status_code == 200, rated.text
    feedback_id = rated.json()["feedbackId"]
    before = alices_feedback(database)
    assert [(d["forId"], d["value"], d["comment"]) for d in before] == [("a1", 1, "helpful")]

    attacks = {
        "rate her rated step": rate(bob, "a1"),
        "rate it naming her feedback id": rate(bob, "a1", id=feedback_id, threadId="t-alice"),
        "rate her unrated step": rate(bob, "a2", threadId="t-bob"),
        "delete her feedback": unrate(bob, feedback_id),
    }
    own_step = rate(bob, "b1", id=feedback_id, threadId="t-alice")

    assert {name: response.status_code for name, response in attacks.items()} == {
        name: 401 for name in attacks
    }
    assert own_step.status_code == 200
    assert own_step.json()["feedbackId"] != feedback_id
    assert alices_feedback(database) == before
    assert database.feedback.find_one({"_id": own_step.json()["feedbackId"]})["threadId"] == (
        "t-bob"
    )


def test_alice_rates_and_unrates_her_own_step(
    users: tuple[httpx.Client, httpx.Client], database: Any
) -> None:
    alice, _ = users

    rated = rate(alice, "a2", value=1)
    again = rate(alice, "a2", value=0, comment="changed my mind")
    assert (rated.status_code, again.status_code) == (200, 200)
    assert again.json()["feedbackId"] == rated.json()["feedbackId"]
    assert [(d["value"], d["comment"]) for d in alices_feedback(database)] == [
        (0, "changed my mind")
    ]

    assert unrate(alice, rated.json()["feedbackId"]).json() == {"success": True}
    assert alices_feedback(database) == []
