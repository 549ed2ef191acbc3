"""Sidebar cursors (pagination.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from mongo_layer.storage.pagination import decode_cursor, encode_cursor


@pytest.mark.parametrize("thread_id", ["t1", "id:with:colons", "0"])
def test_a_cursor_decodes_to_the_time_and_thread_it_was_made_from(thread_id: str) -> None:
    created_at = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)

    assert decode_cursor(encode_cursor(created_at, thread_id)) == (created_at, thread_id)


def test_every_millisecond_survives_a_cursor_exactly() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(milliseconds=7 * i + 1) for i in range(20_000)]

    assert [decode_cursor(encode_cursor(m, "t")) for m in moments] == [(m, "t") for m in moments]


def test_a_cursor_from_a_naive_utc_time_points_at_the_same_instant() -> None:
    naive = datetime(2024, 5, 1, 10, 0)

    assert decode_cursor(encode_cursor(naive, "t1")) == (naive.replace(tzinfo=UTC), "t1")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "t1",
        "abc",
        "abc:t1",
        "123:",
        "-5:t1",
        "1.5:t1",
        '{"$gt": ""}',
        "12 :t1",
        "١٢٣:t1",
        "9" * 16 + ":t1",
        "9" * 5000 + ":t1",
        "999999999999999:t1",
    ],
)
def test_a_cursor_this_layer_did_not_make_points_nowhere(cursor: str) -> None:
    assert decode_cursor(cursor) is None


@pytest.mark.parametrize("cursor", [None, 123, {"$gt": ""}, ["1:t1"]])
def test_a_cursor_that_is_not_a_string_points_nowhere(cursor: object) -> None:
    assert decode_cursor(cursor) is None
