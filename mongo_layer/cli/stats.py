"""`mongo-layer stats`: what the database holds, and threads created per day."""

import click
from rich.table import Table

from ..operations.statistics import Statistics
from .output import print_json, results, size_in_bytes
from .runtime import DatabaseTarget, pass_target

BAR_WIDTH = 40


@click.command()
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=30,
    show_default=True,
    help="How many days the chart of new threads covers, today included.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_target
def stats(target: DatabaseTarget, days: int, as_json: bool) -> None:
    """Count users, threads, steps (embedded and overflowed), elements and their files,
    feedback (and the share of thumbs up), and chart the threads created per day."""
    statistics = target.run(lambda layer: layer.operations.statistics(days=days))
    if as_json:
        print_json(statistics.model_dump(mode="json"))
        return
    console = results()
    console.print(totals_table(statistics))
    console.print(threads_per_day_chart(statistics))


def totals_table(statistics: Statistics) -> Table:
    share = statistics.positive_feedback_share
    thumbs_up = "no ratings" if share is None else f"{share:.0%} thumbs up"
    table = Table("", "count", "detail", title="Stored", title_justify="left")
    table.add_row("users", str(statistics.users), "")
    table.add_row("threads", str(statistics.threads), "")
    table.add_row(
        "steps",
        str(statistics.steps),
        f"{statistics.steps_embedded} embedded, {statistics.steps_overflowed} overflowed",
    )
    table.add_row("elements", str(statistics.elements), "")
    table.add_row("files", str(statistics.files), size_in_bytes(statistics.file_bytes))
    table.add_row("feedback", str(statistics.feedback), thumbs_up)
    return table


def threads_per_day_chart(statistics: Statistics) -> Table:
    """A horizontal bar per day, scaled to the busiest day."""
    busiest = max((day.threads for day in statistics.threads_per_day), default=0)
    table = Table(
        "day",
        "threads",
        "",
        title=f"Threads created per day, last {statistics.days} days (UTC)",
        title_justify="left",
    )
    for day in statistics.threads_per_day:
        length = round(day.threads / busiest * BAR_WIDTH) if busiest else 0
        bar = "█" * length if length or not day.threads else "▏"
        table.add_row(day.day.isoformat(), str(day.threads), f"[cyan]{bar}[/cyan]")
    return table
