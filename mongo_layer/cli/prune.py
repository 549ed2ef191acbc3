"""`mongo-layer prune`: remove files nothing points to any more."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

import click

from ..layer import MongoDataLayer
from .consent import delete_with_consent, yes_option
from .output import results
from .params import dry_run_option, duration_option, format_duration
from .runtime import DatabaseTarget, pass_target


@click.command()
@click.option(
    "--grace",
    default="1h",
    callback=duration_option,
    metavar="DURATION",
    show_default=True,
    help="Leave files younger than this: their element may still be on its way.",
)
@dry_run_option("removed")
@yes_option
@pass_target
def prune(target: DatabaseTarget, grace: timedelta, dry_run: bool, yes: bool) -> None:
    """Remove GridFS files no element or step points to (left by a crash between two
    deletes) and chunks without a file. Safe to run at any time, e.g. daily. Asks first
    on a terminal; --yes without one."""
    window = format_duration(grace)

    def deletion(dry: bool) -> Callable[[MongoDataLayer], Awaitable[int]]:
        return lambda layer: layer.operations.prune_orphans(grace=grace, dry_run=dry)

    def question(counted: int) -> str | None:
        return (
            f"prune: remove {counted} orphan files and chunk sets (grace {window})?"
            if counted
            else None
        )

    removed = delete_with_consent(target, "prune", deletion, question, dry_run, yes)
    verb = "would remove" if dry_run else "removed"
    results().print(f"prune: {verb} {removed} orphan files and chunk sets (grace {window})")
