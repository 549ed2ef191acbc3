"""Feedback on the real server: one rating per step, in the stored step's thread, given and
taken back only by that thread's author."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from chainlit.context import context_var
from chainlit.types import Feedback
from chainlit.user import User
from pymongo.errors import DuplicateKeyError

from mongo_layer import MongoDataLayer, MongoLayerSettings, StepNotFoundError, ThreadAccessError

from .factories import step, stored_thread, thread_of, user


async def test_feedback_without_an_id_is_created_with_a_new_id(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))

    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    assert feedback_id
    stored = await layer.stores.feedback.collection.find_one({"_id": feedback_id})
    assert (stored["forId"], stored["threadId"], stored["value"]) == ("s1", "t1", 1)


async def test_feedback_with_its_id_is_updated_in_place(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    again = await layer.upsert_feedback(
        Feedback(id=feedback_id, forId="s1", threadId="t1", value=0, comment="changed my mind")
    )

    assert again == feedback_id
    assert await layer.stores.feedback.collection.count_documents({}) == 1
    thread = await stored_thread(layer, "t1")
    assert thread["steps"][0]["feedback"] == {
        "id": feedback_id,
        "forId": "s1",
        "value": 0,
        "comment": "changed my mind",
    }


async def test_a_second_rating_of_a_step_without_an_id_replaces_the_first(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    first = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    second = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=0))

    assert second == first
    assert await layer.stores.feedback.collection.count_documents({"forId": "s1"}) == 1


async def test_the_thread_id_is_looked_up_from_the_step_when_absent(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", "t7"))

    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", value=1))

    stored = await layer.stores.feedback.collection.find_one({"_id": feedback_id})
    assert stored["threadId"] == "t7"
    thread = await stored_thread(layer, "t7")
    assert thread["steps"][0]["feedback"] is not None
    assert thread["steps"][0]["feedback"]["id"] == feedback_id


async def test_delete_feedback_removes_it(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    assert await layer.delete_feedback(feedback_id) is True

    assert await layer.stores.feedback.collection.count_documents({}) == 0
    thread = await stored_thread(layer, "t1")
    assert "feedback" not in thread["steps"][0]


async def test_deleting_unknown_feedback_reports_false(layer: MongoDataLayer) -> None:
    assert await layer.delete_feedback("unknown") is False


async def test_simultaneous_ratings_of_a_step_leave_one_feedback(layer: MongoDataLayer) -> None:
    step_ids = [f"s{i}" for i in range(6)]
    for step_id in step_ids:
        await layer.create_step(step(step_id))

    async def rate_three_times_at_once(step_id: str) -> tuple[set[str], set[str]]:
        new = Feedback(forId=step_id, threadId="t1", value=1)
        created = await asyncio.gather(*(layer.upsert_feedback(new) for _ in range(3)))
        again = Feedback(id=created[0], forId=step_id, threadId="t1", value=0)
        updated = await asyncio.gather(*(layer.upsert_feedback(again) for _ in range(3)))
        return set(created), set(updated)

    for step_id in step_ids:
        created, updated = await rate_three_times_at_once(step_id)
        assert len(created) == 1
        assert updated == created
        assert await layer.stores.feedback.collection.count_documents({"forId": step_id}) == 1


# Who may rate what


async def two_users_sharing_a_step_id(layer: MongoDataLayer) -> None:
    """alice's thread t-alice and bob's thread t-bob each hold a step with id "shared"."""
    alice, bob = await user(layer, "alice"), await user(layer, "bob")
    await thread_of(layer, alice, "t-alice")
    await thread_of(layer, bob, "t-bob")
    await layer.create_step(step("shared", "t-alice"))
    await layer.create_step(step("shared", "t-bob"))
    await layer.create_step(step("alice-only", "t-alice"))


async def feedback_documents(layer: MongoDataLayer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await layer.stores.feedback.collection.find({}).sort("_id").to_list(None)
    )
    return found


@pytest.mark.parametrize("deleted", [False, True])
async def test_a_step_that_does_not_exist_cannot_be_rated(
    layer: MongoDataLayer, deleted: bool
) -> None:
    """Never stored, or deleted from the thread the request names."""
    if deleted:
        await layer.create_step(step("nope"))
        await layer.delete_step("nope")

    with pytest.raises(StepNotFoundError, match="nope"):
        await layer.upsert_feedback(Feedback(forId="nope", threadId="t1", value=1))

    assert await feedback_documents(layer) == []


async def test_the_thread_comes_from_the_stored_step_not_from_the_request(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1", "t1"))

    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t-other", value=1))

    [stored] = await feedback_documents(layer)
    assert (stored["_id"], stored["threadId"]) == (feedback_id, "t1")


async def test_a_client_chosen_id_never_names_a_new_feedback(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))

    feedback_id = await layer.upsert_feedback(
        Feedback(id="chosen-by-client", forId="s1", threadId="t1", value=1)
    )

    assert feedback_id != "chosen-by-client"
    assert [d["_id"] for d in await feedback_documents(layer)] == [feedback_id]


async def test_another_steps_feedback_id_neither_moves_nor_changes_that_feedback(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    await layer.create_step(step("s2"))
    first = await layer.upsert_feedback(Feedback(forId="s1", value=1, comment="first"))

    second = await layer.upsert_feedback(Feedback(id=first, forId="s2", value=0))

    assert second != first
    by_id = {d["_id"]: d for d in await feedback_documents(layer)}
    assert (by_id[first]["forId"], by_id[first]["value"], by_id[first]["comment"]) == (
        "s1",
        1,
        "first",
    )
    assert by_id[second]["forId"] == "s2"


async def test_a_comment_is_cut_to_the_configured_length(
    layer_with: Callable[..., Awaitable[MongoDataLayer]],
) -> None:
    layer = await layer_with(max_feedback_comment_length=20)
    await layer.create_step(step("s1"))

    await layer.upsert_feedback(Feedback(forId="s1", value=0, comment="x" * 10_000))

    [stored] = await feedback_documents(layer)
    assert stored["comment"] == "x" * 20


def test_comments_are_capped_at_10000_characters_by_default() -> None:
    assert MongoLayerSettings().max_feedback_comment_length == 10_000


async def test_a_user_rates_a_step_id_held_by_two_users_in_their_own_thread(
    layer: MongoDataLayer,
) -> None:
    await two_users_sharing_a_step_id(layer)
    alices = await layer.rate_step(Feedback(forId="shared", value=1, comment="mine"), "alice")

    for named_thread in (None, "t-alice", "t-bob"):
        bobs = await layer.rate_step(
            Feedback(forId="shared", threadId=named_thread, id=alices.id, value=0), "bob"
        )
        assert (bobs.threadId, bobs.id != alices.id) == ("t-bob", True)

    alice_thread = await stored_thread(layer, "t-alice")
    assert alice_thread["steps"][0]["feedback"] == {
        "id": alices.id,
        "forId": "shared",
        "value": 1,
        "comment": "mine",
    }


async def test_a_user_cannot_rate_a_step_of_another_users_thread(layer: MongoDataLayer) -> None:
    await two_users_sharing_a_step_id(layer)
    await layer.rate_step(Feedback(forId="alice-only", value=1), "alice")
    before = await feedback_documents(layer)

    with pytest.raises(ThreadAccessError, match="alice-only"):
        await layer.rate_step(Feedback(forId="alice-only", threadId="t-alice", value=0), "bob")

    assert await feedback_documents(layer) == before


async def test_a_user_cannot_delete_the_feedback_of_another_users_thread(
    layer: MongoDataLayer,
) -> None:
    await two_users_sharing_a_step_id(layer)
    rated = await layer.rate_step(Feedback(forId="alice-only", value=1), "alice")

    with pytest.raises(ThreadAccessError, match=str(rated.id)):
        await layer.unrate_step(str(rated.id), "bob")

    assert [d["_id"] for d in await feedback_documents(layer)] == [rated.id]
    assert await layer.unrate_step(str(rated.id), "alice") is True
    assert await feedback_documents(layer) == []
    assert await layer.unrate_step(str(rated.id), "alice") is False


async def test_inside_a_chainlit_session_the_sessions_user_is_the_one_rating(
    layer: MongoDataLayer,
) -> None:
    await two_users_sharing_a_step_id(layer)
    alices = await layer.upsert_feedback(Feedback(forId="alice-only", value=1))
    bobs_session = SimpleNamespace(session=SimpleNamespace(user=User(identifier="bob")))
    token = context_var.set(bobs_session)  # type: ignore[arg-type]
    try:
        with pytest.raises(ThreadAccessError):
            await layer.upsert_feedback(Feedback(forId="alice-only", value=0))
        with pytest.raises(ThreadAccessError):
            await layer.delete_feedback(alices)
        bobs = await layer.upsert_feedback(Feedback(forId="shared", value=0))
    finally:
        context_var.reset(token)

    assert {(d["threadId"], d["forId"]) for d in await feedback_documents(layer)} == {
        ("t-alice", "alice-only"),
        ("t-bob", "shared"),
    }
    assert bobs != alices


@pytest.mark.parametrize("named_thread", [None, "t1"])
async def test_a_step_in_the_overflow_is_rated_in_its_thread(
    layer_with: Callable[..., Awaitable[MongoDataLayer]], named_thread: str | None
) -> None:
    layer = await layer_with(thread_document_budget_bytes=64 * 1024)
    alice = await user(layer, "alice")
    await thread_of(layer, alice, "t1")
    for number in range(12):
        await layer.create_step(step(f"s{number}", "t1", output="x" * 8 * 1024))
    overflowed = {"step.id": {"$in": ["s10", "s11"]}}
    assert await layer.stores.overflow.collection.count_documents(overflowed) == 2

    rated = await layer.rate_step(Feedback(forId="s11", threadId=named_thread, value=1), "alice")

    assert rated.threadId == "t1"
    assert [(d["_id"], d["forId"]) for d in await feedback_documents(layer)] == [(rated.id, "s11")]
    with pytest.raises(ThreadAccessError):
        await layer.rate_step(Feedback(forId="s11", threadId=named_thread, value=0), "bob")
    # Stored deleted, as a delete called while a write of the step was in flight leaves it.
    await layer.stores.overflow.collection.update_one(
        {"threadId": "t1", "step.id": "s10"}, {"$set": {"step.removed": True}}
    )
    with pytest.raises(StepNotFoundError):
        await layer.rate_step(Feedback(forId="s10", threadId=named_thread, value=0), "alice")
    assert len(await feedback_documents(layer)) == 1


# Naming the step's thread: one command (test_round_trips.py), the same rules


async def test_a_comment_that_reads_like_an_expression_is_stored_as_written(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    feedback_id = await layer.upsert_feedback(
        Feedback(forId="s1", threadId="t1", value=1, comment="$value")
    )
    [stored] = await feedback_documents(layer)
    assert stored["comment"] == "$value"

    await layer.upsert_feedback(
        Feedback(id=feedback_id, forId="s1", threadId="t1", value=0, comment="$$ROOT")
    )

    [stored] = await feedback_documents(layer)
    assert (stored["_id"], stored["value"], stored["comment"]) == (feedback_id, 0, "$$ROOT")


@pytest.mark.parametrize("named_id", [None, "random-id-of-an-earlier-release", "stale-id"])
async def test_a_rating_stored_by_an_earlier_release_keeps_its_random_id(
    layer: MongoDataLayer, named_id: str | None
) -> None:
    await layer.create_step(step("s1"))
    rated_at = datetime(2025, 1, 1, tzinfo=UTC)
    await layer.stores.feedback.collection.insert_one(
        {
            "_id": "random-id-of-an-earlier-release",
            "threadId": "t1",
            "forId": "s1",
            "value": 1,
            "comment": None,
            "createdAt": rated_at,
            "updatedAt": rated_at,
        }
    )

    feedback_id = await layer.upsert_feedback(
        Feedback(id=named_id, forId="s1", threadId="t1", value=0, comment="changed")
    )

    assert feedback_id == "random-id-of-an-earlier-release"
    [stored] = await feedback_documents(layer)
    assert (stored["_id"], stored["value"], stored["comment"]) == (feedback_id, 0, "changed")


async def test_another_users_feedback_id_and_thread_named_change_nothing(
    layer: MongoDataLayer,
) -> None:
    await two_users_sharing_a_step_id(layer)
    alices = await layer.rate_step(
        Feedback(forId="alice-only", threadId="t-alice", value=1), "alice"
    )
    before = await feedback_documents(layer)

    with pytest.raises(ThreadAccessError, match="alice-only"):
        await layer.rate_step(
            Feedback(id=alices.id, forId="alice-only", threadId="t-alice", value=0), "bob"
        )

    assert await feedback_documents(layer) == before


async def test_a_rating_named_by_an_id_no_longer_stored_is_stored_under_the_id_returned(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    first = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))
    await layer.delete_feedback(first)

    again = await layer.upsert_feedback(Feedback(id=first, forId="s1", threadId="t1", value=0))

    assert [(d["_id"], d["value"]) for d in await feedback_documents(layer)] == [(again, 0)]


# One rating per step


async def test_the_database_refuses_a_second_feedback_document_for_a_step(
    layer: MongoDataLayer,
) -> None:
    await layer.create_step(step("s1"))
    await layer.upsert_feedback(Feedback(forId="s1", value=1))

    with pytest.raises(DuplicateKeyError):
        await layer.stores.feedback.collection.insert_one(
            {"_id": "x", "threadId": "t1", "forId": "s1"}
        )


async def test_two_first_ratings_racing_make_one_document_with_one_id(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer, "alice")
    await thread_of(layer, alice, "t1")
    step_ids = [f"s{number}" for number in range(10)]
    for step_id in step_ids:
        await layer.create_step(step(step_id))

    for step_id in step_ids:
        ratings = await asyncio.gather(
            layer.rate_step(Feedback(forId=step_id, value=1), "alice"),
            layer.rate_step(Feedback(forId=step_id, value=0), "alice"),
        )
        assert ratings[0].id == ratings[1].id
    assert await layer.stores.feedback.collection.count_documents({}) == len(step_ids)


async def test_duplicate_ratings_of_an_earlier_release_give_way_to_the_unique_index(
    layer: MongoDataLayer,
) -> None:
    """Before the unique index, a step could be rated twice; starting the layer keeps each
    step's latest rating and builds the index."""
    feedback = layer.stores.feedback.collection
    await feedback.drop_index("one_per_step")
    older, newer = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    await feedback.insert_many(
        [
            {"_id": "old", "threadId": "t1", "forId": "s1", "value": 0, "updatedAt": older},
            {"_id": "new", "threadId": "t1", "forId": "s1", "value": 1, "updatedAt": newer},
            {"_id": "other", "threadId": "t1", "forId": "s2", "value": 1, "updatedAt": older},
        ]
    )
    layer.stores._indexes_ready = False

    await layer.ensure_indexes()

    assert [d["_id"] for d in await feedback_documents(layer)] == ["new", "other"]
    with pytest.raises(DuplicateKeyError):
        await feedback.insert_one({"_id": "x", "threadId": "t1", "forId": "s1"})
