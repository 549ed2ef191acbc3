"""The operator's calls on a layer's database, beside Chainlit's contract: retention,
erasure, statistics, batches, restore, file reading and repairs. `layer.operations` is one;
the `mongo-layer` command, the archive and the migration use nothing else."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta

from chainlit.types import ThreadDict
from chainlit.user import PersistedUser

from ..ids import as_id, as_optional_id, as_read_id
from ..storage.files import StoredFile
from ..storage.stores import Stores, retried
from ..times import utc_now
from . import restoring
from .bulk import ThreadActivity, ThreadSelection, thread_batches, user_batches
from .bulk_restore import RestoreOutcome, ThreadToRestore, restore_threads
from .maintenance import prune_orphan_files
from .restore import ElementBytes, RestoreSummary
from .retention import DeletionSummary, ProgressCallback, delete_threads
from .scheduled_retention import RetentionSchedule, ScheduledRetention
from .statistics import Statistics, collect_statistics


class Operations:
    """Operations over the stores of one layer. With `retention_days` in the stores'
    settings, retention also runs by itself on `retention_schedule`, from the first
    operation of the layer until `close()`."""

    def __init__(self, stores: Stores, retention_schedule: RetentionSchedule | None = None) -> None:
        self.stores = stores
        self.scheduled_retention: ScheduledRetention | None = None
        days = stores.settings.retention_days
        if days is not None:
            self.scheduled_retention = ScheduledRetention(
                self, days, stores.leases, retention_schedule
            )
            stores.when_ready = self.scheduled_retention.start

    async def close(self) -> None:
        """Stop the retention task, if any; a run it was making is left for another process
        to finish."""
        if self.scheduled_retention is not None:
            await self.scheduled_retention.stop()

    async def _user(self, identifier: str) -> PersistedUser | None:
        lookup = as_read_id(identifier)
        return None if lookup is None else await self.stores.users.get(lookup)

    @retried
    async def delete_threads_older_than(
        self,
        older_than: timedelta,
        user_identifier: str | None = None,
        dry_run: bool = False,
        batch_size: int = 100,
        on_progress: ProgressCallback | None = None,
    ) -> DeletionSummary:
        """Delete every thread whose last activity (`updatedAt`: its last step, rename or
        retag) is older than `older_than`, only those of `user_identifier` if given. Each
        goes exactly as the layer's `delete_thread` deletes it, with its steps, overflow
        documents, feedback and files. Works in batches of `batch_size` threads, calling
        `on_progress` after each; an interrupted run is finished by running it again. With
        `dry_run`, counts what would go and deletes nothing."""
        selection = ThreadSelection(last_active_before=utc_now() - older_than)
        if user_identifier is not None:
            user = await self._user(user_identifier)
            if user is None:
                return DeletionSummary(dry_run=dry_run)
            selection = replace(selection, user_id=user.id)
        return await delete_threads(self.stores, selection, dry_run, batch_size, on_progress)

    @retried
    async def erase_user(
        self,
        identifier: str,
        dry_run: bool = False,
        batch_size: int = 100,
        on_progress: ProgressCallback | None = None,
    ) -> DeletionSummary:
        """Erase a user: every thread of theirs as `delete_thread` deletes it (steps,
        overflow documents, feedback on them, files), then the user document, last, so that
        an interrupted erasure is finished by running it again. A user not stored is nothing
        to erase (zero counts). With `dry_run`, counts what would go and deletes nothing."""
        user = await self._user(identifier)
        if user is None:
            return DeletionSummary(dry_run=dry_run)
        selection = ThreadSelection(user_id=user.id)
        summary = await delete_threads(self.stores, selection, dry_run, batch_size, on_progress)
        if not dry_run:
            await self.stores.users.delete(user.identifier)
        summary.users = 1
        return summary

    @retried
    async def statistics(self, days: int = 30) -> Statistics:
        """Counts of users, threads, steps (embedded and overflowed), elements, files and
        their bytes, feedback (and its share of thumbs up), and the threads created on each
        of the last `days` days, all counted on the server."""
        return await collect_statistics(self.stores, days)

    async def document_counts(self) -> dict[str, int]:
        """How many documents each of the layer's collections holds, by collection name,
        from the collections' metadata (estimated: no collection is scanned). Like `check()`
        it creates nothing: no index, and so no collection, is made for counting."""
        collection = self.stores.connection.collection

        async def count() -> dict[str, int]:
            return {
                name: await collection(name).estimated_document_count()
                for name in self.stores.settings.history_collection_names
            }

        return await self.stores.retrier.run("document_counts", count)

    async def thread_batches(
        self,
        user_identifier: str | None = None,
        thread_id: str | None = None,
        batch_size: int = 100,
    ) -> AsyncIterator[list[ThreadActivity]]:
        """Every thread (or those of `user_identifier`, or the one `thread_id`), with its
        owner and times, `batch_size` at a time in id order: never the whole collection
        in memory. Nothing for a user who is not stored."""
        await self.stores.ready()
        selection = ThreadSelection(thread_id=as_optional_id(thread_id, "thread id"))
        if user_identifier is not None:
            user = await self._user(user_identifier)
            if user is None:
                return
            selection = replace(selection, user_id=user.id)
        async for batch in thread_batches(
            self.stores.threads, selection, batch_size, self.stores.retrier
        ):
            yield batch

    async def user_batches(self, batch_size: int = 100) -> AsyncIterator[list[PersistedUser]]:
        """Every stored user, `batch_size` at a time in id order."""
        await self.stores.ready()
        async for batch in user_batches(self.stores.users, batch_size, self.stores.retrier):
            yield batch

    @retried
    async def open_element_file(self, thread_id: str, element_id: str) -> StoredFile | None:
        """The stored file of an element of this thread, to read in chunks (its `length`,
        `name`, `mime` and `chunks()`); None when the element has no file here (it has
        only a url) or is not an element of this thread."""
        thread_id = as_id(thread_id, "thread id")
        element_id = as_id(element_id, f"element id in thread {thread_id!r}")
        element = await self.stores.threads.find_element(thread_id, element_id)
        if element is None or element.get("fileId") is None:
            return None
        return await self.stores.files.open(element["fileId"])

    @retried
    async def restore_user(self, user: PersistedUser) -> None:
        """Store a user exactly as another layer had it: id, identifier, display name,
        metadata and `createdAt` kept. Idempotent. Raises UserConflictError when a different
        stored user already has its identifier or its id."""
        await restoring.restore_user(self.stores, user)

    @retried
    async def restore_thread(
        self,
        thread: ThreadDict,
        element_bytes: ElementBytes | None = None,
        updated_at: str | None = None,
    ) -> RestoreSummary:
        """Store a thread exactly as another layer had it, as if the app had run on this
        layer from the start: its fields with their `createdAt`, every step as given
        (through the layer's own step write, so overflow and large fields apply) with its
        feedback and the feedback's id, every element with the bytes `element_bytes`
        returns (stored in GridFS) or else its url. `updatedAt` is `updated_at`, or the
        thread's last activity. Idempotent: what is already stored as given is not written
        again, and an element already stored with its file is not uploaded again.

        Decided before anything is written: RestoreRefusedError when the stored thread has
        another owner than the one named (see `refuse_foreign_claims`), InvalidInputError
        or InvalidIdError when a value cannot be stored."""
        return await restoring.restore_thread(self.stores, thread, element_bytes, updated_at)

    @retried
    async def restore_threads(
        self,
        threads: Sequence[ThreadToRestore],
        element_bytes: ElementBytes | None = None,
        concurrency: int = 4,
    ) -> list[RestoreOutcome]:
        """Restore many threads as `restore_thread` restores one, with the same result and
        the same ownership decision: each thread not stored yet is written whole, many per
        command; each stored already goes through `restore_thread` (`concurrency` at a
        time). Returns, in the order given, each thread's RestoreSummary or the
        MongoLayerError that kept it out."""
        return await restore_threads(self.stores, threads, element_bytes, concurrency)

    @retried
    async def prune_orphans(
        self, grace: timedelta = timedelta(hours=1), dry_run: bool = False
    ) -> int:
        """Delete files left behind by a crash between two deletes (files nothing points
        to, older than `grace`, and chunks without a file); returns how many. With
        `dry_run`, returns how many it would delete and deletes nothing."""
        stores = self.stores
        return await prune_orphan_files(
            stores.files, stores.threads, stores.overflow, grace, dry_run
        )
