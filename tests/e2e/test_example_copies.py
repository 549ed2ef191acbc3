"""Several copies of the example app on one data folder share its embedded server: starting
a second copy never takes the first one's database away, and the server stops with the
last copy, its data kept.

The apps run under `chainlit run` without MONGODB_URI, each on its own port, with
EXAMPLE_DATA_DIR in a temporary folder. Plain HTTP is enough here: logging in writes the
user to the database, and listing threads reads it.
"""

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from .conftest import ARTIFACTS, EXAMPLES, PASSWORDS, BrowserSession, ExampleApp, until
from .test_feedback_ownership import logged_in

pytestmark = pytest.mark.e2e

DATABASE = "chainlit_example"


class Copies:
    """Copies of the app sharing one data folder, each logging to its own file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: list[ExampleApp] = []

    def start(self, name: str) -> ExampleApp:
        log_path = ARTIFACTS / f"copies-{name}.log"
        log_path.write_bytes(b"")
        app = ExampleApp(None, DATABASE, log_path, EXAMPLE_DATA_DIR=str(self.data_dir))
        # Every copy must accept the others' login cookies, as one app on two ports would.
        app.env["CHAINLIT_AUTH_SECRET"] = "e2e-copies-" + "0" * 48
        app.start()
        self.started.append(app)
        return app

    def server(self) -> dict[str, Any]:
        """The embedded server the folder records: its pid and URI."""
        recorded: dict[str, Any] = json.loads((self.data_dir / "secantusd.json").read_text())
        return recorded


@pytest.fixture
def copies(tmp_path: Path) -> Iterator[Copies]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = Copies(tmp_path / "data")
    try:
        yield started
    finally:
        for app in started.started:
            app.stop()


def logs_in_and_lists_threads(app: ExampleApp, user: str) -> bool:
    """Whether `user` can log in to `app` and list their threads: both reach the database."""
    with httpx.Client(base_url=app.url, timeout=20) as http:
        login = http.post("/login", data={"username": user, "password": PASSWORDS[user]})
        if login.status_code != 200:
            return False
        threads = http.post("/project/threads", json={"pagination": {"first": 20}, "filter": {}})
        return threads.status_code == 200 and threads.json()["data"] == []


def stored_users(uri: str) -> dict[str, str]:
    """identifier -> id of the users stored in the example's database."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        users: Collection[dict[str, Any]] = client[DATABASE].users
        return {user["identifier"]: user["_id"] for user in users.find()}


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_two_copies_share_one_server_and_either_may_stop_first(copies: Copies) -> None:
    first = copies.start("first")
    server = copies.server()
    second = copies.start("second")
    assert copies.server() == server, "the second copy uses the first one's server"
    assert logs_in_and_lists_threads(first, "alice")
    assert logs_in_and_lists_threads(second, "bob")
    users = stored_users(server["uri"])
    assert set(users) == {"alice", "bob"}

    # The copy that started the server stops first: the other one keeps working on it.
    first.stop()
    assert is_running(server["pid"])
    assert logs_in_and_lists_threads(second, "alice")
    assert stored_users(server["uri"]) == users

    # A copy started again joins the same server; now the other one stops first.
    first.start()
    assert copies.server() == server
    second.stop()
    assert logs_in_and_lists_threads(first, "bob")
    assert stored_users(server["uri"]) == users

    # The last copy stops the server; the next start finds the data where it was.
    first.stop()
    assert not is_running(server["pid"])
    assert not (copies.data_dir / "secantusd.json").exists()
    third = copies.start("third")
    assert copies.server()["pid"] != server["pid"]
    assert stored_users(copies.server()["uri"]) == users
    assert logs_in_and_lists_threads(third, "alice")


def test_a_server_left_by_a_killed_copy_is_reused_then_stopped_by_the_last_copy(
    copies: Copies,
) -> None:
    killed = copies.start("killed")
    server = copies.server()
    assert killed.process is not None
    [files_folder] = (EXAMPLES / ".files").glob(f"copy-{killed.process.pid}-*")
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.process.wait()
    killed.process = None
    assert is_running(server["pid"]), "kill -9 leaves the server behind"
    assert files_folder.is_dir(), "and its uploads folder"

    survivor = copies.start("survivor")
    assert copies.server() == server
    assert not files_folder.exists(), "the next copy deletes the killed copy's folder"
    assert logs_in_and_lists_threads(survivor, "alice")
    survivor.stop()
    assert not is_running(server["pid"])


def test_a_copy_refuses_a_server_that_hangs_while_another_copy_uses_it(
    copies: Copies,
) -> None:
    running = copies.start("running")
    server = copies.server()
    os.kill(server["pid"], signal.SIGSTOP)
    try:
        refused = ExampleApp(
            None, DATABASE, ARTIFACTS / "copies-refused.log", EXAMPLE_DATA_DIR=str(copies.data_dir)
        )
        outcome = refused.run_until_exit(timeout=60)
    finally:
        os.kill(server["pid"], signal.SIGCONT)
    assert outcome.returncode == 1
    [line] = [line for line in outcome.stdout.splitlines() if "does not answer" in line]
    assert f"pid {server['pid']}" in line and "EXAMPLE_DATA_DIR" in line
    assert "Traceback" not in outcome.stdout
    # The refusing copy stopped nothing: the running copy still works.
    assert logs_in_and_lists_threads(running, "bob")


async def chat_with_a_file(app: ExampleApp, client: httpx.Client, database: Any) -> str:
    """Upload a file, send it with a message and wait for the answer's generated notes
    file; returns the thread id."""
    session = BrowserSession(app, client)
    await session.connect()
    try:
        file_id = await session.upload("mine.txt", b"kept by the copy still running")
        await session.say("keep this", database, [file_id])
        await asyncio.to_thread(
            until,
            lambda: {"mine.txt", "notes-1.md"} <= element_names(database, session.thread_id),
            "the upload and the generated notes are stored",
        )
    finally:
        await session.socket.disconnect()
    return session.thread_id


def element_names(database: Any, thread_id: str) -> set[str]:
    thread = database.threads.find_one({"_id": thread_id}) or {}
    return {e["name"] for e in thread.get("elements") or [] if e.get("fileId") is not None}


def test_stopping_one_copy_leaves_the_other_its_uploads_and_generated_files(
    copies: Copies,
) -> None:
    first, second = copies.start("files-first"), copies.start("files-second")
    client: MongoClient[dict[str, Any]]
    alice = logged_in(second, "alice")
    with MongoClient(copies.server()["uri"]) as client:
        database: Any = client[DATABASE]
        try:
            asyncio.run(chat_with_a_file(second, alice, database))

            first.stop()

            thread_id = asyncio.run(chat_with_a_file(second, alice, database))
        finally:
            alice.close()
        assert element_names(database, thread_id) == {"mine.txt", "notes-1.md"}
