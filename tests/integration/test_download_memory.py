"""Serving a file holds a few GridFS chunks, not the file: the resident memory of a real
server process (uvicorn running the file route) stays flat while slow clients download a
20 MB file, one at a time or ten at once. Measured with psutil, not by timing."""

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import psutil
import pytest
from chainlit.element import File
from conftest import MongoServer

from mongo_layer import MongoDataLayer

from .conftest import AppServer, running_file_server
from .factories import thread_of, user

MB = 1024 * 1024
FILE_BYTES = 20 * MB


@contextmanager
def peak_rss_growth(process: "subprocess.Popen[bytes]") -> Iterator[list[int]]:
    """Yields a list that, after the block, holds how far the process's resident memory
    rose above what it was before the block (sampled every few milliseconds)."""
    server = psutil.Process(process.pid)
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
) -> AsyncIterator[AppServer]:
    async with running_file_server(mongo_server.uri, database_name, driver) as server:
        yield server


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
    layer: MongoDataLayer, file_server: AppServer, downloads: int, limit_mb: int
) -> None:
    url = await alices_file(layer, "big", bytes(range(256)) * (FILE_BYTES // 256))
    small = await alices_file(layer, "small", b"warm-up" * 100_000)
    async with httpx.AsyncClient(base_url=file_server.url, timeout=120) as http:
        # Load every code path (and the driver's connection pool) before measuring.
        await asyncio.gather(*(slow_download(http, small) for _ in range(downloads)))

        with peak_rss_growth(file_server.process) as growth:
            received = await asyncio.gather(*(slow_download(http, url) for _ in range(downloads)))

    assert received == [FILE_BYTES] * downloads
    assert growth[0] < limit_mb * MB, f"RSS rose by {growth[0] / MB:.1f} MB"
