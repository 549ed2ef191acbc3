"""What a migration is asked to do, and whom it tells how far it is."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from chainlit.data.storage_clients.base import BaseStorageClient

from .source import DEFAULT_BATCH_BYTES


@dataclass(frozen=True)
class MigrationOptions:
    files: Literal["copy", "link"] = "copy"
    files_root: Path | None = None
    storage_client: BaseStorageClient | None = None
    dry_run: bool = False
    verify: bool = False
    batch_size: int = 100
    # What the steps of the threads read from the source at once may take there.
    batch_bytes: int = DEFAULT_BATCH_BYTES
    # Threads already stored restored at once; the steps of one thread always in order.
    concurrency: int = 4


class MigrationProgress(Protocol):
    """Told how far each table is (users, threads, steps, elements, feedback, verify)."""

    def start(self, table: str, total: int) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...


class NoProgress:
    def start(self, table: str, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass
