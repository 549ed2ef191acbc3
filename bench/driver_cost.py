"""What one command costs the client, below any data layer: `python -m bench.driver_cost`.

Times the client CPU (time.process_time) of the smallest read each driver can make, one call
at a time on the bench's servers: `find_one` by `_id` of a user-sized document through
PyMongo's AsyncMongoClient and through motor (without and with the bench's CommandListener),
and a one-row `fetchrow` through an asyncpg pool (acquire, query, release with its reset
query), which is how ChainlitDataLayer runs each query. The difference between the two is a
floor under MongoDataLayer's CPU per command that no change in the layer removes.
"""

import argparse
import asyncio
import inspect
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from .meters import MongoCommandMeter
from .servers import PostgresServer, SecantusServer
from .subjects import open_mongo_client

USER = {"_id": "u-1", "identifier": "alice", "metadata": {"role": "user"}, "schemaVersion": 1}


async def cpu_ms_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(min(100, calls)):  # warm up: connections, prepared statements
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return 1000 * (time.process_time() - started) / calls


async def mongo_cost(driver: str, uri: str, metered: bool, calls: int) -> float:
    listeners = [MongoCommandMeter()] if metered else []
    client = open_mongo_client(driver, uri, listeners)
    collection = client["bench_driver_cost"]["users"]
    await collection.replace_one({"_id": USER["_id"]}, USER, upsert=True)
    try:
        return await cpu_ms_per_call(lambda: collection.find_one({"_id": USER["_id"]}), calls)
    finally:
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing


async def postgres_cost(dsn: str, calls: int) -> float:
    pool = await asyncpg.create_pool(dsn)
    try:
        async with pool.acquire() as connection:
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS driver_cost_users (id text primary key, body jsonb)"
            )
            await connection.execute(
                "INSERT INTO driver_cost_users VALUES ('u-1', '{\"role\": \"user\"}')"
                " ON CONFLICT DO NOTHING"
            )

        async def fetch_one() -> Any:
            async with pool.acquire() as connection:
                return await connection.fetchrow(
                    "SELECT * FROM driver_cost_users WHERE id = $1", "u-1"
                )

        return await cpu_ms_per_call(fetch_one, calls)
    finally:
        await pool.close()


async def measure(calls: int) -> list[tuple[str, float]]:
    secantus, postgres = SecantusServer(), PostgresServer()
    secantus.start()
    try:
        postgres.start()
        rows = []
        for driver, name in (("pymongo", "pymongo.AsyncMongoClient"), ("motor", "motor")):
            for metered in (False, True):
                label = f"{name} find_one" + (" (with the bench's listener)" if metered else "")
                rows.append((label, await mongo_cost(driver, secantus.uri, metered, calls)))
        rows.append(
            ("asyncpg pool: acquire, fetchrow, release", await postgres_cost(postgres.dsn, calls))
        )
        return rows
    finally:
        secantus.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.driver_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    arguments = parser.parse_args()
    rows = asyncio.run(measure(arguments.calls))
    sys.stdout.write(f"client CPU per call, {arguments.calls} calls each\n")
    for label, cpu_ms in rows:
        sys.stdout.write(f"  {label:52s} {cpu_ms:6.3f} ms\n")


if __name__ == "__main__":
    main()
