"""Sidebar cursors (pagination.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from mongo_layer import InvalidInputError
from mongo_layer.pagination import decode_cursor, encode_cursor


@pytest.mark.parametrize("thread_id", ["t1", "id:with:colons", "0"])
def test_a_cursor_decodes_to_the_time_and_thread_it_was_made_from(thread_id: str) -> None:
    created_at = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)

    assert decode_cursor(encode_cursor(created_at, thread_id)) == (created_at, thread_id)


def test_every_millisecond_survives_a_cursor_exactly() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(milliseconds=7 * i + 1) for i in range(20_000)]

    assert [decode_cursor(encode_cursor(m, "t"))[0] for m in moments] == moments


def test_a_cursor_from_a_naive_utc_time_points_at_the_same_instant() -> None:
    naive = datetime(2024, 5, 1, 10, 0)

    decoded, _ = decode_cursor(encode_cursor(naive, "t1"))

    assert decoded == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "cursor", ["", "t1", "abc:t1", "123:", "-5:t1", "1.5:t1", '{"$gt": ""}', "12 :t1"]
)
def test_a_cursor_this_layer_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInputError, match="cursor"):
        decode_cursor(cursor)


@pytest.mark.parametrize("cursor", [None, 123, {"$gt": ""}])
def test_a_cursor_that_is_not_a_string_is_refused(cursor: object) -> None:
    with pytest.raises(InvalidInputError, match="cursor"):
        decode_cursor(cursor)
