"""`mongo-layer prune`: remove files nothing points to any more."""

from datetime import timedelta

import click

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
@pass_target
def prune(target: DatabaseTarget, grace: timedelta, dry_run: bool) -> None:
    """Remove GridFS files no element or step points to (left by a crash between two
    deletes) and chunks without a file. Safe to run at any time, e.g. daily."""
    removed = target.run(lambda layer: layer.prune_orphans(grace=grace, dry_run=dry_run))
    verb = "would remove" if dry_run else "removed"
    window = format_duration(grace)
    results().print(f"prune: {verb} {removed} orphan files and chunk sets (grace {window})")
