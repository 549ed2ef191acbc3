"""The users store on mongomock: a login upserts by identifier (users.py)."""

from chainlit.user import User

from mongo_layer import MongoDataLayer


async def test_a_first_login_creates_the_user(mock_layer: MongoDataLayer) -> None:
    created = await mock_layer.create_user(
        User(identifier="alice", display_name="Alice", metadata={"role": "admin"})
    )

    assert created is not None
    assert created.identifier == "alice"
    assert created.display_name == "Alice"
    assert created.metadata == {"role": "admin"}
    assert created.id
    assert created.createdAt.endswith("Z")


async def test_a_second_login_keeps_id_and_creation_time_and_updates_metadata(
    mock_layer: MongoDataLayer,
) -> None:
    first = await mock_layer.create_user(User(identifier="alice", metadata={"plan": "free"}))
    second = await mock_layer.create_user(User(identifier="alice", metadata={"plan": "pro"}))

    assert first is not None and second is not None
    assert second.id == first.id
    assert second.createdAt == first.createdAt
    assert second.metadata == {"plan": "pro"}


async def test_get_user_returns_the_stored_user(mock_layer: MongoDataLayer) -> None:
    created = await mock_layer.create_user(User(identifier="bob", metadata={"a.b": {"$c": 1}}))

    found = await mock_layer.get_user("bob")

    assert found is not None and created is not None
    assert (found.id, found.identifier, found.createdAt) == (
        created.id,
        "bob",
        created.createdAt,
    )
    assert found.metadata == {"a.b": {"$c": 1}}


async def test_get_user_of_an_unknown_identifier_is_none(mock_layer: MongoDataLayer) -> None:
    assert await mock_layer.get_user("nobody") is None
