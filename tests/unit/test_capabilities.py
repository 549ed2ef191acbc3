"""Telling servers apart (capabilities.py) from their hello/buildInfo answers alone."""

import pytest

from mongo_layer.storage.capabilities import capabilities_of, server_kind, topology_of, version_of

MONGODB_BUILD = {"version": "7.0.14", "versionArray": [7, 0, 14, 0]}


@pytest.mark.parametrize(
    ("hosts", "hello", "build_info", "kind"),
    [
        (["db.internal:27017"], {}, MONGODB_BUILD, "MongoDB"),
        (["127.0.0.1:1"], {}, {"version": "7.0.77", "ferretdbVersion": "v2.5.0"}, "FerretDB"),
        (["127.0.0.1:1"], {}, {"version": "8.2.11", "secantusVersion": "0.7.0b3"}, "SecantusDB"),
        (
            ["127.0.0.1:10260"],
            {"internal": {"documentdb_versions": ["0.109-0", "0.109.0"]}},
            {"version": "7.0.0"},
            "DocumentDB",
        ),
        (["c1.mongocluster.cosmos.azure.com:10260"], {}, MONGODB_BUILD, "Azure Cosmos DB (vCore)"),
        (["acct.mongo.cosmos.azure.com:10255"], {}, MONGODB_BUILD, "Azure Cosmos DB (RU)"),
        (
            ["127.0.0.1:27017"],
            {"hosts": ["docs.cluster-x.eu-west-1.docdb.amazonaws.com:27017"]},
            {"version": "5.0.0"},
            "Amazon DocumentDB",
        ),
    ],
)
def test_the_kind_of_server_is_told_from_what_it_answers(
    hosts: list[str], hello: dict[str, object], build_info: dict[str, object], kind: str
) -> None:
    assert server_kind(hosts, hello, build_info) == kind


def test_the_topology_is_told_from_hello() -> None:
    assert topology_of({"msg": "isdbgrid"}) == "sharded"
    assert topology_of({"setName": "rs0"}) == "replica set"
    assert topology_of({}) == "standalone"


def test_a_version_without_an_array_is_read_from_its_string() -> None:
    assert version_of({"version": "6.0.3-ent"}) == (6, 0, 3)
    assert version_of({"versionArray": [5, 0, 1, 0]}) == (5, 0, 1)


def test_amazon_documentdb_8_still_lacks_lookup_with_local_field_and_pipeline() -> None:
    capabilities = capabilities_of("Amazon DocumentDB", (8, 0, 0))

    missing = [c.name for c in capabilities if not c.available]
    assert missing == ["$lookup with localField and pipeline"]
