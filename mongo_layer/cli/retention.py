"""`mongo-layer retention`: delete threads nobody has touched for longer than a window."""

from datetime import timedelta

import click

from ..operations.retention import DeletionSummary
from .output import JobProgress, deletion_counts, progress_of_deletion, results
from .params import batch_size_option, dry_run_option, duration_option, format_duration
from .runtime import DatabaseTarget, pass_target


@click.command()
@click.option(
    "--older-than",
    required=True,
    callback=duration_option,
    metavar="DURATION",
    help="Delete threads whose last activity is older than this, e.g. 90d, 12w, 36h.",
)
@click.option("--user", "user_identifier", metavar="IDENTIFIER", help="Only this user's threads.")
@dry_run_option("deleted")
@batch_size_option
@pass_target
def retention(
    target: DatabaseTarget,
    older_than: timedelta,
    user_identifier: str | None,
    dry_run: bool,
    batch_size: int,
) -> None:
    """Delete every thread whose last activity (its last message, rename or retag) is
    older than --older-than, each with its steps, overflow documents, feedback and files,
    exactly as deleting it in the app does. Interrupt it at any time: running it again
    finishes the job."""
    with JobProgress("retention") as progress:
        summary: DeletionSummary = target.run(
            lambda layer: layer.delete_threads_older_than(
                older_than,
                user_identifier=user_identifier,
                dry_run=dry_run,
                batch_size=batch_size,
                on_progress=progress_of_deletion(progress),
            )
        )
    verb = "would delete" if dry_run else "deleted"
    whose = f" of user {user_identifier!r}" if user_identifier else ""
    window = format_duration(older_than)
    results().print(
        f"retention: {verb} {deletion_counts(summary)}"
        f" (threads{whose} inactive for more than {window})"
    )
