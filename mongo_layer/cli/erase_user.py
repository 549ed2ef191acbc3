"""`mongo-layer erase-user`: the right to erasure."""

from collections.abc import Awaitable, Callable

import click

from ..layer import MongoDataLayer
from ..operations.retention import DeletionSummary
from .consent import delete_with_consent, yes_option
from .output import JobProgress, deletion_counts, progress_of_deletion, results
from .params import batch_size_option, dry_run_option
from .runtime import DatabaseTarget, pass_target


@click.command("erase-user")
@click.argument("identifier")
@dry_run_option("erased")
@yes_option
@batch_size_option
@pass_target
def erase_user(
    target: DatabaseTarget, identifier: str, dry_run: bool, yes: bool, batch_size: int
) -> None:
    """Erase the user IDENTIFIER: every thread of theirs with its steps, overflow
    documents, feedback and files, then the user document itself. Asks first on a
    terminal; --yes without one. Interrupt it at any time: running it again finishes the
    job."""

    def deletion(dry: bool) -> Callable[[MongoDataLayer], Awaitable[DeletionSummary]]:
        async def erase(layer: MongoDataLayer) -> DeletionSummary:
            with JobProgress(f"erase-user {identifier}") as progress:
                return await layer.operations.erase_user(
                    identifier,
                    dry_run=dry,
                    batch_size=batch_size,
                    on_progress=progress_of_deletion(progress),
                )

        return erase

    def question(counted: DeletionSummary) -> str | None:
        if not counted.users:
            return None
        return f"erase-user: erase user {identifier!r} and {deletion_counts(counted)}?"

    summary = delete_with_consent(target, "erase-user", deletion, question, dry_run, yes)
    if not summary.users:
        results().print(f"erase-user: no user {identifier!r} is stored; nothing to erase")
        return
    verb = "would erase" if dry_run else "erased"
    results().print(f"erase-user: {verb} user {identifier!r} and {deletion_counts(summary)}")
