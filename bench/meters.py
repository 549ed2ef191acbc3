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
# The driver's connection handshakes, heartbeats and housekeeping: not the layer's work.
IGNORED_COMMANDS = frozenset(
    {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart"}
)


@dataclass(frozen=True)
class Reading:
    """Running totals of one client."""

    round_trips: int = 0
    wire_round_trips: int = 0
    gridfs_round_trips: int = 0
    bytes_received: int = 0
    overhead_seconds: float = 0.0
    overhead_cpu: float = 0.0
    # Client CPU spent inside PyMongo's `AsyncCollection.update_one` (0 for other drivers).
    driver_cpu: float = 0.0

    def __sub__(self, earlier: "Reading") -> "Reading":
        return Reading(
            self.round_trips - earlier.round_trips,
            self.wire_round_trips - earlier.wire_round_trips,
            self.gridfs_round_trips - earlier.gridfs_round_trips,
            self.bytes_received - earlier.bytes_received,
            self.overhead_seconds - earlier.overhead_seconds,
            self.overhead_cpu - earlier.overhead_cpu,
            self.driver_cpu - earlier.driver_cpu,
        )


class MongoCommandMeter(monitoring.CommandListener):
    """Counts the commands a MongoDB client sends and sizes the replies it gets, as a
    CommandListener. `bench.driver_cost` uses it to show what a listener costs; the bench's
    subjects use `MongoWireMeter`, which does not make the driver build events.

    The driver's own connection handshakes and heartbeats are not the layer's work and are
    left out (heartbeats do not reach a CommandListener at all)."""

    def __init__(self) -> None:
        self.commands = 0
        self.gridfs_commands = 0
        self.bytes_received = 0
        self.overhead_seconds = 0.0
        self.overhead_cpu = 0.0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in IGNORED_COMMANDS:
            return
        self.commands += 1
        if is_gridfs_command(event.command_name, event.command):
            self.gridfs_commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name in IGNORED_COMMANDS:
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


class MongoWireMeter:
    """Counts the commands one driver's connections send and the bytes of the replies, where
    the driver puts a message on the wire and takes one off it, as `PostgresMeter` counts
    asyncpg's queries. A CommandListener would make the driver build and publish two event
    objects per command, 0.05 to 0.11 ms of CPU per step write (bench/README.md) that an app's
    process, which has no listener, does not spend.

    `install` wraps the `send_message` and `receive_message` of the driver's connection
    class (PyMongo's async one, or the synchronous one motor runs in its threads), so there
    is one meter per driver in a process. The driver's handshakes and heartbeats (`hello`)
    and its other housekeeping (`IGNORED_COMMANDS`) are left out, as before.

    On PyMongo it also times the client CPU spent inside `AsyncCollection.update_one`, the
    one command behind every step write: with one call in flight at a time, what the
    process spends between that call and its return is the driver's (and the event loop's)
    work for the command, and the rest of the layer's call is the layer's own."""

    installed: dict[str, "MongoWireMeter"] = {}

    def __init__(self) -> None:
        self.commands = 0
        self.gridfs_commands = 0
        self.bytes_received = 0
        self.driver_cpu = 0.0
        self._counting: dict[int, bool] = {}

    @classmethod
    def install(cls, driver: str) -> "MongoWireMeter":
        """The meter of `driver`'s connections ("pymongo" or "motor"), wrapping them once."""
        if driver in cls.installed:
            return cls.installed[driver]
        meter = cls.installed[driver] = cls()
        if driver == "pymongo":
            from pymongo.asynchronous.collection import AsyncCollection
            from pymongo.asynchronous.pool import AsyncConnection

            send, receive = AsyncConnection.send_message, AsyncConnection.receive_message
            update_one = AsyncCollection.update_one

            async def timed_update_one(collection: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.process_time()
                try:
                    return await update_one(collection, *args, **kwargs)
                finally:
                    meter.driver_cpu += time.process_time() - started

            AsyncCollection.update_one = timed_update_one  # type: ignore[method-assign]

            async def async_send(conn: Any, message: bytes, max_doc_size: int) -> None:
                meter.sent(conn, message)
                await send(conn, message, max_doc_size)

            async def async_receive(conn: Any, request_id: int | None) -> Any:
                return meter.received(conn, await receive(conn, request_id))

            AsyncConnection.send_message = async_send  # type: ignore[method-assign]
            AsyncConnection.receive_message = async_receive  # type: ignore[method-assign]
        else:
            from pymongo.synchronous.pool import Connection

            sync_send, sync_receive = Connection.send_message, Connection.receive_message

            def send_message(conn: Any, message: bytes, max_doc_size: int) -> None:
                meter.sent(conn, message)
                sync_send(conn, message, max_doc_size)

            def receive_message(conn: Any, request_id: int | None) -> Any:
                return meter.received(conn, sync_receive(conn, request_id))

            Connection.send_message = send_message  # type: ignore[method-assign]
            Connection.receive_message = receive_message  # type: ignore[method-assign]
        return meter

    def sent(self, conn: Any, message: bytes) -> None:
        name, collection = command_of(message)
        counted = name not in IGNORED_COMMANDS
        self._counting[id(conn)] = counted
        if counted:
            self.commands += 1
            if collection.endswith((".files", ".chunks")):
                self.gridfs_commands += 1

    def received(self, conn: Any, reply: Any) -> Any:
        if self._counting.get(id(conn)):
            body = getattr(reply, "payload_document", b"")
            self.bytes_received += len(body) + OP_MSG_FRAMING
        return reply

    def reading(self) -> Reading:
        return Reading(
            self.commands,
            self.commands,
            self.gridfs_commands,
            self.bytes_received,
            driver_cpu=self.driver_cpu,
        )


# An OP_MSG: a 16-byte header, 4 bytes of flags, the section kind (0: one document), then
# the command document, whose first element's name is the command's and whose value names
# the collection (for the commands that take one).
FIRST_ELEMENT = 16 + 4 + 1 + 4


def command_of(message: bytes) -> tuple[str, str]:
    """The command name of an uncompressed OP_MSG, and the collection its first element
    names ("" when that is not a string)."""
    name_end = message.index(b"\x00", FIRST_ELEMENT + 1)
    name = bytes(message[FIRST_ELEMENT + 1 : name_end]).decode()
    if message[FIRST_ELEMENT] != 0x02:
        return name, ""
    length = int.from_bytes(message[name_end + 1 : name_end + 5], "little")
    collection = bytes(message[name_end + 5 : name_end + 4 + length]).decode()
    return name, collection


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
