"""The sidebar on the real server: list_threads filters, orders, searches and pages."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter

from mongo_layer import MongoDataLayer
from mongo_layer.times import to_epoch_ms, utc_now

from .factories import ids, sidebar, step, thread_documents, thread_of, user


async def active_at(layer: MongoDataLayer, epoch_ms: int, *thread_ids: str) -> None:
    """Give these threads a last activity time in the past (or the future), as stored."""
    await layer.stores.threads.collection.update_many(
        {"_id": {"$in": list(thread_ids)}}, [{"$set": {"updatedAt": {"$toDate": epoch_ms}}}]
    )


async def test_only_the_users_threads_are_listed_last_active_first(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")
    for thread_id in ("a1", "a2", "a3"):
        await thread_of(layer, alice, thread_id)
    await thread_of(layer, bob, "b1")
    for index, thread_id in enumerate(("a2", "a1", "a3")):
        await active_at(layer, 1_700_000_000_000 + index * 1000, thread_id)

    page = await sidebar(layer, alice.id)

    assert ids(page) == ["a3", "a1", "a2"]
    assert {t["userIdentifier"] for t in page.data} == {"alice"}


async def test_listed_threads_show_their_last_activity_as_created_at(
    layer: MongoDataLayer,
) -> None:
    """Chainlit's sidebar sorts and groups by `createdAt`; opening the thread still gives
    the time it was created."""
    alice = await user(layer)
    await thread_of(layer, alice, "t1")
    await active_at(layer, 1_700_000_000_000, "t1")

    [listed] = (await sidebar(layer, alice.id)).data

    assert listed["createdAt"] == "2023-11-14T22:13:20.000Z"
    opened = await layer.get_thread("t1")
    assert opened is not None and opened["createdAt"] != listed["createdAt"]


@pytest.mark.parametrize("write", ["create_step", "update_step"])
async def test_a_step_write_moves_its_thread_to_the_top(layer: MongoDataLayer, write: str) -> None:
    alice = await user(layer)
    for index, thread_id in enumerate(("old", "middle", "new")):
        await thread_of(layer, alice, thread_id)
        await active_at(layer, 1_700_000_000_000 + index * 1000, thread_id)

    await getattr(layer, write)(step("s1", "old", output="back to this one"))

    assert ids(await sidebar(layer, alice.id)) == ["old", "new", "middle"]


async def test_a_metadata_only_update_never_moves_a_thread(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    for index, thread_id in enumerate(("old", "new")):
        await thread_of(layer, alice, thread_id)
        await active_at(layer, 1_700_000_000_000 + index * 1000, thread_id)

    await layer.update_thread("old", metadata={"chat_profile": "x", "env": None})

    assert ids(await sidebar(layer, alice.id)) == ["new", "old"]


async def test_renaming_a_thread_moves_it_to_the_top(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    for index, thread_id in enumerate(("old", "new")):
        await thread_of(layer, alice, thread_id)
        await active_at(layer, 1_700_000_000_000 + index * 1000, thread_id)

    await layer.update_thread("old", name="renamed")

    assert ids(await sidebar(layer, alice.id)) == ["old", "new"]


async def test_a_step_write_never_moves_the_last_activity_back(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")
    later = 4_102_444_800_000  # 2100-01-01, later than this write is called
    await active_at(layer, later, "t1")

    await layer.update_step(step("s1", "t1", output="late landing"))

    (stored,) = await thread_documents(layer)
    assert to_epoch_ms(stored["updatedAt"]) == later


async def test_a_thread_a_step_write_creates_starts_with_that_activity(
    layer: MongoDataLayer,
) -> None:
    before = utc_now().replace(tzinfo=None)

    await layer.create_step(step("s1", "by-step", output="first"))

    (stored,) = await thread_documents(layer)
    assert stored["updatedAt"] >= before


async def test_a_thread_written_to_during_a_page_walk_is_never_listed_twice(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    thread_ids = [f"t{i}" for i in range(6)]
    for index, thread_id in enumerate(thread_ids):
        await thread_of(layer, alice, thread_id)
        await active_at(layer, 1_700_000_000_000 + index * 1000, thread_id)

    first = await sidebar(layer, alice.id, first=3)
    await layer.create_step(step("s1", ids(first)[-1], output="activity mid-walk"))
    second = await sidebar(layer, alice.id, first=3, cursor=first.pageInfo.endCursor)

    assert ids(first) == ["t5", "t4", "t3"]
    assert ids(second) == ["t2", "t1", "t0"]
    assert ids(await sidebar(layer, alice.id, first=1)) == ["t3"]


async def test_paging_across_equal_activity_times_never_skips_or_repeats(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    thread_ids = [f"t{i}" for i in range(7)]
    for thread_id in thread_ids:
        await thread_of(layer, alice, thread_id)
    await active_at(layer, 1_700_000_000_000, *thread_ids)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await sidebar(layer, alice.id, first=3, cursor=cursor)
        seen += ids(page)
        pages += 1
        if not page.pageInfo.hasNextPage:
            break
        cursor = page.pageInfo.endCursor
        assert pages < 10, "paging does not end"

    assert sorted(seen) == sorted(thread_ids)
    assert len(seen) == len(set(seen))
    assert pages == 3


async def test_a_full_last_page_says_no_page_follows(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    for thread_id in ("t1", "t2"):
        await thread_of(layer, alice, thread_id)

    page = await sidebar(layer, alice.id, first=2)

    assert len(page.data) == 2
    assert page.pageInfo.hasNextPage is False


async def test_search_matches_the_name_case_insensitively(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "match", name="Holiday PLANS")
    await thread_of(layer, alice, "other", name="taxes")

    assert ids(await sidebar(layer, alice.id, search="holiday plans")) == ["match"]


async def test_search_matches_the_text_of_messages(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "by-output", name="one")
    await layer.create_step(step("s1", "by-output", output="The answer is PINEAPPLE."))
    await thread_of(layer, alice, "by-input", name="two")
    await layer.create_step(step("s2", "by-input", input="do you like pineapple?"))
    await thread_of(layer, alice, "neither", name="three")
    await layer.create_step(step("s3", "neither", output="apples"))

    found = ids(await sidebar(layer, alice.id, search="Pineapple"))

    assert sorted(found) == ["by-input", "by-output"]


async def test_search_takes_regex_characters_literally(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "literal", name="about a.b(c]* here")
    await thread_of(layer, alice, "lookalike", name="about axb(c]]] here")
    await thread_of(layer, alice, "partial", name="about a.b")

    assert ids(await sidebar(layer, alice.id, search="a.b(c]*")) == ["literal"]
    assert ids(await sidebar(layer, alice.id, search=".*")) == []


@pytest.mark.parametrize("value", [0, 1])
async def test_the_feedback_filter_lists_threads_with_that_rating(
    layer: MongoDataLayer, value: int
) -> None:
    alice = await user(layer)
    for thread_id, rating in (("liked", 1), ("disliked", 0), ("unrated", None)):
        await thread_of(layer, alice, thread_id)
        await layer.create_step(step("s-" + thread_id, thread_id))
        if rating is not None:
            await layer.upsert_feedback(Feedback(forId="s-" + thread_id, value=rating))  # type: ignore[arg-type]

    found = ids(await sidebar(layer, alice.id, feedback=value))

    assert found == (["liked"] if value == 1 else ["disliked"])


async def test_listed_threads_carry_no_steps_or_elements(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1", name="chat")
    await layer.create_step(step("s1", output="hello"))

    (thread,) = (await sidebar(layer, alice.id)).data

    assert thread["steps"] == []
    assert thread["elements"] == []
    assert thread["name"] == "chat"


async def test_without_a_user_nothing_is_listed(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")

    page = await layer.list_threads(Pagination(first=10), ThreadFilter())

    assert page.data == []


async def test_a_cursor_the_layer_did_not_make_lists_nothing(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")

    page = await sidebar(layer, alice.id, cursor="eyJpZCI6ICJ0MSJ9")

    assert (page.data, page.pageInfo.hasNextPage) == ([], False)


async def test_search_ignores_case_beyond_ascii(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1", name="Été à Zürich")

    assert ids(await sidebar(layer, alice.id, search="été à zÜrich")) == ["t1"]


async def test_indexes_give_older_threads_their_last_activity_and_drop_the_old_sidebar_index(
    layer_with: Callable[..., Awaitable[MongoDataLayer]],
) -> None:
    layer = await layer_with()
    collection = layer.stores.threads.collection
    await collection.create_index([("userId", 1), ("createdAt", -1), ("_id", -1)], name="sidebar")
    created = datetime(2024, 5, 1, tzinfo=UTC)
    await collection.insert_many(
        [
            {"_id": "no-steps", "userId": "u1", "createdAt": created, "steps": []},
            {
                "_id": "with-steps",
                "userId": "u1",
                "createdAt": created,
                "steps": [
                    {"id": "s1", "createdAt": created + timedelta(days=3)},
                    {"id": "s2", "createdAt": created + timedelta(days=1)},
                    {"id": "s3"},
                ],
            },
        ]
    )

    for _ in range(2):
        await (await layer_with()).ensure_indexes()

    stored = {d["_id"]: d["updatedAt"] for d in await thread_documents(layer)}
    assert stored == {
        "no-steps": created.replace(tzinfo=None),
        "with-steps": (created + timedelta(days=3)).replace(tzinfo=None),
    }
    indexes = await collection.index_information()
    assert "sidebar" not in indexes
    assert indexes["sidebar_by_activity"]["key"] == [("userId", 1), ("updatedAt", -1), ("_id", -1)]
