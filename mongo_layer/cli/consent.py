"""Consent to delete: a destructive subcommand asks on a terminal before it deletes, and
without one deletes only when given `--yes` (docs/decisions.md, "Destructive commands")."""

import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from ..layer import MongoDataLayer
from .runtime import DatabaseTarget, UsageProblem

Summary = TypeVar("Summary")

yes_option = click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Delete without asking. Needed when stdin is not a terminal (cron, CI, a pipe).",
)


def delete_with_consent(
    target: DatabaseTarget,
    command: str,
    deletion: Callable[[bool], Callable[[MongoDataLayer], Awaitable[Summary]]],
    question: Callable[[Summary], str | None],
    dry_run: bool,
    yes: bool,
) -> Summary:
    """Run `deletion(dry_run)` on the target once with `--dry-run` or `--yes`. Otherwise
    count first (`deletion(True)`), ask `question(counted)` on the terminal, and delete only
    on a yes; a `question` of None means nothing would be deleted, so nothing is asked or
    run again. Without a terminal to ask on, refuses before connecting."""
    if dry_run or yes:
        return target.run(deletion(dry_run))
    if not sys.stdin.isatty():
        raise UsageProblem(
            f"{command} deletes without asking only with --yes, and stdin is not a terminal"
            f" to ask on; see what it would delete with --dry-run"
        )
    counted = target.run(deletion(True))
    asked = question(counted)
    if asked is None:
        return counted
    click.confirm(asked, default=False, abort=True, err=True)
    return target.run(deletion(False))
