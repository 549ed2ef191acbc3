"""A migration reads threads in batches bounded by what their steps take, not by count."""

from mongo_layer.migrate.source import groups_by_bytes


def rows(*ids: str) -> list[dict[str, str]]:
    return [{"id": thread_id} for thread_id in ids]


def test_threads_are_grouped_in_order_up_to_the_byte_budget() -> None:
    sizes = {"a": 40, "b": 40, "c": 40, "d": 10}

    groups = groups_by_bytes(rows("a", "b", "c", "d"), sizes, batch_bytes=100)

    assert [[row["id"] for row in group] for group in groups] == [["a", "b"], ["c", "d"]]


def test_a_thread_larger_than_the_budget_comes_alone() -> None:
    sizes = {"small": 10, "huge": 5_000, "after": 10}

    groups = groups_by_bytes(rows("small", "huge", "after"), sizes, batch_bytes=100)

    assert [[row["id"] for row in group] for group in groups] == [["small"], ["huge"], ["after"]]


def test_threads_without_steps_take_nothing() -> None:
    groups = groups_by_bytes(rows("a", "b", "c"), {}, batch_bytes=1)

    assert [[row["id"] for row in group] for group in groups] == [["a", "b", "c"]]
