"""The example's embedded default: a SecantusDB server whose data lives next to the app.

mongo_layer.embedded starts it as a separate program (SecantusDB is GPL-2.0 and never
imported). This module adds what an app that is started and stopped by hand needs: the
data in one folder, and one server per folder shared by every copy of the app using it.

Each running copy holds a shared lock on `secantusd.users.lock` for as long as it lives (the
kernel drops it when the process ends, even on kill -9), so "is another copy using this
server?" is answered by the lock, never guessed. Starting and stopping take
`secantusd.start.lock`, so a copy starting never sees a server that is being stopped.
"""

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pymongo import MongoClient

from mongo_layer.embedded import STOP_TIMEOUT_SECONDS, EmbeddedServer, EmbeddedServerError

logger = logging.getLogger("example.embedded_server")


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def process_is_running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_by_pid(pid: int) -> None:
    """Stop a server this process did not start: SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while process_is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_is_running(pid):
            os.kill(pid, signal.SIGKILL)


def answers(uri: str) -> bool:
    client: MongoClient[dict[str, Any]]
    try:
        with MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
            client.admin.command("ping")
    except Exception:
        return False
    return True


class AppDataServer:
    """The embedded server keeping its data under `data_dir`, synced on every commit, and
    shared by every copy of the app started on that folder: the last copy to stop stops it."""

    def __init__(self, data_dir: Path) -> None:
        self.storage = data_dir / "secantus"
        self.server_file = data_dir / "secantusd.json"
        self.start_lock = data_dir / "secantusd.start.lock"
        self.users_lock = data_dir / "secantusd.users.lock"
        self.uri = ""
        self.pid = 0
        self.started_here: EmbeddedServer | None = None
        self.use: IO[str] | None = None

    def start(self) -> None:
        """Use the server another copy runs on this folder, or start one and wait until it
        answers. The server is released when this process exits."""
        self.storage.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.start_lock):
            recorded = self._recorded_server()
            if recorded is not None and answers(recorded[1]):
                self.pid, self.uri = recorded
                logger.info(
                    "embedded SecantusDB already running (pid %d) on %s: sharing it; "
                    "it keeps its data in %s",
                    self.pid,
                    self.uri,
                    self.storage,
                )
            else:
                if recorded is not None:
                    self._stop_unanswering_leftover(recorded[0])
                self._start_own_server()
            self.use = self.users_lock.open("a")
            fcntl.flock(self.use, fcntl.LOCK_SH)
        # Chainlit ends its process with os._exit() after its shutdown hook (which calls
        # stop); atexit covers an app stopped before Chainlit serves.
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop using the server; stop the server too unless another copy still uses it.
        Safe to call twice."""
        use, self.use = self.use, None
        if use is None:
            return
        with exclusive_lock(self.start_lock), use:
            try:
                fcntl.flock(use, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("embedded SecantusDB left running for the other copy of the app")
                return
            self._stop_server()

    def _start_own_server(self) -> None:
        self.started_here = EmbeddedServer(self.storage, sync_on_commit=True)
        self.started_here.start()
        assert self.started_here.process is not None
        self.pid, self.uri = self.started_here.process.pid, self.started_here.uri
        self.server_file.write_text(json.dumps({"pid": self.pid, "uri": self.uri}))
        logger.info("embedded SecantusDB on %s keeps its data in %s", self.uri, self.storage)

    def _recorded_server(self) -> tuple[int, str] | None:
        """The pid and URI of the server recorded for this folder, if that process still
        runs and is that server (a pid can be reused by an unrelated process)."""
        try:
            recorded = json.loads(self.server_file.read_text())
            pid, uri = int(recorded["pid"]), str(recorded["uri"])
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if b"secantusd" not in command or str(self.storage).encode() not in command:
            return None
        return (pid, uri) if process_is_running(pid) else None

    def _stop_unanswering_leftover(self, pid: int) -> None:
        """A server that runs but does not answer is stopped only when no copy uses it."""
        with self.users_lock.open("a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise EmbeddedServerError(
                    f"the embedded server (pid {pid}) of {self.storage} does not answer, and"
                    " another copy of the app still uses it: stop that copy, or give this one"
                    " its own database with MONGODB_URI or its own EXAMPLE_DATA_DIR"
                ) from None
        logger.warning("stopping a leftover embedded server (pid %d) that does not answer", pid)
        self.pid = pid
        self._stop_server()

    def _stop_server(self) -> None:
        started_here, self.started_here = self.started_here, None
        if started_here is not None:
            started_here.stop()
        else:
            stop_by_pid(self.pid)
        self.server_file.unlink(missing_ok=True)
