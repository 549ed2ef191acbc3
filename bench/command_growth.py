"""Which single-thread commands slow down as the threads collection fills, on a fresh server.

    .venv/bin/python -m bench.command_growth

Times each command shape, by `_id` of one thread, at 10 threads and again at 3,000 (each of
20 steps), on one fresh SecantusDB: what made a restore through the live step write slow
down as the database filled (bench/README.md, migrating).
"""

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient

from .servers import SecantusServer

THREAD = "t000005"
REPEATS = 20
SIZES = (10, 3_000)
ROOM_LEFT_OR_HELD = {"$or": [{"overflow": {"$ne": True}}, {"steps.id": "none"}]}


def command_shapes(threads: Any) -> dict[str, Callable[[int], Awaitable[Any]]]:
    by_id = {"_id": THREAD}
    return {
        "find_one {_id}": lambda n: threads.find_one(by_id),
        "find_one {_id, $or}": lambda n: threads.find_one(by_id | ROOM_LEFT_OR_HELD),
        "update_one {_id} $set": lambda n: threads.update_one(by_id, {"$set": {"n": n}}),
        "update_one {_id} $push": lambda n: threads.update_one(
            by_id, {"$push": {"steps": {"id": f"new-{n}"}}}
        ),
        "find_one_and_update {_id} $set": lambda n: threads.find_one_and_update(
            by_id, {"$set": {"n": n}}, projection={"n": 1}
        ),
        "find_one_and_update {_id, $or} $set": lambda n: threads.find_one_and_update(
            by_id | ROOM_LEFT_OR_HELD, {"$set": {"n": n}}, projection={"n": 1}
        ),
    }


async def fill(threads: Any, count: int) -> None:
    stored = await threads.count_documents({})
    documents = [
        {"_id": f"t{n:06d}", "userId": "u", "steps": [{"id": f"t{n}-s{s}"} for s in range(20)]}
        for n in range(stored, count)
    ]
    if documents:
        await threads.insert_many(documents)


async def measure() -> list[str]:
    server = SecantusServer()
    server.start()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(server.uri)
    try:
        threads = client.bench_growth.threads
        await threads.create_index([("steps.id", 1)])
        times: dict[str, list[float]] = {}
        for count in SIZES:
            await fill(threads, count)
            for name, command in command_shapes(threads).items():
                started = time.perf_counter()
                for n in range(REPEATS):
                    await command(n)
                times.setdefault(name, []).append((time.perf_counter() - started) / REPEATS)
    finally:
        await client.close()
        server.stop()
    header = " | ".join(f"{count:,} threads" for count in SIZES)
    lines = [f"| command | {header} |", "|---|" + "---|" * len(SIZES)]
    for name, seconds in times.items():
        lines.append(f"| `{name}` | " + " | ".join(f"{s * 1000:.1f} ms" for s in seconds) + " |")
    return lines


def main() -> None:
    sys.stdout.write("\n".join(asyncio.run(measure())) + "\n")


if __name__ == "__main__":
    main()
