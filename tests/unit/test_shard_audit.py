"""The shard-key audit itself (tests/shard_audit.py): it flags what a sharded cluster
refuses and lets targeted writes pass, so a green suite means something."""

from pathlib import Path

import pytest
from shard_audit import ShardKeyAudit

from mongo_layer import MongoLayerSettings
from mongo_layer.sharding import shard_commands, shard_keys


@pytest.fixture
def audit() -> ShardKeyAudit:
    return ShardKeyAudit(shard_keys(MongoLayerSettings()))


def test_a_single_document_write_without_the_shard_key_is_flagged(audit: ShardKeyAudit) -> None:
    audit.inspect("findAndModify", {"findAndModify": "threads", "query": {"steps.id": "s1"}})
    audit.inspect("delete", {"delete": "feedback", "deletes": [{"q": {"_id": "f1"}, "limit": 1}]})
    audit.inspect("update", {"update": "thread_steps", "updates": [{"q": {"_id": "1:t:s"}}]})

    assert len(audit.violations) == 3, audit.violations
    assert "'steps.id'" in audit.violations[0] and "['_id']" in audit.violations[0]


def test_targeted_and_multi_document_writes_pass(audit: ShardKeyAudit) -> None:
    audit.inspect("findAndModify", {"findAndModify": "threads", "query": {"_id": "t1"}})
    audit.inspect(
        "update",
        {"update": "thread_steps", "updates": [{"q": {"threadId": {"$eq": "t1"}, "_id": "x"}}]},
    )
    audit.inspect("update", {"update": "threads", "updates": [{"q": {}, "multi": True}]})
    audit.inspect("delete", {"delete": "feedback", "deletes": [{"q": {"forId": "s"}, "limit": 0}]})

    assert audit.violations == []


def test_a_range_is_not_equality(audit: ShardKeyAudit) -> None:
    audit.inspect("findAndModify", {"findAndModify": "users", "query": {"identifier": {"$gt": ""}}})

    assert len(audit.violations) == 1


def test_a_unique_index_must_start_with_the_shard_key(audit: ShardKeyAudit) -> None:
    unique = {"name": "element_id", "key": {"elements.id": 1}, "unique": True}
    prefixed = {"name": "one_per_step", "key": {"threadId": 1, "forId": 1}, "unique": True}
    audit.inspect("createIndexes", {"createIndexes": "threads", "indexes": [unique]})
    audit.inspect("createIndexes", {"createIndexes": "feedback", "indexes": [prefixed]})

    assert len(audit.violations) == 1 and "element_id" in audit.violations[0]


def test_a_merge_must_match_on_the_shard_key_of_its_target(audit: ShardKeyAudit) -> None:
    on_step = {"$merge": {"into": "feedback", "on": ["forId"], "whenMatched": "fail"}}
    on_key = {"$merge": {"into": "feedback", "on": ["threadId", "forId"]}}
    audit.inspect("aggregate", {"aggregate": "threads", "pipeline": [{"$match": {}}, on_step]})
    audit.inspect("aggregate", {"aggregate": "threads", "pipeline": [on_key]})

    assert len(audit.violations) == 1 and "['forId']" in audit.violations[0]


def test_prefixed_collections_are_recognised(audit: ShardKeyAudit) -> None:
    audit.inspect("findAndModify", {"findAndModify": "cl_threads", "query": {"steps.id": "s"}})

    assert len(audit.violations) == 1


def test_the_readme_gives_the_shard_commands_of_the_default_settings() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()

    for command in shard_commands(MongoLayerSettings()):
        assert command in readme
