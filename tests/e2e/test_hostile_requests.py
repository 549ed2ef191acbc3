"""bob, logged in to the running example app, attacks alice over HTTP and Socket.IO with ids
and chat settings the layer cannot store: ids holding a lone surrogate (JSON carries one,
UTF-8 cannot), a `DELETE /project/element` naming her element, and chat settings with NUL
keys, lone surrogates and deep nesting, stored by Chainlit's disconnect handler. No request
gets a 5xx, nothing of alice's changes, and bob's session is cleaned up.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chainlit.element import File
from chainlit.types import Feedback

from .conftest import EXAMPLES, BrowserSession, ExampleApp, layer_with_alices_thread, until
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

LONE_SURROGATE = "\ud800"


async def write_alices_thread(uri: str, database: str) -> str:
    """alice's thread t-alice holds a rated answer a1 with a file; returns the file's
    element id."""
    async with layer_with_alices_thread(uri, database) as layer:
        await layer.create_step(
            {
                "id": "a1",
                "threadId": "t-alice",
                "name": "Assistant",
                "type": "assistant_message",
                "output": "her answer",
                "createdAt": "2026-01-01T00:00:00.000Z",
            }
        )
        await layer.upsert_feedback(Feedback(forId="a1", value=1, comment="hers"))
        element = File(name="hers.txt", content=b"secret", thread_id="t-alice", for_id="a1")
        await layer.create_element(element)
    return element.id


def alices_data(database: Any) -> dict[str, Any]:
    return {
        "thread": database.threads.find_one({"_id": "t-alice"}),
        "feedback": list(database.feedback.find({"threadId": "t-alice"})),
        "files": list(database["elements.files"].find({"metadata.threadId": "t-alice"})),
    }


@pytest.fixture
def bob(example_app: ExampleApp, database: Any) -> Iterator[httpx.Client]:
    alice, bob = logged_in(example_app, "alice"), logged_in(example_app, "bob")
    try:
        yield bob
    finally:
        alice.close()
        bob.close()


def send_json(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    """A request whose JSON body escapes what it holds (`"\\ud800"`), as a browser's does."""
    return client.request(
        method, path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def test_ids_holding_a_lone_surrogate_get_no_5xx_and_change_nothing(
    example_app: ExampleApp, bob: httpx.Client, database: Any
) -> None:
    asyncio.run(write_alices_thread(example_app.env["MONGODB_URI"], database.name))
    before = alices_data(database)
    page = {"first": 20, "cursor": f"1:{LONE_SURROGATE}"}
    feedback = {"forId": LONE_SURROGATE, "threadId": "t-alice", "value": 0, "comment": "x"}
    requests = {
        "sidebar cursor": ("POST", "/project/threads", {"pagination": page, "filter": {}}),
        "rate forId": ("PUT", "/feedback", {"sessionId": "none", "feedback": feedback}),
        "unrate feedbackId": ("DELETE", "/feedback", {"feedbackId": LONE_SURROGATE}),
        "rename": ("PUT", "/project/thread", {"threadId": LONE_SURROGATE, "name": "pwned"}),
        "delete": ("DELETE", "/project/thread", {"threadId": LONE_SURROGATE}),
        "share": ("PUT", "/project/thread/share", {"threadId": LONE_SURROGATE, "isShared": True}),
    }

    answers = {
        name: send_json(bob, method, path, body) for name, (method, path, body) in requests.items()
    }

    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "sidebar cursor": 200,
        "rate forId": 400,
        "unrate feedbackId": 404,
        "rename": 404,
        "delete": 404,
        "share": 404,
    }
    assert answers["sidebar cursor"].json()["data"] == []
    for path in ["/project/thread/%ED%A0%80", "/mongo-layer/files/%ED%A0%80/%ED%A0%80"]:
        assert bob.get(path).status_code < 500, path
    assert alices_data(database) == before


async def delete_alices_element_as_bob(
    app: ExampleApp, client: httpx.Client, database: Any, element_id: str
) -> dict[str, int]:
    """From his own session (after a first message), bob asks Chainlit's DELETE
    /project/element to remove alice's element, naming her thread and naming none."""
    session = BrowserSession(app, client)
    await session.connect()
    try:
        await session.say("hello", database)
        answers = {}
        for name, thread_id in (("naming her thread", "t-alice"), ("naming no thread", "")):
            element = {
                "id": element_id,
                "threadId": thread_id,
                "type": "custom",
                "name": "hers.txt",
                "display": "inline",
                "props": {},
            }
            body = {"element": element, "sessionId": session.session_id}
            response = await asyncio.to_thread(
                send_json, client, "DELETE", "/project/element", body
            )
            answers[name] = response.status_code
        return answers
    finally:
        await session.socket.disconnect()


def test_deleting_an_element_of_another_thread_is_refused_and_deletes_nothing(
    example_app: ExampleApp, bob: httpx.Client, database: Any
) -> None:
    element_id = asyncio.run(write_alices_thread(example_app.env["MONGODB_URI"], database.name))
    before = alices_data(database)
    assert [e["id"] for e in before["thread"]["elements"]] == [element_id]

    answers = asyncio.run(delete_alices_element_as_bob(example_app, bob, database, element_id))

    # Naming her thread is refused as Chainlit refuses another user's session; naming none
    # means bob's own thread, which holds no such element.
    assert answers == {"naming her thread": 401, "naming no thread": 200}
    time.sleep(1)  # a deletion Chainlit queued would have landed by now
    assert alices_data(database) == before


HOSTILE_SETTINGS: dict[str, Any] = {
    "nul\u0000key": "x",
    f"lone{LONE_SURROGATE}key": "x",
    "text": f"not utf-8 {LONE_SURROGATE}",
    "huge": 2**70,
    "model": "gpt",
}


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"k": "leaf"}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


async def disconnect_with_hostile_settings(
    app: ExampleApp, client: httpx.Client, database: Any
) -> BrowserSession:
    """bob uploads a file into his session, sets hostile chat settings, sends a message and
    closes the tab (Chainlit's `clear_session`, then the disconnect)."""
    session = BrowserSession(app, client)
    await session.connect()
    file_id = await session.upload("note.txt", b"uploaded by bob")
    assert session_files(session.session_id), "the upload is in the session's files folder"
    await session.socket.emit("chat_settings_change", HOSTILE_SETTINGS | {"deep": deep(150)})
    await session.say("hello", database, [file_id])
    await session.socket.emit("clear_session")
    await asyncio.sleep(0.5)
    await session.socket.disconnect()
    return session


def session_files(session_id: str) -> list[str]:
    """The folders Chainlit keeps a session's uploads in, under the example's `.files/`."""
    return [str(path) for path in (EXAMPLES / ".files").rglob(session_id) if path.is_dir()]


def test_hostile_chat_settings_are_stored_as_far_as_possible_and_the_session_cleaned_up(
    example_app: ExampleApp, bob: httpx.Client, database: Any
) -> None:
    session = asyncio.run(disconnect_with_hostile_settings(example_app, bob, database))

    until(lambda: not session_files(session.session_id), "Chainlit removed the session's files")
    until(
        lambda: (
            "chat_settings"
            in (database.threads.find_one({"_id": session.thread_id}) or {}).get("metadata", {})
        ),
        "the disconnect stored the chat settings",
    )
    stored = database.threads.find_one({"_id": session.thread_id})["metadata"]["chat_settings"]
    assert stored["model"] == "gpt"
    assert not {"text", "huge"} & set(stored)
    assert [key for key in stored if "key" in key] == []
    log = example_app.log_path.read_text()
    [warning] = [line for line in log.splitlines() if "metadata entries MongoDB cannot" in line]
    assert session.thread_id in warning
    assert "Traceback" not in log
