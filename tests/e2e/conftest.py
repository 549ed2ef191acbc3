"""The example app as the e2e tests run it: `chainlit run examples/app.py` on 127.0.0.1
against the session's MongoDB-wire server, in a fresh database the test can read."""

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from conftest import MongoServer
from pymongo import MongoClient

from mongo_layer import MongoDataLayer
from mongo_layer.embedded import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHAINLIT = Path(sys.executable).with_name("chainlit")
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


class ExampleApp:
    """examples/app.py under `chainlit run`, restartable on the same port."""

    def __init__(self, mongodb_uri: str | None, database: str, log_path: Path, **env: str) -> None:
        """Without `mongodb_uri`, the app runs its embedded server (in EXAMPLE_DATA_DIR)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **{name: value for name, value in os.environ.items() if name != "MONGODB_URI"},
            "MONGODB_DATABASE": database,
            "CHAINLIT_AUTH_SECRET": "e2e-" + uuid.uuid4().hex * 2,
            **env,
        }
        if mongodb_uri is not None:
            self.env["MONGODB_URI"] = mongodb_uri

    def command(self) -> list[str]:
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        return [str(CHAINLIT), "run", "app.py", "--headless", *address]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=EXAMPLES,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_healthy()

    def run_until_exit(self, timeout: float) -> "subprocess.CompletedProcess[str]":
        """Run the app expecting it to end by itself (it refuses to start); its output,
        stderr included, is also written to the log."""
        outcome = subprocess.run(
            self.command(),
            cwd=EXAMPLES,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        self.log_path.write_text(outcome.stdout)
        return outcome

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"chainlit exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chainlit did not answer on {self.url}; see {self.log_path}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)


@pytest.fixture
def database(mongo_server: MongoServer) -> Iterator[Any]:
    """A fresh database for the app, read directly by the test to wait for writes."""
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_server.uri) as client:
        yield client[name]
        client.drop_database(name)


@pytest.fixture
def example_app(mongo_server: MongoServer, database: Any) -> Iterator[ExampleApp]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    app = ExampleApp(mongo_server.uri, database.name, ARTIFACTS / "chainlit.log")
    app.log_path.write_bytes(b"")
    app.start()
    try:
        yield app
    finally:
        app.stop()


@asynccontextmanager
async def layer_with_alices_thread(uri: str, database: str) -> AsyncIterator[MongoDataLayer]:
    """A layer on the app's database (mounting no routes) in which alice, who has logged
    in, owns the thread t-alice."""
    layer = MongoDataLayer.from_uri(
        uri, database, mount_file_route=False, guard_feedback_routes=False
    )
    try:
        alice = await layer.get_user("alice")
        assert alice is not None, "alice has not logged in"
        await layer.update_thread("t-alice", name="alice's chat", user_id=alice.id)
        yield layer
    finally:
        await layer.close()


WAIT_SECONDS = 60.0


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


class BrowserSession:
    """A user's Chainlit websocket session on a new thread, as their browser opens one."""

    def __init__(self, app: ExampleApp, client: httpx.Client) -> None:
        self.app = app
        self.client = client
        self.cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        self.session_id = str(uuid.uuid4())
        self.thread_id = str(uuid.uuid4())
        self.socket = socketio.AsyncClient()

    async def connect(self) -> None:
        await self.socket.connect(
            self.app.url,
            socketio_path="/ws/socket.io",
            transports=["websocket"],
            headers={"Cookie": self.cookie, "Origin": self.app.url},
            auth={
                "clientType": "webapp",
                "sessionId": self.session_id,
                "threadId": self.thread_id,
            },
        )

    async def upload(self, name: str, content: bytes, mime: str = "text/plain") -> str:
        """Attach a file as the browser does before sending it; returns the file's id."""
        response = await asyncio.to_thread(
            self.client.post,
            "/project/file",
            params={"session_id": self.session_id},
            files={"file": (name, content, mime)},
        )
        assert response.status_code == 200, f"upload of {name}: {response.text}"
        file_id: str = response.json()["id"]
        return file_id

    async def say(self, text: str, database: Any, file_ids: list[str] | None = None) -> None:
        message = {
            "id": str(uuid.uuid4()),
            "name": "user",
            "type": "user_message",
            "output": text,
            "createdAt": "2026-01-01T00:00:00.000Z",
        }
        files = [{"id": file_id} for file_id in file_ids or []]
        await self.socket.emit("client_message", {"message": message, "fileReferences": files})
        await asyncio.to_thread(
            until,
            lambda: (
                database.threads.find_one({"_id": self.thread_id, "userId": {"$ne": None}})
                is not None
            ),
            "the session's thread is stored",
        )
