"""Favorite steps on the real server: set_step_favorite and get_favorite_steps."""

from mongo_layer import MongoDataLayer

from .factories import step, thread_of, user


async def test_favorite_steps_are_listed_newest_first_with_their_thread(
    layer: MongoDataLayer,
) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")
    await thread_of(layer, alice, "t2")
    older = step("older", "t1", output="old", createdAt="2024-05-01T10:00:00.000Z")
    newer = step("newer", "t2", output="new", createdAt="2024-05-02T10:00:00.000Z")
    plain = step("plain", "t1", output="not a favorite", createdAt="2024-05-03T10:00:00.000Z")
    for written in (older, newer, plain):
        await layer.create_step(written)

    await layer.set_step_favorite(older, True)
    await layer.set_step_favorite(newer, True)

    favorites = await layer.get_favorite_steps(alice.id)
    assert [(s["id"], s["threadId"], s["output"]) for s in favorites] == [
        ("newer", "t2", "new"),
        ("older", "t1", "old"),
    ]
    assert all(s["metadata"]["favorite"] is True for s in favorites)


async def test_a_step_no_longer_favorite_is_not_listed(layer: MongoDataLayer) -> None:
    alice = await user(layer)
    await thread_of(layer, alice, "t1")
    written = step("s1", output="hi", metadata={"other": 1})
    await layer.create_step(written)
    await layer.set_step_favorite(written, True)

    await layer.set_step_favorite(written, False)

    assert await layer.get_favorite_steps(alice.id) == []


async def test_another_users_favorites_are_not_returned(layer: MongoDataLayer) -> None:
    alice = await user(layer, "alice")
    bob = await user(layer, "bob")
    await thread_of(layer, alice, "alice-thread")
    await thread_of(layer, bob, "bob-thread")
    await layer.set_step_favorite(step("alice-step", "alice-thread", output="a"), True)
    await layer.set_step_favorite(step("bob-step", "bob-thread", output="b"), True)

    assert [s["id"] for s in await layer.get_favorite_steps(alice.id)] == ["alice-step"]
    assert [s["id"] for s in await layer.get_favorite_steps(bob.id)] == ["bob-step"]
