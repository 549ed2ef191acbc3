"""The command audit: what a sharded cluster would refuse, checked on every command.

A sharded cluster cannot run here, so the suite records every command its clients send (a
PyMongo CommandListener, registered for every client of either driver) and holds each one
against the shard keys of mongo_layer.sharding: a single-document write (an update or upsert
without `multi`, a findAndModify, a delete with limit 1) must name its collection's shard key
by equality, a `$merge` must match on fields including it, and a unique index must start
with it.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pymongo import monitoring

from mongo_layer.sharding import ShardKey


def equality_fields(query: Mapping[str, Any]) -> set[str]:
    """The fields a query pins to one value (`{f: v}` or `{f: {"$eq": v}}`), also inside a
    top-level `$and`."""
    pinned: set[str] = set()
    for field, value in query.items():
        if field == "$and":
            for part in value:
                pinned |= equality_fields(part)
        elif not field.startswith("$") and is_equality(value):
            pinned.add(field)
    return pinned


def is_equality(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return True
    operators = [key for key in value if str(key).startswith("$")]
    return not operators or operators == ["$eq"]


class ShardKeyAudit(monitoring.CommandListener):
    """Notes every command that a cluster sharded on `keys` would refuse or scatter."""

    def __init__(self, keys: Mapping[str, ShardKey]) -> None:
        self.keys = dict(keys)
        self.violations: list[str] = []
        self.paused = False

    @contextmanager
    def ignored(self) -> Iterator[None]:
        """Commands a test sends itself to stand for another program (e.g. an earlier
        release of the layer) are not the layer's: they go unchecked."""
        self.paused = True
        try:
            yield
        finally:
            self.paused = False

    def key_of(self, collection: str) -> ShardKey | None:
        """The shard key of a collection of the layer, whatever prefix its settings give."""
        for name, key in self.keys.items():
            if collection == name or collection.endswith("_" + name):
                return key
        return None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self.paused:
            self.inspect(event.command_name, event.command)

    def inspect(self, name: str, command: Mapping[str, Any]) -> None:
        """Note what in this command a sharded cluster would refuse or scatter."""
        if name == "aggregate":
            self.check_merges(command.get("pipeline", []))
        collection = str(command.get(name))
        key = self.key_of(collection)
        if key is None:
            return
        where = f"{name} on {collection}"
        if name == "update":
            single = [u["q"] for u in command.get("updates", []) if not u.get("multi")]
            self.check_filters(where, single, key)
        elif name == "findAndModify":
            self.check_filters(where, [command.get("query", {})], key)
        elif name == "delete":
            single = [d["q"] for d in command.get("deletes", []) if d.get("limit") == 1]
            self.check_filters(where, single, key)
        elif name == "createIndexes":
            for index in command.get("indexes", []):
                if index.get("unique") and list(index["key"])[: len(key)] != list(key):
                    self.violations.append(
                        f"{where}: unique index {index['name']!r} on {dict(index['key'])}"
                        f" does not start with the shard key {list(key)}"
                    )

    def check_merges(self, pipeline: Iterable[Mapping[str, Any]]) -> None:
        """A `$merge` into a sharded collection must match on fields including its shard key."""
        for stage in pipeline:
            merge = stage.get("$merge")
            if not isinstance(merge, Mapping):
                continue
            key = self.key_of(str(merge.get("into")))
            on = merge.get("on", "_id")
            on_fields = {on} if isinstance(on, str) else set(on)
            if key is not None and set(key) - on_fields:
                self.violations.append(
                    f"$merge into {merge.get('into')} on {sorted(on_fields)} lacks the shard"
                    f" key {list(key)}"
                )

    def check_filters(
        self, where: str, filters: Iterable[Mapping[str, Any]], key: ShardKey
    ) -> None:
        for query in filters:
            missing = set(key) - equality_fields(query)
            if missing:
                self.violations.append(
                    f"{where}: single-document write filtered by {dict(query)} lacks the"
                    f" shard key {sorted(missing)} by equality"
                )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
