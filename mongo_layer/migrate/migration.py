"""One migration: every user and thread of a source database, through the layer's own
`restore_user` and `restore_thread`, a batch at a time; broken rows reported, never fatal."""

import time
from dataclasses import dataclass

from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.types import ThreadDict

from ..errors import MongoLayerError
from ..layer import MongoDataLayer
from ..operations.bulk_restore import RestoreOutcome, ThreadToRestore
from .files import ElementFiles
from .options import MigrationOptions, MigrationProgress, NoProgress
from .report import BrokenRow, MigrationReport, TableCounts
from .source import Source
from .verify import verify_threads


async def migrate_history(
    source: Source,
    layer: MongoDataLayer | None,
    options: MigrationOptions = MigrationOptions(),
    progress: MigrationProgress | None = None,
) -> MigrationReport:
    """Move everything of `source` into `layer` (None for a dry run, which only counts).
    Idempotent: running it again, or after an interruption, leaves the same result."""
    report = MigrationReport(
        layer=source.layer, files=options.files, dry_run=options.dry_run or layer is None
    )
    started = time.perf_counter()
    report.found = await source.counts()
    report.broken = await source.broken_rows()
    if layer is not None and not report.dry_run:
        await Migration(source, layer, options, progress or NoProgress(), report).run()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


@dataclass
class Migration:
    source: Source
    layer: MongoDataLayer
    options: MigrationOptions
    progress: MigrationProgress
    report: MigrationReport

    async def run(self) -> None:
        for table, total in self.report.found.model_dump().items():
            self.progress.start(table, total)
        await self.users()
        await self.threads()
        if self.options.verify:
            self.progress.start("verify", self.report.found.threads)
            verified = await verify_threads(self.source, self.layer, self.options, self.progress)
            self.report.verified_threads, self.report.differences = verified

    async def users(self) -> None:
        async for users in self.source.users(self.options.batch_size):
            for user in users:
                try:
                    await self.layer.operations.restore_user(user)
                    self.report.migrated.users += 1
                except MongoLayerError as error:
                    self.broken("users", user.id, str(error))
            self.progress.advance("users", len(users))

    async def threads(self) -> None:
        files = ElementFiles(self.options.files_root, self.options.storage_client)
        element_bytes = files if self.options.files == "copy" else None
        try:
            async for threads in self.source.threads(
                self.options.batch_size, self.options.batch_bytes
            ):
                for thread in threads:
                    await with_read_urls(thread, self.options.storage_client)
                outcomes = await self.layer.operations.restore_threads(
                    [ThreadToRestore(thread) for thread in threads],
                    element_bytes,
                    self.options.concurrency,
                )
                for thread, outcome in zip(threads, outcomes, strict=True):
                    self.thread(thread, outcome)
                    for table, rows in counts_of(thread).model_dump().items():
                        self.progress.advance(table, rows)
        finally:
            await files.close()
        for element_id, reason in sorted(files.not_fetched.items()):
            self.broken(
                "elements",
                element_id,
                f"its file could not be fetched, kept with its url ({reason})",
            )

    def thread(self, thread: ThreadDict, outcome: RestoreOutcome) -> None:
        if isinstance(outcome, MongoLayerError):
            self.broken("threads", thread["id"], str(outcome))
            return
        self.report.migrated.add(counts_of(thread))
        self.report.files_copied += outcome.files_stored
        if not outcome.changed:
            self.report.threads_unchanged += 1

    def broken(self, table: str, row_id: str, problem: str) -> None:
        self.report.broken.append(BrokenRow(table=table, id=row_id, problem=problem))


async def with_read_urls(thread: ThreadDict, storage_client: BaseStorageClient | None) -> None:
    """Elements known only by their object key get the storage client's read url, as the
    source layer gives them: that url is what the element keeps when its bytes are not
    copied (with S3 or Azure it may be a signed url that expires)."""
    if storage_client is None:
        return
    for element in thread.get("elements") or []:
        object_key = element.get("objectKey")
        if object_key and not element.get("url"):
            element["url"] = await storage_client.get_read_url(object_key)


def counts_of(thread: ThreadDict) -> TableCounts:
    steps = thread.get("steps") or []
    return TableCounts(
        threads=1,
        steps=len(steps),
        elements=len(thread.get("elements") or []),
        feedback=sum(1 for step in steps if step.get("feedback")),
    )
