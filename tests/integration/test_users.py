"""Users on the real server: a login upserts by identifier, get_user reads it back."""

import asyncio

from chainlit.user import User

from mongo_layer import MongoDataLayer


async def test_a_second_login_keeps_id_and_creation_time_and_updates_metadata(
    layer: MongoDataLayer,
) -> None:
    first = await layer.create_user(User(identifier="alice", metadata={"plan": "free", "x": 1}))
    second = await layer.create_user(User(identifier="alice", metadata={"plan": "pro"}))

    assert first is not None and second is not None
    assert second.id == first.id
    assert second.createdAt == first.createdAt
    assert second.metadata == {"plan": "pro"}
    stored = await layer.get_user("alice")
    assert stored is not None
    assert (stored.id, stored.createdAt, stored.metadata) == (
        first.id,
        first.createdAt,
        {"plan": "pro"},
    )


async def test_a_login_without_a_display_name_keeps_the_stored_one(layer: MongoDataLayer) -> None:
    await layer.create_user(User(identifier="alice", display_name="Alice A."))
    await layer.create_user(User(identifier="alice"))

    stored = await layer.get_user("alice")

    assert stored is not None
    assert stored.display_name == "Alice A."


async def test_get_user_of_an_unknown_identifier_is_none(layer: MongoDataLayer) -> None:
    await layer.create_user(User(identifier="alice"))

    assert await layer.get_user("bob") is None


async def test_simultaneous_first_logins_make_one_user(layer: MongoDataLayer) -> None:
    for identifier in ("carol", "dave", "erin", "frank", "grace"):
        logins = await asyncio.gather(
            *(layer.create_user(User(identifier=identifier)) for _ in range(5))
        )

        assert len({login.id for login in logins if login is not None}) == 1
        assert await layer.stores.users.collection.count_documents({"identifier": identifier}) == 1


async def test_user_metadata_keys_with_dots_and_dollars_round_trip(layer: MongoDataLayer) -> None:
    await layer.create_user(User(identifier="alice", metadata={"a.b": {"$c": "%2E"}}))

    stored = await layer.get_user("alice")

    assert stored is not None
    assert stored.metadata == {"a.b": {"$c": "%2E"}}
