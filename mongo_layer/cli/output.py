"""How the command writes: results on stdout, progress on stderr (a rich progress bar on a
terminal, otherwise a plain line now and then, so logs of scheduled jobs stay readable)."""

import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ..operations.retention import DeletionSummary


def results() -> Console:
    """Where a subcommand prints what it found or did."""
    return Console(highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """A machine-readable result on stdout: one JSON document, nothing else."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


# Without a terminal, a progress line at most this often (plus the first and the last).
PLAIN_PROGRESS_SECONDS = 5.0


class JobProgress:
    """Progress of a long job counting `noun`s (threads), updated after each batch or item.
    Without a terminal: a line at the first update, then at most every few seconds, and the
    final count when the job ends."""

    def __init__(self, description: str, noun: str = "thread") -> None:
        self.description = description
        self.noun = noun
        self.console = Console(stderr=True, highlight=False)
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_line: float | None = None
        self._done: tuple[int, int | None] | None = None
        self._shown: tuple[int, int | None] | None = None
        self._note = ""
        self.started = time.monotonic()

    def rate(self, rows: int) -> str:
        """`rows` moved since the job began, per second."""
        return rows_per_second(rows, time.monotonic() - self.started)

    def __enter__(self) -> "JobProgress":
        if self.console.is_terminal:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=None)
        return self

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """`done` of `total` (None: not known) items are through; `note` adds what they
        amount to so far (a rate)."""
        self._done, self._note = (done, total), note
        if self._bar is not None and self._task is not None:
            label = f"{self.description} {self.noun}s{', ' + note if note else ''}"
            self._bar.update(self._task, completed=done, total=total, description=label)
            return
        now = time.monotonic()
        recent = self._last_line is not None and now - self._last_line < PLAIN_PROGRESS_SECONDS
        if recent and done != total:
            return
        self._last_line = now
        self._show_line()

    def _show_line(self) -> None:
        if self._done is None or self._done == self._shown:
            return
        done, total = self._shown = self._done
        if total is None:
            amount = counted(done, self.noun)
        else:
            amount = f"{done}/{counted(total, self.noun)}"
        note = f", {self._note}" if self._note else ""
        click.echo(f"{self.description}: {amount}{note}", err=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif kind is None:
            self._show_line()


def rows_per_second(rows: int, seconds: float) -> str:
    return f"{rows / seconds if seconds > 0 else 0:.0f} rows/s"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`1 thread`, `3 threads`."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def size_in_bytes(number: int) -> str:
    """A byte count for people: 512 B, 1.5 KB, 20.0 MB (powers of 1024)."""
    size = float(number)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{number} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def deletion_counts(summary: DeletionSummary) -> str:
    """What a deletion removed (or would remove), in one line."""
    return ", ".join(
        [
            counted(summary.threads, "thread"),
            f"{counted(summary.steps, 'step')} ({summary.steps_overflowed} overflowed)",
            counted(summary.elements, "element"),
            f"{counted(summary.files, 'file')} ({size_in_bytes(summary.file_bytes)})",
            counted(summary.feedback, "rating"),
        ]
    )


def progress_of_deletion(progress: JobProgress) -> Callable[[DeletionSummary], None]:
    """An `on_progress` callback showing a deletion's running totals."""

    def show(summary: DeletionSummary) -> None:
        progress.update(summary.threads, summary.selected)

    return show
