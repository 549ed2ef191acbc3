"""Threads on the real server: update_thread, get_thread, get_thread_author, delete_thread."""

from chainlit.types import Feedback

from mongo_layer import MongoDataLayer

from .factories import (
    file_element,
    files_of_thread,
    ids,
    sidebar,
    step,
    stored_thread,
    thread_of,
    user,
)


async def test_name_tags_and_user_are_stored(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await layer.update_thread("t1", name="chat", user_id=alice.id, tags=["a", "b"])

    thread = await stored_thread(layer, "t1")

    assert (thread["name"], thread["userId"], thread["tags"]) == ("chat", alice.id, ["a", "b"])
    assert thread["createdAt"].endswith("Z")


async def test_update_thread_does_not_wipe_fields_it_was_not_given(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await layer.update_thread("t1", name="chat", user_id=alice.id, tags=["a"], metadata={"k": 1})
    await layer.create_step(step("s1", output="hello"))

    await layer.update_thread("t1", name="renamed")
    await layer.update_thread("t1", tags=["b"])

    thread = await stored_thread(layer, "t1")
    assert (thread["name"], thread["userId"], thread["tags"]) == ("renamed", alice.id, ["b"])
    assert thread["metadata"] == {"k": 1}
    assert [s["output"] for s in thread["steps"]] == ["hello"]


async def test_metadata_is_merged_and_a_key_set_to_none_is_removed(layer: MongoDataLayer) -> None:
    await layer.update_thread("t1", name="chat")
    await layer.update_thread("t1", metadata={"keep": 1, "drop": 2, "nested": {"a": 1}})
    await layer.update_thread("t1", metadata={"drop": None, "nested": {"b": 2}, "new": "x"})

    thread = await stored_thread(layer, "t1")

    assert thread["metadata"] == {"keep": 1, "nested": {"b": 2}, "new": "x"}


async def test_a_metadata_only_update_does_not_move_the_thread_in_the_sidebar(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "older", name="older")
    await thread_of(layer, alice, "newer", name="newer")
    before = ids(await sidebar(layer, alice.id))

    await layer.update_thread("older", metadata={"is_shared": True})

    assert ids(await sidebar(layer, alice.id)) == before == ["newer", "older"]


async def test_get_thread_names_the_authors_identifier(layer: MongoDataLayer) -> None:
    alice = await user(layer, "alice@example.com")
    await thread_of(layer, alice, "t1")

    thread = await stored_thread(layer, "t1")

    assert thread["userIdentifier"] == "alice@example.com"


async def test_get_thread_returns_steps_by_creation_time_ties_in_arrival_order(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")
    await layer.create_step(step("late", createdAt="2024-05-01T10:00:02.000Z"))
    await layer.create_step(step("tie-first", createdAt="2024-05-01T10:00:01.000Z"))
    await layer.create_step(step("early", createdAt="2024-05-01T10:00:00.000Z"))
    await layer.create_step(step("tie-second", createdAt="2024-05-01T10:00:01.000Z"))

    thread = await stored_thread(layer, "t1")

    assert [s["id"] for s in thread["steps"]] == ["early", "tie-first", "tie-second", "late"]
    assert all(s["threadId"] == "t1" for s in thread["steps"])


async def test_get_thread_gives_each_step_its_own_feedback(layer: MongoDataLayer) -> None:
    await layer.create_step(step("s1", output="one"))
    await layer.create_step(step("s2", output="two"))
    feedback_id = await layer.upsert_feedback(
        Feedback(forId="s2", threadId="t1", value=0, comment="wrong")
    )

    thread = await stored_thread(layer, "t1")

    by_id = {s["id"]: s for s in thread["steps"]}
    assert "feedback" not in by_id["s1"] or by_id["s1"]["feedback"] is None
    assert by_id["s2"]["feedback"] == {
        "id": feedback_id,
        "forId": "s2",
        "value": 0,
        "comment": "wrong",
    }


async def test_get_thread_returns_the_elements(layer: MongoDataLayer) -> None:
    await layer.update_thread("t1", name="chat")
    element = file_element("t1", for_id="s1")
    await layer.create_element(element)

    thread = await stored_thread(layer, "t1")

    assert thread["elements"] is not None
    assert [(e["id"], e["name"], e["forId"], e["threadId"]) for e in thread["elements"]] == [
        (element.id, "a.txt", "s1", "t1")
    ]
    assert thread["elements"][0]["url"]


async def test_get_thread_of_an_unknown_id_is_none(layer: MongoDataLayer) -> None:
    await layer.update_thread("t1", name="chat")

    assert await layer.get_thread("unknown") is None


async def test_get_thread_author_is_the_users_identifier(layer: MongoDataLayer) -> None:
    alice = await user(layer, "alice@example.com")
    await thread_of(layer, alice, "t1")

    assert await layer.get_thread_author("t1") == "alice@example.com"


async def test_get_thread_author_of_an_unknown_thread_is_falsy(layer: MongoDataLayer) -> None:
    assert not await layer.get_thread_author("unknown")


async def test_get_thread_author_of_a_thread_without_user_is_falsy(layer: MongoDataLayer) -> None:
    await layer.update_thread("t1", name="anonymous")

    assert not await layer.get_thread_author("t1")


async def test_get_thread_author_of_a_dict_id_is_falsy(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")

    assert not await layer.get_thread_author({"$ne": None})  # type: ignore[arg-type]


async def test_delete_thread_removes_its_steps_elements_feedback_and_files(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    for thread_id in ("doomed", "kept"):
        await thread_of(layer, alice, thread_id, name=thread_id)
        await layer.create_step(step("s-" + thread_id, thread_id, output="hi"))
        await layer.upsert_feedback(Feedback(forId="s-" + thread_id, threadId=thread_id, value=1))
        await layer.create_element(file_element(thread_id, for_id="s-" + thread_id))

    await layer.delete_thread("doomed")

    assert await layer.get_thread("doomed") is None
    assert await layer.stores.threads.collection.count_documents({"steps.id": "s-doomed"}) == 0
    assert await layer.stores.feedback.collection.count_documents({"threadId": "doomed"}) == 0
    assert await files_of_thread(layer, "doomed") == []
    assert await layer.stores.files.chunks.count_documents({}) == 1
    kept = await stored_thread(layer, "kept")
    assert [s["id"] for s in kept["steps"]] == ["s-kept"]
    assert kept["steps"][0]["feedback"] is not None
    assert kept["steps"][0]["feedback"]["value"] == 1
    assert kept["elements"] is not None
    assert len(kept["elements"]) == 1
    assert len(await files_of_thread(layer, "kept")) == 1


async def test_delete_thread_also_removes_files_whose_element_never_landed(
    layer: MongoDataLayer,
) -> None:
    await layer.update_thread("t1", name="chat")
    await layer.stores.files.upload(b"orphan", "o.txt", {"threadId": "t1", "elementId": "e9"})

    await layer.delete_thread("t1")

    assert await files_of_thread(layer, "t1") == []


async def test_two_users_never_see_each_others_threads(layer: MongoDataLayer) -> None:
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")
    await thread_of(layer, alice, "alice-1", name="shared word")
    await thread_of(layer, bob, "bob-1", name="shared word")

    assert ids(await sidebar(layer, alice.id)) == ["alice-1"]
    assert ids(await sidebar(layer, bob.id)) == ["bob-1"]
    assert ids(await sidebar(layer, alice.id, search="shared")) == ["alice-1"]
    assert await layer.get_thread_author("bob-1") == "bob"
    assert await layer.get_favorite_steps(alice.id) == []


async def test_a_metadata_only_update_of_an_unknown_thread_creates_nothing(
    layer: MongoDataLayer,
) -> None:
    # Chainlit persists the session's metadata on every disconnect, also right after the
    # user deleted the thread: that write must not bring an empty thread back.
    await layer.update_thread("t1", name="chat")
    await layer.delete_thread("t1")

    await layer.update_thread("t1", metadata={"chat_settings": {}, "env": "{}"})

    assert await layer.get_thread("t1") is None
    assert await layer.stores.threads.collection.count_documents({}) == 0


async def test_metadata_keys_with_dots_and_dollars_round_trip(layer: MongoDataLayer) -> None:
    metadata = {"a.b": 1, "$op": {"c.d": ["$x"], "%2E": True}}
    await layer.update_thread("t1", name="chat")
    await layer.update_thread("t1", metadata=metadata)

    thread = await stored_thread(layer, "t1")

    assert thread["metadata"] == metadata


async def test_a_thread_created_by_its_first_step_gets_its_owner_later(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    await layer.create_step(step("s1", "early", output="hello"))

    await layer.update_thread("early", name="hello", user_id=alice.id)

    thread = await stored_thread(layer, "early")
    assert (thread["name"], thread["userIdentifier"]) == ("hello", "alice")
    assert [s["output"] for s in thread["steps"]] == ["hello"]
    assert ids(await sidebar(layer, alice.id)) == ["early"]
