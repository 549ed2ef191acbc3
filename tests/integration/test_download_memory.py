"""Serving a file holds a few GridFS chunks, not the file: the resident memory of a real
server process (uvicorn running the file route) stays flat while slow clients download a
20 MB file, one at a time or ten at once. Measured with psutil, not by timing."""

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from chainlit.element import File
from conftest import MongoServer

from mongo_layer import MongoDataLayer
from mongo_layer.embedded import free_port, stop_process

from .factories import thread_of, user

MB = 1024 * 1024
FILE_BYTES = 20 * MB
SERVER = Path(__file__).with_name("file_server.py")


@dataclass
class FileServer:
    url: str
    process: "subprocess.Popen[bytes]"

    @contextmanager
    def peak_rss_growth(self) -> Iterator[list[int]]:
        """Yields a list that, after the block, holds how far the server's resident memory
        rose above what it was before the block (sampled every few milliseconds)."""
        server = psutil.Process(self.process.pid)
        baseline = server.memory_info().rss
        peak = [baseline]
        sampling = True

        def sample() -> None:
            while sampling:
                peak[0] = max(peak[0], server.memory_info().rss)
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        growth: list[int] = []
        try:
            yield growth
        finally:
            sampling = False
            sampler.join()
            growth.append(peak[0] - baseline)


@pytest.fixture
async def file_server(
    mongo_server: MongoServer, database_name: str, driver: str
) -> AsyncIterator[FileServer]:
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongo_server.uri,
        "MONGODB_DATABASE": database_name,
        "MONGO_LAYER_DRIVER": driver,
    }
    process = subprocess.Popen([sys.executable, str(SERVER), str(port)], env=env)
    server = FileServer(f"http://127.0.0.1:{port}", process)
    try:
        await until_healthy(server)
        yield server
    finally:
        stop_process(process)


async def until_healthy(server: FileServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            assert server.process.poll() is None, "the file server exited"
            try:
                if (await http.get(f"{server.url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)


async def alices_file(layer: MongoDataLayer, element_id: str, content: bytes) -> str:
    alice = await user(layer, "alice")
    await thread_of(layer, alice, "t1")
    await layer.create_element(
        File(id=element_id, name=f"{element_id}.bin", content=content, thread_id="t1")
    )
    return f"{layer.settings.file_route}/t1/{element_id}"


async def slow_download(http: httpx.AsyncClient, url: str) -> int:
    """Read the file 64 KB at a time, pausing between reads as a slow client does."""
    received = 0
    async with http.stream("GET", url) as response:
        assert response.status_code == 200
        async for data in response.aiter_bytes(64 * 1024):
            received += len(data)
            await asyncio.sleep(0.002)
    return received


@pytest.mark.parametrize(("downloads", "limit_mb"), [(1, 15), (10, 40)])
async def test_serving_a_20_mb_file_holds_a_few_chunks_in_memory(
    layer: MongoDataLayer, file_server: FileServer, downloads: int, limit_mb: int
) -> None:
    url = await alices_file(layer, "big", bytes(range(256)) * (FILE_BYTES // 256))
    small = await alices_file(layer, "small", b"warm-up" * 100_000)
    async with httpx.AsyncClient(base_url=file_server.url, timeout=120) as http:
        # Load every code path (and the driver's connection pool) before measuring.
        await asyncio.gather(*(slow_download(http, small) for _ in range(downloads)))

        with file_server.peak_rss_growth() as growth:
            received = await asyncio.gather(*(slow_download(http, url) for _ in range(downloads)))

    assert received == [FILE_BYTES] * downloads
    assert growth[0] < limit_mb * MB, f"RSS rose by {growth[0] / MB:.1f} MB"
