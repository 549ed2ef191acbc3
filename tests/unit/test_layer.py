"""Building a MongoDataLayer (layer.py), without a server."""

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient

from mongo_layer import MongoDataLayer, MongoLayerError, MongoLayerSettings


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
    assert layer.stores.threads.collection.name == "cl_threads"
    assert layer.connection.owns_client
    await layer.close()


async def test_a_layer_from_a_uri_uses_pymongos_async_client_by_default() -> None:
    layer = MongoDataLayer.from_uri("mongodb://127.0.0.1:1", mount_file_route=False)

    assert isinstance(layer.connection.client, AsyncMongoClient)
    await layer.close()


async def test_a_layer_from_a_uri_uses_motor_when_asked() -> None:
    layer = MongoDataLayer.from_uri("mongodb://127.0.0.1:1", driver="motor", mount_file_route=False)

    assert isinstance(layer.connection.client, AsyncIOMotorClient)
    await layer.close()


@pytest.mark.parametrize("driver", ["pymongo", "motor"])
async def test_a_layer_waits_for_a_server_as_long_as_its_setting_says(driver: str) -> None:
    default = MongoDataLayer(uri="mongodb://127.0.0.1:1", driver=driver, mount_file_route=False)  # type: ignore[arg-type]
    patient = MongoDataLayer(
        uri="mongodb://127.0.0.1:1",
        settings=MongoLayerSettings(server_selection_timeout_ms=12_000),
        driver=driver,  # type: ignore[arg-type]
        mount_file_route=False,
    )

    assert default.connection.client.options.server_selection_timeout == 5.0
    assert patient.connection.client.options.server_selection_timeout == 12.0
    await default.close()
    await patient.close()


async def test_a_server_selection_timeout_in_the_uri_wins_over_the_setting() -> None:
    layer = MongoDataLayer(
        uri="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300", mount_file_route=False
    )

    assert layer.connection.client.options.server_selection_timeout == 0.3
    await layer.close()


async def test_build_debug_url_is_empty(mock_layer: MongoDataLayer) -> None:
    assert await mock_layer.build_debug_url() == ""
