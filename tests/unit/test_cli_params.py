"""Durations on the command line: `90d`, `12h`, ... and back."""

from datetime import timedelta

import click
import pytest

from mongo_layer.cli.output import counted, size_in_bytes
from mongo_layer.cli.params import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        (" 7 d ", timedelta(days=7)),
    ],
)
def test_a_duration_is_a_number_and_a_unit(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["90", "d", "1.5d", "-1d", "90 days", ""])
def test_anything_else_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(click.BadParameter, match="such as 90d"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=90), "90d"),
        (timedelta(weeks=2), "2w"),
        (timedelta(hours=36), "36h"),
        (timedelta(0), "0s"),
        (timedelta(seconds=61), "61s"),
    ],
)
def test_a_duration_is_written_in_its_largest_exact_unit(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text
    assert parse_duration(text) == duration


def test_counts_and_sizes_read_as_words() -> None:
    assert (counted(1, "thread"), counted(2, "thread")) == ("1 thread", "2 threads")
    assert [size_in_bytes(n) for n in (11, 1536, 5 * 1024 * 1024)] == ["11 B", "1.5 KB", "5.0 MB"]
