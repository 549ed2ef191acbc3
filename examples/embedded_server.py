"""The example's embedded default: a SecantusDB server whose data lives next to the app.

mongo_layer.embedded starts it as a separate program (SecantusDB is GPL-2.0 and never
imported). This module adds what an app that is started and stopped by hand needs: the
data in one folder, a pid file to stop a server a killed run left behind, and a stop at exit.
"""

import atexit
import logging
import os
import signal
import time
from pathlib import Path

from mongo_layer.embedded import STOP_TIMEOUT_SECONDS, EmbeddedServer

logger = logging.getLogger("example.embedded_server")


class AppDataServer(EmbeddedServer):
    """An embedded server keeping its data under `data_dir`, synced on every commit."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / "secantus", sync_on_commit=True)
        self.pid_file = data_dir / "secantusd.pid"

    def start(self) -> None:
        """Start the server and wait until it answers; stop it when this process exits."""
        self._stop_leftover_server()
        super().start()
        assert self.process is not None
        self.pid_file.write_text(str(self.process.pid))
        atexit.register(self.stop)
        logger.info("embedded SecantusDB on %s keeps its data in %s", self.uri, self.storage)

    def stop(self) -> None:
        super().stop()
        self.pid_file.unlink(missing_ok=True)

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
