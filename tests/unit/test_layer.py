"""Building a MongoDataLayer (layer.py), without a server."""

import pytest

from mongo_layer import MongoDataLayer, MongoLayerError


def test_from_env_without_a_uri_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URI", raising=False)

    with pytest.raises(MongoLayerError, match="MONGODB_URI"):
        MongoDataLayer.from_env(mount_file_route=False)


async def test_from_env_uses_the_uri_database_and_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=10")
    monkeypatch.setenv("MONGODB_DATABASE", "app")
    monkeypatch.setenv("MONGO_LAYER_COLLECTION_PREFIX", "cl_")

    layer = MongoDataLayer.from_env(mount_file_route=False)

    assert layer.connection.database.name == "app"
    assert layer.threads.collection.name == "cl_threads"
    assert layer.connection.owns_client
    await layer.close()


async def test_build_debug_url_is_empty(mock_layer: MongoDataLayer) -> None:
    assert await mock_layer.build_debug_url() == ""
