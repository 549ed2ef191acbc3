"""A local MongoDB-wire server for development, examples and tests.

It runs SecantusDB (a MongoDB-compatible server from PyPI, the `embedded` extra) as a
separate process on 127.0.0.1. SecantusDB is GPL-2.0: it is started as a program and never
imported, and mongo_layer does not depend on it.
"""

import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from .errors import MongoLayerError

logger = logging.getLogger("mongo_layer")

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0


class EmbeddedServerError(MongoLayerError):
    """The embedded server could not be started."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def secantusd_executable() -> str:
    beside_python = Path(sys.executable).with_name("secantusd-py")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("secantusd-py")
    if found is None:
        raise EmbeddedServerError(
            "secantusd-py is not installed: `pip install mongo-layer[embedded]`,"
            " or set MONGODB_URI to use your own MongoDB"
        )
    return found


def stop_process(process: "subprocess.Popen[bytes] | None") -> None:
    """Stop a child process cleanly (SIGTERM), killing it only if it does not exit."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedServer:
    """A SecantusDB process on 127.0.0.1 keeping its data in `storage`.

    With `sync_on_commit`, every commit reaches the disk before it is acknowledged: without
    it, a GridFS file written just before a crash may be lost.
    """

    def __init__(self, storage: Path, port: int | None = None, sync_on_commit: bool = False):
        self.storage = storage
        self.port = port or free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.sync_on_commit = sync_on_commit
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (again, on the same port and storage) and wait until it answers."""
        self.storage.mkdir(parents=True, exist_ok=True)
        command = [
            secantusd_executable(),
            *("--host", "127.0.0.1", "--port", str(self.port)),
            *("--storage-path", str(self.storage), "--log-level", "WARNING"),
        ]
        if self.sync_on_commit:
            command.append("--sync-on-commit")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        client: MongoClient[dict[str, Any]]
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise EmbeddedServerError(f"secantusd-py exited; its data is in {self.storage}")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise EmbeddedServerError(f"secantusd-py did not answer on port {self.port}")

    def stop(self) -> None:
        """Stop the server cleanly, waiting for it to exit. Safe to call twice."""
        process, self.process = self.process, None
        stop_process(process)
