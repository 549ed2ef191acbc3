"""What a data layer costs on the wire: round trips and bytes received, per driver.

A meter's `reading()` is a running total; a measurement is the difference of two readings.
Work the meter itself does (encoding a reply to learn its size) is timed and reported as
`overhead`, so a measurement can leave it out of the layer's latency and CPU.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import bson
from pymongo import monitoring

# An OP_MSG reply is its BSON body plus a 16-byte header, 4 bytes of flags and 1 section kind.
OP_MSG_FRAMING = 21


@dataclass(frozen=True)
class Reading:
    """Running totals of one client."""

    round_trips: int = 0
    wire_round_trips: int = 0
    gridfs_round_trips: int = 0
    bytes_received: int = 0
    overhead_seconds: float = 0.0
    overhead_cpu: float = 0.0

    def __sub__(self, earlier: "Reading") -> "Reading":
        return Reading(
            self.round_trips - earlier.round_trips,
            self.wire_round_trips - earlier.wire_round_trips,
            self.gridfs_round_trips - earlier.gridfs_round_trips,
            self.bytes_received - earlier.bytes_received,
            self.overhead_seconds - earlier.overhead_seconds,
            self.overhead_cpu - earlier.overhead_cpu,
        )


class MongoCommandMeter(monitoring.CommandListener):
    """Counts the commands a MongoDB client sends and sizes the replies it gets.

    The driver's own connection handshakes and heartbeats are not the layer's work and are
    left out (heartbeats do not reach a CommandListener at all)."""

    IGNORED = frozenset(
        {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart"}
    )

    def __init__(self) -> None:
        self.commands = 0
        self.gridfs_commands = 0
        self.bytes_received = 0
        self.overhead_seconds = 0.0
        self.overhead_cpu = 0.0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in self.IGNORED:
            return
        self.commands += 1
        if is_gridfs_command(event.command_name, event.command):
            self.gridfs_commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name in self.IGNORED:
            return
        wall, cpu = time.perf_counter(), time.process_time()
        # PyMongo's events carry the decoded reply, not its size: encoding it again gives
        # the size of the BSON body the server sent.
        self.bytes_received += len(bson.encode(event.reply)) + OP_MSG_FRAMING
        self.overhead_seconds += time.perf_counter() - wall
        self.overhead_cpu += time.process_time() - cpu

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reading(self) -> Reading:
        return Reading(
            self.commands,
            self.commands,
            self.gridfs_commands,
            self.bytes_received,
            self.overhead_seconds,
            self.overhead_cpu,
        )


def is_gridfs_command(name: str, command: Mapping[str, Any]) -> bool:
    """A command on a GridFS bucket's `.files` or `.chunks` collection."""
    collection = command.get(name)
    return isinstance(collection, str) and collection.endswith((".files", ".chunks"))


class PostgresMeter:
    """Totals for every connection of one asyncpg pool made with `metered_connection_class`."""

    def __init__(self) -> None:
        self.queries = 0
        self.pool_resets = 0
        self.bytes_received = 0

    def reading(self) -> Reading:
        return Reading(
            self.queries, self.queries + self.pool_resets, bytes_received=self.bytes_received
        )


class ByteCountingProtocol:
    """Sits between an asyncio transport and asyncpg's protocol and counts bytes received."""

    def __init__(self, protocol: Any, meter: PostgresMeter) -> None:
        self.protocol = protocol
        self.meter = meter

    def data_received(self, data: bytes) -> None:
        self.meter.bytes_received += len(data)
        self.protocol.data_received(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.protocol, name)


def metered_connection_class(meter: PostgresMeter) -> type[asyncpg.Connection]:
    """An asyncpg connection class for `create_pool(connection_class=...)` that counts each
    query the layer runs, each reset query the pool runs when a connection is released,
    and the bytes the server sends once the connection is open."""

    class MeteredConnection(asyncpg.Connection):  # type: ignore[misc]
        resetting = False

        def __init__(self, protocol: Any, transport: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(protocol, transport, *args, **kwargs)
            transport.set_protocol(ByteCountingProtocol(protocol, meter))

        def count(self) -> None:
            if self.resetting:
                meter.pool_resets += 1
            else:
                meter.queries += 1

        async def reset(self, *, timeout: float | None = None) -> None:
            self.resetting = True
            try:
                await super().reset(timeout=timeout)
            finally:
                self.resetting = False

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            self.count()
            return await super().execute(*args, **kwargs)

        async def executemany(self, *args: Any, **kwargs: Any) -> Any:
            self.count()
            return await super().executemany(*args, **kwargs)

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            self.count()
            return await super().fetch(*args, **kwargs)

        async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
            self.count()
            return await super().fetchrow(*args, **kwargs)

        async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
            self.count()
            return await super().fetchval(*args, **kwargs)

    return MeteredConnection
