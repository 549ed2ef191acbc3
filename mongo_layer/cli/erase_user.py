"""`mongo-layer erase-user`: the right to erasure."""

import click

from ..operations.retention import DeletionSummary
from .output import JobProgress, deletion_counts, progress_of_deletion, results
from .params import batch_size_option, dry_run_option
from .runtime import DatabaseTarget, pass_target


@click.command("erase-user")
@click.argument("identifier")
@dry_run_option("erased")
@batch_size_option
@pass_target
def erase_user(target: DatabaseTarget, identifier: str, dry_run: bool, batch_size: int) -> None:
    """Erase the user IDENTIFIER: every thread of theirs with its steps, overflow
    documents, feedback and files, then the user document itself. Interrupt it at any
    time: running it again finishes the job."""
    with JobProgress(f"erase-user {identifier}") as progress:
        summary: DeletionSummary = target.run(
            lambda layer: layer.erase_user(
                identifier,
                dry_run=dry_run,
                batch_size=batch_size,
                on_progress=progress_of_deletion(progress),
            )
        )
    if not summary.users:
        results().print(f"erase-user: no user {identifier!r} is stored; nothing to erase")
        return
    verb = "would erase" if dry_run else "erased"
    results().print(f"erase-user: {verb} user {identifier!r} and {deletion_counts(summary)}")
