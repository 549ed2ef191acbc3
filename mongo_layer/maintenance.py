"""Repairs for what a crash between two writes can leave behind."""

import logging
from datetime import timedelta

from .files import FileStore
from .overflow import OverflowStore
from .threads import ThreadStore

logger = logging.getLogger("mongo_layer")


async def prune_orphan_files(
    files: FileStore, threads: ThreadStore, overflow: OverflowStore, grace: timedelta
) -> int:
    """Delete the files no element or step points to any more (their thread, element or
    step was deleted, or replaced, and the process stopped before deleting the file), and
    chunks without a file. Returns how many files and orphan chunk sets were removed."""
    candidates = await files.old_files_by_thread(grace)
    thread_ids = list(candidates)
    referenced = set(await threads.file_references(thread_ids))
    referenced |= set(await overflow.file_references(thread_ids))
    orphans = [
        file_id
        for file_ids in candidates.values()
        for file_id in file_ids
        if file_id not in referenced
    ]
    await files.delete_many(orphans)
    if orphans:
        logger.info("pruned %d orphan files", len(orphans))
    return len(orphans) + await files.prune_chunks_without_file()
