"""A fault-injecting TCP proxy between a driver and the test server (TESTING.md, "Faults").

It listens on 127.0.0.1 only and forwards whole MongoDB wire messages (each starts with its
little-endian int32 total length), so that it can drop exactly one reply. On demand it
resets every open connection (an RST, through SO_LINGER 0), refuses every new connection
for a while (a replica set election as a client sees it), holds all traffic for a while,
or forwards a write and loses its reply. It never keeps more than `max_connections` open
and closes itself after `lifetime` seconds, so a failed test cannot leave it running.

It runs its own event loop in its own thread: motor's `close()` blocks the test's loop while
it ends its sessions, and the proxy must keep forwarding meanwhile.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import bson

HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
OP_MSG = 2013
MAX_MESSAGE_BYTES = 48 * 1024 * 1024
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends an RST

Result = TypeVar("Result")


def command_name(message: bytes) -> str | None:
    """The command an OP_MSG request carries (its body's first key), if it is one."""
    length, _, _, opcode = HEADER.unpack_from(message)
    offset = HEADER.size + 4  # after the flag bits
    while opcode == OP_MSG and offset < length:
        kind = message[offset]
        (size,) = struct.unpack_from("<i", message, offset + 1)
        if kind == 0:
            body = bson.decode(message[offset + 1 : offset + 1 + size])
            return next(iter(body), None)
        offset += 1 + size
    return None


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with an RST, as a server that went away does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    writer.transport.abort()


@dataclass(eq=False)
class Link:
    """One client connection and the proxy's own connection to the server for it."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    lose_next_reply: bool = False

    def reset(self) -> None:
        reset(self.client)
        reset(self.server)


@dataclass
class FaultProxy:
    target_host: str
    target_port: int
    max_connections: int = 200
    lifetime: float = 300.0
    accepted: int = 0
    refused: int = 0
    resets: int = 0
    requests: int = 0
    replies_lost: int = 0
    _links: set[Link] = field(default_factory=set)
    _serving: set[asyncio.Task[None]] = field(default_factory=set)
    _refuse_until: float = 0.0
    _hold_until: float = 0.0
    _lose_reply_to: frozenset[str] = frozenset()
    _server: asyncio.Server | None = None
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._in_loop(self._listen())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._loop.call_later(self.lifetime, self._expire)

    def _in_loop(self, work: Coroutine[Any, Any, Result]) -> Result:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    def _call_in_loop(self, call: Callable[[], Result]) -> Result:
        async def run() -> Result:
            return call()

        return self._in_loop(run())

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def uri(self, **options: str) -> str:
        """A URI reaching the server only through the proxy: a direct connection, so the
        driver never follows the host the server advertises for itself."""
        query = "&".join(f"{k}={v}" for k, v in {"directConnection": "true", **options}.items())
        return f"mongodb://127.0.0.1:{self.port}/?{query}"

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def reset_all(self) -> int:
        """Reset every open connection; returns how many."""
        return self._call_in_loop(self._reset_all)

    def _reset_all(self) -> int:
        links = list(self._links)
        for link in links:
            link.reset()
        self._links.clear()
        self.resets += len(links)
        return len(links)

    def refuse_for(self, seconds: float) -> None:
        """Reset every open connection and every new one for `seconds`: an election."""

        def refuse() -> None:
            self._refuse_until = self._now() + seconds
            self._reset_all()

        self._call_in_loop(refuse)

    def hold_for(self, seconds: float) -> None:
        """Forward nothing, either way, for `seconds` (the messages wait, then go on)."""
        self._hold_until = self._loop.time() + seconds

    def lose_reply_to(self, *commands: str) -> None:
        """Forward the next request for one of `commands`, drop the server's reply to it and
        reset its connection (the driver sees the network fail after its write applied)."""
        self._lose_reply_to = frozenset(commands)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._in_loop(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = None

    async def _stop(self) -> None:
        self._expire()
        for task in self._serving:
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _expire(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()

    def _now(self) -> float:
        return self._loop.time()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy is stopping: the connection is reset already
        finally:
            self._serving.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._now() < self._refuse_until or len(self._links) >= self.max_connections:
            self.refused += 1
            reset(writer)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            reset(writer)
            return
        link = Link(writer, server_writer)
        self._links.add(link)
        self.accepted += 1
        try:
            await asyncio.gather(
                self._pump(reader, link, to_server=True),
                self._pump(server_reader, link, to_server=False),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._links.discard(link)
            link.reset()

    async def _pump(self, source: asyncio.StreamReader, link: Link, to_server: bool) -> None:
        destination = link.server if to_server else link.client
        while True:
            header = await source.readexactly(4)
            (length,) = struct.unpack("<i", header)
            if not HEADER.size <= length <= MAX_MESSAGE_BYTES:
                raise OSError(f"not a wire message: {length} bytes")
            message = header + await source.readexactly(length - 4)
            while (held := self._hold_until - self._now()) > 0:
                await asyncio.sleep(min(held, 0.05))
            if to_server:
                self.requests += 1
                if self._lose_reply_to and command_name(message) in self._lose_reply_to:
                    self._lose_reply_to = frozenset()
                    link.lose_next_reply = True
            elif link.lose_next_reply:
                self.replies_lost += 1
                raise OSError("reply lost on purpose")
            destination.write(message)
            await destination.drain()
