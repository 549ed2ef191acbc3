"""`mongo-layer retention`: delete threads nobody has touched for longer than a window."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import click

from ..layer import MongoDataLayer
from ..operations.retention import DeletionSummary
from .consent import delete_with_consent, yes_option
from .output import JobProgress, deletion_counts, progress_of_deletion, results
from .params import batch_size_option, dry_run_option, duration_option, format_duration
from .runtime import CommandFailed, DatabaseTarget, UsageProblem, pass_target

# A shorter window would delete threads people are using today.
SHORTEST_WINDOW = timedelta(days=1)


@click.command()
@click.option(
    "--older-than",
    required=True,
    callback=duration_option,
    metavar="DURATION",
    help="Delete threads whose last activity is older than this, e.g. 90d, 12w, 36h.",
)
@click.option("--user", "user_identifier", metavar="IDENTIFIER", help="Only this user's threads.")
@click.option(
    "--allow-under-a-day",
    is_flag=True,
    help="Accept an --older-than under one day (0d deletes every thread).",
)
@dry_run_option("deleted")
@yes_option
@batch_size_option
@pass_target
def retention(
    target: DatabaseTarget,
    older_than: timedelta,
    user_identifier: str | None,
    allow_under_a_day: bool,
    dry_run: bool,
    yes: bool,
    batch_size: int,
) -> None:
    """Delete every thread whose last activity (its last message, rename or retag) is
    older than --older-than, each with its steps, overflow documents, feedback and files,
    exactly as deleting it in the app does. Asks first on a terminal; --yes without one.
    Interrupt it at any time: running it again finishes the job."""
    window = format_duration(older_than)
    if older_than < SHORTEST_WINDOW and not allow_under_a_day:
        raise UsageProblem(
            f"--older-than {window} is under one day and would delete threads in use today;"
            " add --allow-under-a-day if that is meant"
        )

    def deletion(dry: bool) -> Callable[[MongoDataLayer], Awaitable[DeletionSummary | None]]:
        async def delete(layer: MongoDataLayer) -> DeletionSummary | None:
            if user_identifier is not None and await layer.get_user(user_identifier) is None:
                return None
            with JobProgress("retention") as progress:
                return await layer.operations.delete_threads_older_than(
                    older_than,
                    user_identifier=user_identifier,
                    dry_run=dry,
                    batch_size=batch_size,
                    on_progress=progress_of_deletion(progress),
                )

        return delete

    whose = f" of user {user_identifier!r}" if user_identifier else ""
    selection = f"threads{whose} inactive for more than {window}"

    def question(counted: DeletionSummary | None) -> str | None:
        if counted is None or not counted.threads:
            return None
        return f"retention: delete {deletion_counts(counted)} ({selection})?"

    summary = delete_with_consent(target, "retention", deletion, question, dry_run, yes)
    if summary is None:
        raise CommandFailed(f"no user {user_identifier!r} is stored; retention deleted nothing")
    verb = "would delete" if dry_run else "deleted"
    results().print(f"retention: {verb} {deletion_counts(summary)} ({selection})")
