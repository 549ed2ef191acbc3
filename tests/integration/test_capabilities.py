"""The capability check (capabilities.py): what the layer reports about its server, and which
servers it refuses.

The suite's own server answers for itself. Servers that cannot run here (MongoDB 4.4, a
sharded cluster's mongos, Amazon DocumentDB, Azure Cosmos DB) are played by mockupdb: a real
socket answering `hello` and `buildInfo` with what those servers answer.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import MongoServer, close_client, make_client
from mockupdb import MockupDB

from mongo_layer import (
    IncompatibleServerError,
    InvalidUriError,
    MongoDataLayer,
    MongoLayerSettings,
    ServerUnreachableError,
)
from mongo_layer.embedded import free_port
from mongo_layer.storage.indexes import layer_indexes

MONGODB_44 = {"version": "4.4.29", "versionArray": [4, 4, 29, 0]}
MONGODB_70 = {"version": "7.0.14", "versionArray": [7, 0, 14, 0]}
PRIMARY = {"ismaster": True, "isWritablePrimary": True, "minWireVersion": 0, "maxWireVersion": 9}


def answer_no_indexes(request: Any) -> bool:
    """Answer any collection's `listIndexes` with an empty list (mockupdb matches a command
    by its name and collection, so the name alone is checked here)."""
    if request.command_name != "listIndexes":
        return False
    namespace = f"{request.namespace}.{request.doc['listIndexes']}"
    request.replies({"cursor": {"id": 0, "ns": namespace, "firstBatch": []}})
    return True


def answer_no_collections(request: Any) -> bool:
    if request.command_name != "listCollections":
        return False
    namespace = f"{request.namespace}.$cmd.listCollections"
    request.replies({"cursor": {"id": 0, "ns": namespace, "firstBatch": []}})
    return True


class FakeServer:
    """A mockupdb server answering `hello` and `buildInfo` as scripted, and listing no
    indexes and no collections; any other command is left unanswered (the client then
    times out)."""

    def __init__(self, hello: dict[str, Any], build_info: dict[str, Any]) -> None:
        self.server = MockupDB()
        answer = PRIMARY | hello
        self.server.autoresponds("ismaster", answer)
        self.server.autoresponds("hello", answer)
        self.server.autoresponds("buildInfo", build_info)
        self.server.autoresponds(answer_no_indexes)
        self.server.autoresponds(answer_no_collections)
        self.server.autoresponds("endSessions")
        self.server.run()
        self.uri = f"{self.server.uri}/?directConnection=true&socketTimeoutMS=5000"

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def fake_servers() -> Iterator[list[FakeServer]]:
    started: list[FakeServer] = []
    yield started
    for server in started:
        server.stop()


async def layer_on(fake_servers: list[FakeServer], driver: str, **answers: Any) -> MongoDataLayer:
    server = FakeServer(answers.get("hello", {}), answers["build_info"])
    fake_servers.append(server)
    return MongoDataLayer(uri=server.uri, driver=driver, mount_file_route=False)  # type: ignore[arg-type]


# The suite's server


async def test_the_report_names_the_server_its_version_and_topology(
    layer: MongoDataLayer, mongo_server: MongoServer
) -> None:
    report = await layer.check()

    assert report.usable, report.missing
    if mongo_server.started_here:
        assert report.server == "SecantusDB"
        assert report.topology == "replica set"
    assert report.version.split(".")[0].isdigit()
    assert report.hosts and all(":" in host for host in report.hosts)
    assert {c.name for c in report.capabilities} >= {
        "MongoDB 5.0 or later",
        "$unionWith",
        "$lookup with localField and pipeline",
        "update pipelines with $bsonSize",
    }


async def test_the_report_lists_every_index_of_the_layer_as_present_once_made(
    layer: MongoDataLayer,
) -> None:
    report = await layer.check()

    expected = {
        (collection, index.document["name"])
        for collection, indexes in layer_indexes(layer.settings).items()
        for index in indexes
    }
    assert {(i.collection, i.name) for i in report.indexes} == expected
    assert all(index.present for index in report.indexes)


async def test_the_report_shows_indexes_missing_before_the_first_operation(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    client = make_client(driver, mongo_server.uri)
    fresh = MongoDataLayer(client=client, database=database_name, mount_file_route=False)

    report = await fresh.check()

    assert report.indexes and not any(index.present for index in report.indexes)
    await close_client(client)


# Servers the layer refuses, and one it accepts


async def test_mongodb_4_4_is_refused_naming_version_and_what_is_missing(
    fake_servers: list[FakeServer], driver: str
) -> None:
    layer = await layer_on(fake_servers, driver, build_info=MONGODB_44)

    with pytest.raises(IncompatibleServerError) as refused:
        await layer.get_user("alice")

    message = str(refused.value)
    assert "MongoDB 4.4.29" in message
    assert "MongoDB 5.0 or later" in message
    assert "$lookup with localField and pipeline" in message
    assert "$unionWith" not in message
    await layer.close()


async def test_the_report_of_a_refused_server_says_what_is_missing_without_raising(
    fake_servers: list[FakeServer], driver: str
) -> None:
    layer = await layer_on(fake_servers, driver, build_info=MONGODB_44)

    report = await layer.check()

    assert not report.usable
    assert report.missing == ["MongoDB 5.0 or later", "$lookup with localField and pipeline"]
    assert report.topology == "standalone"
    await layer.close()


async def test_amazon_documentdb_is_refused_by_name(
    fake_servers: list[FakeServer], driver: str
) -> None:
    member = "docs.cluster-c1ab2cd3ef.eu-west-1.docdb.amazonaws.com:27017"
    hello = {"setName": "rs0", "hosts": [member], "me": member}
    layer = await layer_on(
        fake_servers,
        driver,
        hello=hello,
        build_info={"version": "5.0.0", "versionArray": [5, 0, 0, 0]},
    )

    with pytest.raises(IncompatibleServerError) as refused:
        await layer.ensure_indexes()

    message = str(refused.value)
    assert message.startswith("Amazon DocumentDB 5.0.0")
    for feature in ("$unionWith", "$lookup with localField and pipeline", "$bsonSize"):
        assert feature in message
    await layer.close()


async def test_azure_cosmos_db_ru_is_refused_by_name(
    fake_servers: list[FakeServer], driver: str
) -> None:
    member = "chat-history.mongo.cosmos.azure.com:10255"
    hello = {"setName": "globaldb", "hosts": [member], "me": member}
    layer = await layer_on(
        fake_servers,
        driver,
        hello=hello,
        build_info={"version": "6.0.0", "versionArray": [6, 0, 0]},
    )

    report = await layer.check()

    assert report.server == "Azure Cosmos DB (RU)"
    assert report.topology == "replica set"
    assert set(report.missing) == {
        "$unionWith",
        "$lookup with localField and pipeline",
        "update pipelines with $bsonSize",
    }
    with pytest.raises(IncompatibleServerError, match="Azure Cosmos DB"):
        await layer.ensure_indexes()
    await layer.close()


async def test_a_mongos_of_mongodb_7_is_a_usable_sharded_cluster(
    fake_servers: list[FakeServer], driver: str
) -> None:
    layer = await layer_on(fake_servers, driver, hello={"msg": "isdbgrid"}, build_info=MONGODB_70)

    report = await layer.check()

    assert (report.server, report.version, report.topology) == ("MongoDB", "7.0.14", "sharded")
    assert report.usable
    await layer.close()


# A server that does not answer


async def test_an_unreachable_server_fails_fast_naming_the_host(driver: str) -> None:
    port = free_port()
    settings = MongoLayerSettings(server_selection_timeout_ms=300)
    layer = MongoDataLayer(
        uri=f"mongodb://127.0.0.1:{port}",
        settings=settings,
        driver=driver,  # type: ignore[arg-type]
        mount_file_route=False,
    )

    with pytest.raises(ServerUnreachableError, match=f"127.0.0.1:{port}"):
        await layer.get_thread("t1")
    with pytest.raises(ServerUnreachableError, match=f"127.0.0.1:{port}"):
        await layer.check()
    await layer.close()


async def test_an_unresolvable_srv_host_fails_naming_it_not_a_refusal(driver: str) -> None:
    # The async drivers look the host up on first use: nothing was contacted.
    layer = MongoDataLayer(
        uri="mongodb+srv://alice:s3cret@no-such-cluster.invalid/app",
        settings=MongoLayerSettings(server_selection_timeout_ms=300),
        driver=driver,  # type: ignore[arg-type]
        mount_file_route=False,
    )

    with pytest.raises(ServerUnreachableError) as refused:
        await layer.check()
    with pytest.raises(ServerUnreachableError, match=r"no-such-cluster\.invalid"):
        await layer.get_thread("t1")
    await layer.close()
    assert str(refused.value).startswith(
        "cannot find MongoDB at mongodb+srv://no-such-cluster.invalid: the DNS lookup"
    )
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("mongodb://127.0.0.1:99999", "Port must be an integer between 0 and 65535"),
        ("mongodb://127.0.0.1:abc", "Port contains non-digit characters"),
        ("mongodb://alice:s3cret@pw@127.0.0.1/", "must be escaped according to RFC 3986"),
        ("http://127.0.0.1:27017", "Invalid URI scheme"),
    ],
)
def test_a_uri_the_driver_cannot_parse_is_refused_when_the_layer_is_made(
    driver: str, uri: str, reason: str
) -> None:
    with pytest.raises(InvalidUriError) as refused:
        MongoDataLayer(uri=uri, driver=driver, mount_file_route=False)  # type: ignore[arg-type]

    assert str(refused.value).startswith("not a usable MongoDB URI: ")
    assert reason in str(refused.value)
    assert "s3cret" not in str(refused.value)
