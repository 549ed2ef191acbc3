"""The two database servers of a run: a fresh SecantusDB and the bench's PostgreSQL."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient

BENCH = Path(__file__).resolve().parent
DATA = BENCH / ".data"
SETUP_POSTGRES = BENCH / "setup_postgres.sh"
SECANTUSD = Path(sys.executable).with_name("secantusd-py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SecantusServer:
    """A SecantusDB process on a free port with empty storage, started for one run only:
    it slows down after some 18,000 writes, so every run starts it afresh."""

    def __init__(self) -> None:
        self.port = free_port()
        self.storage = DATA / f"secantus-{self.port}"
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        shutil.rmtree(self.storage, ignore_errors=True)
        self.storage.mkdir(parents=True)
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
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_until_ready()

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"secantusd-py exited with {self.process.returncode}")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"secantusd-py did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.storage, ignore_errors=True)


class PostgresServer:
    """The cluster `setup_postgres.sh` manages; `start` also gives it an empty database."""

    def __init__(self) -> None:
        self.dsn = ""

    def start(self) -> None:
        # Its progress and errors (apt-get, initdb) go to our stderr; the DSN comes on stdout.
        result = subprocess.run(
            ["bash", str(SETUP_POSTGRES), "start"], check=True, stdout=subprocess.PIPE, text=True
        )
        self.dsn = result.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        subprocess.run(["bash", str(SETUP_POSTGRES), "stop"], check=True, stdout=subprocess.DEVNULL)
