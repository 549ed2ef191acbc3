"""Choosing the order in which the layer's writes land, whatever order they were called in.

Chainlit starts `create_step`, `update_step` and `delete_step` as tasks it never awaits, so
their commands can reach the server in any order. `HeldWrites` lets a test call the layer's
methods in Chainlit's order (each as a named task, started in that order) and then decide
which call's commands land first: every write to the threads, overflow and feedback
collections waits until the test lets that call land.
"""

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from mongo_layer import MongoDataLayer

# The call a write belongs to: the tasks a call starts (asyncio.gather) inherit it.
CALL: ContextVar[str | None] = ContextVar("CALL", default=None)
WRITE_METHODS = frozenset(
    {"update_one", "find_one_and_update", "find_one_and_delete", "delete_many", "delete_one"}
)


class HeldCollection:
    """A collection whose writes wait for their task's turn; reads go straight through."""

    def __init__(self, collection: Any, landing: "HeldWrites") -> None:
        self._collection = collection
        self._landing = landing

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if name not in WRITE_METHODS:
            return attribute

        async def held(*args: Any, **kwargs: Any) -> Any:
            await self._landing.turn_of(CALL.get())
            return await attribute(*args, **kwargs)

        return held


class HeldWrites:
    """Calls started in order, landing when the test says."""

    def __init__(self, layer: MongoDataLayer) -> None:
        self.layer = layer
        self.calls: dict[str, asyncio.Task[None]] = {}
        self.turns: dict[str, asyncio.Event] = {}
        layer.stores.threads.collection = HeldCollection(layer.stores.threads.collection, self)
        layer.stores.overflow.collection = HeldCollection(layer.stores.overflow.collection, self)
        layer.stores.feedback.collection = HeldCollection(layer.stores.feedback.collection, self)

    def call(self, name: str, method_call: Coroutine[Any, Any, None]) -> None:
        """Start a layer call, as Chainlit does, under a name the test lands it by."""

        async def named() -> None:
            CALL.set(name)
            await method_call

        self.calls[name] = asyncio.create_task(named())

    async def turn_of(self, name: str | None) -> None:
        """Wait until the call `name` may land (tasks it starts belong to it too); writes
        outside a call land at once."""
        if name is not None:
            await self.turns.setdefault(name, asyncio.Event()).wait()

    async def land(self, *names: str) -> None:
        """Let these calls' writes reach the server, one call after the other, each to its
        end."""
        for name in names:
            self.turns.setdefault(name, asyncio.Event()).set()
            await self.calls[name]
