"""Repairs for what a crash between two writes can leave behind."""

import logging
from datetime import timedelta

from ..storage.files import FileStore
from ..storage.overflow import OverflowStore
from ..storage.threads import ThreadStore

logger = logging.getLogger("mongo_layer")


PRUNE_BATCH_SIZE = 1000


async def prune_orphan_files(
    files: FileStore,
    threads: ThreadStore,
    overflow: OverflowStore,
    grace: timedelta,
    dry_run: bool = False,
) -> int:
    """Delete the files no element or step points to any more (their thread, element or
    step was deleted, or replaced, and the process stopped before deleting the file), and
    chunks without a file, a batch of files at a time. Returns how many files and orphan
    chunk sets were removed (with `dry_run`, would be removed: nothing is deleted)."""
    removed = 0
    async for candidates in files.old_files_in_batches(grace, PRUNE_BATCH_SIZE):
        thread_ids = list(candidates)
        referenced = set(await threads.file_references(thread_ids))
        referenced |= set(await overflow.file_references(thread_ids))
        orphans = [
            file_id
            for file_ids in candidates.values()
            for file_id in file_ids
            if file_id not in referenced
        ]
        if not dry_run:
            await files.delete_many(orphans)
        removed += len(orphans)
    if removed and not dry_run:
        logger.info("pruned %d orphan files", removed)
    return removed + await files.prune_chunks_without_file(dry_run)
