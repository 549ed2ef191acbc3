"""Option values of the command line that click has no type for."""

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
Decorated = TypeVar("Decorated", bound=Callable[..., Any])

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """A length of time written as a number and a unit: `90d`, `12h`, `30m`, `45s`, `2w`."""
    match = _DURATION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90d, 12h, 30m, 45s or 2w")
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})


def duration_option(context: click.Context, parameter: click.Parameter, text: str) -> timedelta:
    """An option callback turning the option's text into a timedelta."""
    return parse_duration(text)


def format_duration(duration: timedelta) -> str:
    """A duration in the notation `parse_duration` reads, in the largest unit that is exact."""
    seconds = int(duration.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def dry_run_option(what: str) -> Callable[[Decorated], Decorated]:
    """`--dry-run` of a destructive subcommand: `what` it would do is reported, not done."""
    return click.option(
        "--dry-run", is_flag=True, help=f"Report what would be {what}; change nothing."
    )


batch_size_option = click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Threads per batch: each batch is read, counted and deleted before the next.",
)
