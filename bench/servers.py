"""The two database servers of a run: a fresh SecantusDB and the bench's PostgreSQL."""

import shutil
import subprocess
from pathlib import Path

from mongo_layer.embedded import EmbeddedServer, free_port

BENCH = Path(__file__).resolve().parent
DATA = BENCH / ".data"
SETUP_POSTGRES = BENCH / "setup_postgres.sh"


class SecantusServer(EmbeddedServer):
    """A SecantusDB process on a free port with empty storage, started for one run only:
    it slows down after some 18,000 writes, so every run starts it afresh."""

    def __init__(self) -> None:
        port = free_port()
        super().__init__(DATA / f"secantus-{port}", port=port)

    def start(self) -> None:
        shutil.rmtree(self.storage, ignore_errors=True)
        super().start()

    def stop(self) -> None:
        super().stop()
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
