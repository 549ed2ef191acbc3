"""An embedded MongoDB-wire server for the example: SecantusDB, run as a separate process.

SecantusDB is GPL-2.0, so it is started as a program (never imported), and only by the
example. Its data lives in a folder next to the app, so history survives restarts.
"""

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

logger = logging.getLogger("example.embedded_server")

READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started."""


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedServer:
    """A SecantusDB process on 127.0.0.1 keeping its data under `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.storage = data_dir / "secantus"
        self.pid_file = data_dir / "secantusd.pid"
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers; stop it when this process exits."""
        self.storage.mkdir(parents=True, exist_ok=True)
        self._stop_leftover_server()
        self.process = subprocess.Popen(
            [
                secantusd_executable(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.storage),
                "--log-level",
                "WARNING",
                # Without it a GridFS file written just before a crash may be lost.
                "--sync-on-commit",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_file.write_text(str(self.process.pid))
        atexit.register(self.stop)
        self._wait_until_ready()
        logger.info("embedded SecantusDB on %s keeps its data in %s", self.uri, self.storage)

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM), waiting for it to exit. Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.pid_file.unlink(missing_ok=True)

    def _wait_until_ready(self) -> None:
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

    def _stop_leftover_server(self) -> None:
        """A server left running by a killed app still holds the storage: stop it first."""
        try:
            pid = int(self.pid_file.read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"secantusd" not in command or str(self.storage).encode() not in command:
            return
        logger.warning("stopping a leftover embedded server (pid %d)", pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
