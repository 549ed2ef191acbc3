"""The sidebar on the real server: list_threads filters, orders, searches and pages."""

import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter

from mongo_layer import InvalidInputError, MongoDataLayer

from .factories import ids, sidebar, step, thread_of, user


async def test_only_the_users_threads_are_listed_newest_first(layer: MongoDataLayer) -> None:
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")
    for thread_id in ("a1", "a2", "a3"):
        await thread_of(layer, alice, thread_id)
    await thread_of(layer, bob, "b1")
    for index, thread_id in enumerate(("a1", "a2", "a3")):
        await layer.threads.collection.update_one(
            {"_id": thread_id},
            [{"$set": {"createdAt": {"$toDate": 1_700_000_000_000 + index * 1000}}}],
        )

    page = await sidebar(layer, alice.id)

    assert ids(page) == ["a3", "a2", "a1"]
    assert {t["userIdentifier"] for t in page.data} == {"alice"}


async def test_paging_across_equal_creation_times_never_skips_or_repeats(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    thread_ids = [f"t{i}" for i in range(7)]
    for thread_id in thread_ids:
        await thread_of(layer, alice, thread_id)
    await layer.threads.collection.update_many(
        {}, [{"$set": {"createdAt": {"$toDate": 1_700_000_000_000}}}]
    )

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


async def test_a_cursor_the_layer_did_not_make_is_refused(layer: MongoDataLayer) -> None:
    alice = await user(layer)

    with pytest.raises(InvalidInputError):
        await sidebar(layer, alice.id, cursor="eyJpZCI6ICJ0MSJ9")


async def test_search_ignores_case_beyond_ascii(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1", name="Été à Zürich")

    assert ids(await sidebar(layer, alice.id, search="été à zÜrich")) == ["t1"]
