"""Deleting threads in bulk: those inactive for longer than a retention window, or every
thread of one user (the right to erasure).

Each thread is deleted by `Stores.delete_thread`, the one place that knows how (the layer's
`delete_thread` calls it too): its steps, overflow documents, feedback and files go exactly as
when the app deletes it.
"""

import functools
from collections.abc import Callable

from ..storage.stores import Stores
from .bulk import ThreadContents, ThreadSelection, thread_batches, thread_contents


class DeletionSummary(ThreadContents):
    """What a retention run or an erasure deleted (with `dry_run`, would delete)."""

    dry_run: bool = False
    selected: int = 0
    """How many threads the selection matched when the run began."""
    users: int = 0


ProgressCallback = Callable[[DeletionSummary], None]


async def delete_threads(
    stores: Stores,
    selection: ThreadSelection,
    dry_run: bool,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> DeletionSummary:
    """Delete the selected threads a batch at a time, counting what each batch holds
    first; `on_progress` hears the running totals after every batch."""
    summary = DeletionSummary(
        dry_run=dry_run,
        selected=await stores.threads.collection.count_documents(selection.query()),
    )
    async for batch in thread_batches(stores.threads, selection, batch_size, stores.retrier):
        thread_ids = [thread.id for thread in batch]
        summary.add(await thread_contents(stores, thread_ids))
        if not dry_run:
            for thread_id in thread_ids:
                await stores.retrier.run(
                    "delete_thread",
                    functools.partial(stores.delete_thread, thread_id),
                    f"thread {thread_id!r}",
                )
        if on_progress is not None:
            on_progress(summary)
    return summary
