"""`mongo-layer migrate`: move a Chainlit app's history from Chainlit's own SQL layers."""

import asyncio
import importlib
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import click
from chainlit.data.storage_clients.base import BaseStorageClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from ..layer import MongoDataLayer
from .output import counted, print_json, results, rows_per_second
from .runtime import CommandFailed, DatabaseTarget, UsageProblem, pass_target

# The modules of the `migrate` extra (pyproject.toml), as Python imports them.
MIGRATE_EXTRA_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy")


def missing_module(error: ModuleNotFoundError) -> str:
    """One line saying what to install for a source whose driver cannot be imported."""
    name = (error.name or "").split(".")[0]
    if name in MIGRATE_EXTRA_MODULES:
        return (
            f"migrating needs the `migrate` extra ({name} is not installed):"
            ' pip install "mongo-layer[migrate]"'
        )
    return f"this source needs the Python package {name!r}, which is not installed"


@click.command()
@click.option(
    "--from",
    "source_url",
    required=True,
    metavar="URL",
    help="The Chainlit database: postgresql://... (ChainlitDataLayer's DATABASE_URL) or an"
    " SQLAlchemy URL such as sqlite+aiosqlite:///chainlit.db (SQLAlchemyDataLayer).",
)
@click.option(
    "--layer",
    type=click.Choice(["chainlit", "sqlalchemy"]),
    help="Which Chainlit layer wrote it (default: sqlalchemy for sqlite:// and"
    " postgresql+asyncpg:// URLs, chainlit for postgresql://).",
)
@click.option(
    "--files",
    type=click.Choice(["copy", "link"]),
    default="copy",
    show_default=True,
    help="copy: fetch each element's bytes into GridFS; link: keep its url only.",
)
@click.option(
    "--files-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder holding the storage client's objects by object key (copy reads them here).",
)
@click.option(
    "--storage-client",
    metavar="MODULE:NAME",
    help="A Chainlit storage client (or a function returning one) whose read urls give the"
    " files, e.g. myapp.storage:make_client.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be migrated; change nothing.")
@click.option(
    "--verify",
    is_flag=True,
    help="Then read every thread through the source layer and MongoDataLayer and list each"
    " difference (exit status 1 if any).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Threads read from the source at a time (fewer when their steps take over 8 MB there).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Threads already in MongoDB restored at once (new ones are written whole, many"
    " per command; the steps of one thread always in order).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_target
def migrate(
    target: DatabaseTarget,
    source_url: str,
    layer: str | None,
    files: str,
    files_root: Path | None,
    storage_client: str | None,
    dry_run: bool,
    verify: bool,
    batch_size: int,
    concurrency: int,
    as_json: bool,
) -> None:
    """Move users, threads, steps (nested, with generations), ratings and element files
    from ChainlitDataLayer or SQLAlchemyDataLayer into this MongoDB database, keeping ids
    and times. Rows that cannot be moved are listed; everything else is. Safe to run again,
    also after an interruption: what is already there is not written twice."""
    from ..migrate import MigrationOptions, migrate_history, open_source

    options = MigrationOptions(
        files="link" if files == "link" else "copy",
        files_root=files_root,
        storage_client=load_storage_client(storage_client) if storage_client else None,
        dry_run=dry_run,
        verify=verify,
        batch_size=batch_size,
        concurrency=concurrency,
    )
    try:
        source = open_source(source_url, layer)
    except ModuleNotFoundError as error:
        raise UsageProblem(missing_module(error)) from error

    async def run(mongo: MongoDataLayer | None) -> Any:
        try:
            with TableProgress() as progress:
                return await migrate_history(source, mongo, options, progress)
        finally:
            await source.close()

    report = asyncio.run(run(None)) if dry_run else target.run(run)
    if as_json:
        print_json(report.model_dump(mode="json") | {"rows_per_second": report.rows_per_second})
    else:
        print_report(report)
    if report.differences:
        raise CommandFailed(f"verify: {counted(len(report.differences), 'difference')} found")


def load_storage_client(reference: str) -> BaseStorageClient:
    """The storage client `module:name` names: the object, or what calling it returns."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(f"{reference!r} is not MODULE:NAME", param_hint="--storage-client")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise click.BadParameter(
            f"{reference!r} cannot be loaded: {error}", param_hint="--storage-client"
        ) from error
    if isinstance(found, BaseStorageClient):
        return found
    try:
        client = found() if callable(found) else None
    except TypeError as error:
        raise click.BadParameter(
            f"{reference!r} cannot be called without arguments: {error}",
            param_hint="--storage-client",
        ) from error
    if not isinstance(client, BaseStorageClient):
        raise click.BadParameter(
            f"{reference!r} is not a Chainlit storage client", param_hint="--storage-client"
        )
    return client


def print_report(report: Any) -> None:
    console = results()
    verb = "would migrate" if report.dry_run else "migrated"
    table = Table("table", "in the source", verb, title="mongo-layer migrate", title_justify="left")
    for name, found in report.found.model_dump().items():
        moved = found if report.dry_run else getattr(report.migrated, name)
        table.add_row(name, str(found), str(moved))
    console.print(table)
    if not report.dry_run:
        console.print(
            f"files copied into GridFS: {report.files_copied}; threads already there"
            f" unchanged: {report.threads_unchanged}"
        )
    for row in report.broken:
        console.print(f"broken row: {row.table} {row.id}: {row.problem}")
    if report.verified_threads is not None:
        console.print(
            f"verify: {counted(report.verified_threads, 'thread')} compared,"
            f" {counted(len(report.differences), 'difference')}"
        )
    for difference in report.differences:
        console.print(
            f"difference: thread {difference.thread_id} {difference.what}:"
            f" source {difference.source}, MongoDB {difference.mongo}"
        )
    if report.dry_run:
        console.print(f"{report.found.total} rows counted; nothing written")
        return
    console.print(
        f"{report.found.total} rows in {report.seconds:.1f} s ({report.rows_per_second:.0f} rows/s)"
    )


class TableProgress:
    """A progress bar per table on a terminal; otherwise one line per table each tenth of
    the way, so a log stays short."""

    def __init__(self) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.bar: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.done: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.started = time.monotonic()

    def __enter__(self) -> "TableProgress":
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description:>9}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                console=self.console,
                transient=True,
            )
            self.bar.start()
        return self

    def start(self, table: str, total: int) -> None:
        self.done[table], self.totals[table] = 0, total
        if self.bar is not None:
            self.tasks[table] = self.bar.add_task(table, total=total, rate="")

    def advance(self, table: str, rows: int) -> None:
        if not rows:
            return
        before = self.done[table]
        self.done[table] = done = before + rows
        rate = rows_per_second(sum(self.done.values()), time.monotonic() - self.started)
        if self.bar is not None:
            self.bar.update(self.tasks[table], completed=done, rate=rate)
            return
        total = self.totals[table]
        step = max(1, total // 10)
        if done // step != before // step or done == total:
            click.echo(f"{table}: {done}/{total} ({rate} in all)", err=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()
