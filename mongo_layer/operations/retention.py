"""Deleting threads in bulk: those inactive for longer than a retention window, or every
thread of one user (the right to erasure).

Each thread is deleted by `MongoDataLayer.delete_thread`, the one place that knows how: its
steps, overflow documents, feedback and files go exactly as when the app deletes it.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from .bulk import ThreadContents, ThreadSelection, thread_batches

if TYPE_CHECKING:
    from ..layer import MongoDataLayer


class DeletionSummary(ThreadContents):
    """What a retention run or an erasure deleted (with `dry_run`, would delete)."""

    dry_run: bool = False
    selected: int = 0
    """How many threads the selection matched when the run began."""
    users: int = 0


ProgressCallback = Callable[[DeletionSummary], None]


async def delete_threads(
    layer: "MongoDataLayer",
    selection: ThreadSelection,
    dry_run: bool,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> DeletionSummary:
    """Delete the selected threads a batch at a time, counting what each batch holds
    first; `on_progress` hears the running totals after every batch."""
    summary = DeletionSummary(
        dry_run=dry_run,
        selected=await layer.threads.collection.count_documents(selection.query()),
    )
    async for batch in thread_batches(layer.threads, selection, batch_size, layer.retrier):
        thread_ids = [thread.id for thread in batch]
        summary.add(await layer.contents.contents(thread_ids))
        if not dry_run:
            for thread_id in thread_ids:
                await layer.delete_thread(thread_id)
        if on_progress is not None:
            on_progress(summary)
    return summary
