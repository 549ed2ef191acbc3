"""Shared fixtures: a real MongoDB-wire server, layers on both drivers, command counting.

The server is SecantusDB (see TESTING.md), started once per test session on a free port
with a temporary storage path and stopped by its PID at the end. With MONGODB_URI set, the
suite runs against that server instead.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient, monitoring

from mongo_layer import MongoDataLayer, MongoLayerSettings

SECANTUSD = Path(sys.executable).with_name("secantusd-py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class MongoServer:
    """A SecantusDB process this suite started (or an external server given by URI)."""

    uri: str
    port: int = 0
    storage: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def start(
        cls, storage: Path, port: int | None = None, extra_args: list[str] | None = None
    ) -> "MongoServer":
        port = port or free_port()
        server = cls(
            uri=f"mongodb://127.0.0.1:{port}/?directConnection=true",
            port=port,
            storage=storage,
            extra_args=extra_args or [],
        )
        server.launch()
        return server

    def launch(self) -> None:
        assert self.storage is not None
        self.process = subprocess.Popen(
            [
                str(SECANTUSD),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.storage),
                "--log-level",
                "WARNING",
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        client: MongoClient[dict[str, Any]]
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"secantusd-py exited with {self.process.returncode}")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"secantusd-py did not answer ping on port {self.port}")

    def stop(self) -> None:
        """Stop with SIGTERM (a clean shutdown), waiting for the process to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    if os.environ.get("MONGODB_URI"):
        yield MongoServer(uri=os.environ["MONGODB_URI"])
        return
    storage = Path(tempfile.mkdtemp(prefix="mongo-layer-test-"))
    server = MongoServer.start(storage)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends, leaving out the driver's own handshakes."""

    IGNORED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"})

    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in self.IGNORED:
            self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.commands.clear()

    @property
    def count(self) -> int:
        return len(self.commands)


def make_client(driver: str, uri: str, counter: CommandCounter | None = None) -> Any:
    listeners = [counter] if counter else []
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, event_listeners=listeners)
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(uri, event_listeners=listeners)


async def close_client(client: Any) -> None:
    closing = client.close()
    if asyncio.iscoroutine(closing):
        await closing


@pytest.fixture(params=["motor", "pymongo"])
def driver(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def commands() -> CommandCounter:
    return CommandCounter()


@pytest.fixture
async def database_name(mongo_server: MongoServer, driver: str) -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    client = make_client(driver, mongo_server.uri)
    try:
        await client.drop_database(name)
    finally:
        await close_client(client)


@pytest.fixture
async def layer(
    mongo_server: MongoServer, driver: str, database_name: str, commands: CommandCounter
) -> AsyncIterator[MongoDataLayer]:
    """A layer on the real server, through the test's driver, with its indexes made and
    the command counter reset (so a test counts only what it does)."""
    client = make_client(driver, mongo_server.uri, commands)
    data_layer = MongoDataLayer(
        client=client, database=database_name, settings=MongoLayerSettings(), mount_file_route=False
    )
    await data_layer.ensure_indexes()
    commands.reset()
    try:
        yield data_layer
    finally:
        await data_layer.close()
        await close_client(client)


@pytest.fixture
async def layer_with(
    mongo_server: MongoServer, driver: str, database_name: str, commands: CommandCounter
) -> AsyncIterator[Callable[..., Awaitable[MongoDataLayer]]]:
    """Makes layers with other settings on the test's database and driver, counting their
    commands in `commands` (reset once the indexes exist); closed after the test."""
    opened: list[tuple[MongoDataLayer, Any]] = []

    async def make(**settings: Any) -> MongoDataLayer:
        client = make_client(driver, mongo_server.uri, commands)
        data_layer = MongoDataLayer(
            client=client,
            database=database_name,
            settings=MongoLayerSettings(**settings),
            mount_file_route=False,
        )
        await data_layer.ensure_indexes()
        commands.reset()
        opened.append((data_layer, client))
        return data_layer

    yield make
    for data_layer, client in opened:
        await data_layer.close()
        await close_client(client)


@pytest.fixture
async def mock_layer() -> AsyncIterator[MongoDataLayer]:
    """A layer on mongomock-motor, in process: for conversions and simple paths only."""
    from mongomock_motor import AsyncMongoMockClient

    data_layer = MongoDataLayer(
        client=AsyncMongoMockClient(), database="unit", mount_file_route=False
    )
    await data_layer.ensure_indexes()
    yield data_layer
    await data_layer.close()
