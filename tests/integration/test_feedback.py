"""Feedback on the real server: one rating per step, carrying the step's thread id."""

import asyncio

from chainlit.types import Feedback

from mongo_layer import MongoDataLayer

from .factories import step, stored_thread


async def test_feedback_without_an_id_is_created_with_a_new_id(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))

    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    assert feedback_id
    stored = await layer.feedback.collection.find_one({"_id": feedback_id})
    assert (stored["forId"], stored["threadId"], stored["value"]) == ("s1", "t1", 1)


async def test_feedback_with_its_id_is_updated_in_place(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    again = await layer.upsert_feedback(
        Feedback(id=feedback_id, forId="s1", threadId="t1", value=0, comment="changed my mind")
    )

    assert again == feedback_id
    assert await layer.feedback.collection.count_documents({}) == 1
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
    assert await layer.feedback.collection.count_documents({"forId": "s1"}) == 1


async def test_the_thread_id_is_looked_up_from_the_step_when_absent(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", "t7"))

    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", value=1))

    stored = await layer.feedback.collection.find_one({"_id": feedback_id})
    assert stored["threadId"] == "t7"
    thread = await stored_thread(layer, "t7")
    assert thread["steps"][0]["feedback"] is not None
    assert thread["steps"][0]["feedback"]["id"] == feedback_id


async def test_delete_feedback_removes_it(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1"))
    feedback_id = await layer.upsert_feedback(Feedback(forId="s1", threadId="t1", value=1))

    assert await layer.delete_feedback(feedback_id) is True

    assert await layer.feedback.collection.count_documents({}) == 0
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
        assert await layer.feedback.collection.count_documents({"forId": step_id}) == 1
