"""Two users logged in to the running example app: bob sends a message that reuses the id of
one of alice's messages into his own thread over Chainlit's websocket, then edits an earlier
message of his, which makes Chainlit delete every later message of his thread
(`edit_message` calls `delete_step` for each). alice's message, its feedback and her thread
stay exactly as they were.

Chainlit only checks that a message id from the browser is a uuid4, so a user who learns an
id (from a shared thread, say) can send it.
"""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
import socketio
from chainlit.types import Feedback

from .conftest import ExampleApp, layer_with_alices_thread
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 60.0


async def write_alices_message(uri: str, database: str, step_id: str) -> None:
    """alice's thread t-alice holds the message `step_id`, rated by her."""
    async with layer_with_alices_thread(uri, database) as layer:
        await layer.create_step(
            {
                "id": step_id,
                "threadId": "t-alice",
                "name": "alice",
                "type": "user_message",
                "output": "my private question",
                "createdAt": "2026-01-01T00:00:00.000Z",
            }
        )
        await layer.upsert_feedback(Feedback(forId=step_id, value=1, comment="mine"))


def user_message(step_id: str, text: str) -> dict[str, Any]:
    return {
        "id": step_id,
        "name": "bob",
        "type": "user_message",
        "output": text,
        "createdAt": "2026-01-01T00:00:00.000Z",
    }


def steps_of(database: Any, thread_id: str) -> dict[str, dict[str, Any]]:
    thread = database.threads.find_one({"_id": thread_id}) or {}
    return {step["id"]: step for step in thread.get("steps") or []}


async def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.2)


async def send_and_edit_as_bob(
    app: ExampleApp, bob: httpx.Client, database: Any, reused_id: str
) -> str:
    """bob's session: his own message, then one reusing `reused_id`, then an edit of the
    first. Returns bob's thread id once Chainlit has deleted the later message."""
    thread_id = str(uuid.uuid4())
    first_id = str(uuid.uuid4())
    cookie = "; ".join(f"{name}={value}" for name, value in bob.cookies.items())
    client = socketio.AsyncClient()
    await client.connect(
        app.url,
        socketio_path="/ws/socket.io",
        transports=["websocket"],
        headers={"Cookie": cookie, "Origin": app.url},
        auth={"clientType": "webapp", "sessionId": str(uuid.uuid4()), "threadId": thread_id},
    )
    try:
        for step_id, text in ((first_id, "hello"), (reused_id, "same id as alice's")):
            await client.emit(
                "client_message", {"message": user_message(step_id, text), "fileReferences": []}
            )
            await until(
                lambda step_id=step_id: step_id in steps_of(database, thread_id),
                f"bob's message {step_id} is stored",
            )
        await client.emit("edit_message", {"message": user_message(first_id, "hello again")})
        await until(
            lambda: steps_of(database, thread_id)[reused_id].get("removed") is True,
            "Chainlit deleted bob's later message",
        )
    finally:
        await client.disconnect()
    return thread_id


def test_reusing_an_id_of_alices_message_never_deletes_hers(
    example_app: ExampleApp, database: Any
) -> None:
    alices_step = str(uuid.uuid4())
    alice, bob = logged_in(example_app, "alice"), logged_in(example_app, "bob")
    try:
        asyncio.run(
            write_alices_message(example_app.env["MONGODB_URI"], database.name, alices_step)
        )
        alices_thread = database.threads.find_one({"_id": "t-alice"})
        alices_feedback = list(database.feedback.find({"forId": alices_step}))

        bobs_thread = asyncio.run(send_and_edit_as_bob(example_app, bob, database, alices_step))

        assert database.threads.find_one({"_id": "t-alice"}) == alices_thread
        assert steps_of(database, "t-alice")[alices_step]["output"] == "my private question"
        assert list(database.feedback.find({"forId": alices_step})) == alices_feedback
        assert [d["threadId"] for d in alices_feedback] == ["t-alice"]
        assert steps_of(database, bobs_thread)[alices_step]["removed"] is True
    finally:
        alice.close()
        bob.close()
