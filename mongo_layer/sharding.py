"""The shard key of each collection the layer writes, for a sharded cluster.

Every single-document write of the layer names its collection's shard key by equality, and
every unique index starts with it, so a cluster sharded this way takes every write to one
shard. The README gives the `sh.shardCollection` commands; the test suite checks every
command the layer sends against these keys.
"""

from typing import Any

from .settings import MongoLayerSettings

ShardKey = dict[str, Any]


def shard_keys(settings: MongoLayerSettings) -> dict[str, ShardKey]:
    """Collection name -> shard key (field -> 1 or "hashed"), in key order."""
    bucket = settings.files_bucket_name
    return {
        settings.threads_name: {"_id": "hashed"},
        settings.overflow_name: {"threadId": "hashed"},
        settings.feedback_name: {"threadId": "hashed"},
        settings.users_name: {"identifier": 1},
        settings.element_owners_name: {"_id": "hashed"},
        settings.leases_name: {"_id": "hashed"},
        f"{bucket}.chunks": {"files_id": 1, "n": 1},
        f"{bucket}.files": {"_id": 1},
    }


def shard_commands(settings: MongoLayerSettings) -> list[str]:
    """The mongosh commands that shard the layer's collections as `shard_keys` says."""
    return [
        f'sh.shardCollection("{settings.database}.{collection}", {_shell(key)})'
        for collection, key in shard_keys(settings).items()
    ]


def _shell(key: ShardKey) -> str:
    fields = ", ".join(f"{field}: {value!r}".replace("'", '"') for field, value in key.items())
    return "{" + fields + "}"
