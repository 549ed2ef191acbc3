"""Where a step write's client CPU goes, with the server's wait the same for every kind:
`python -m bench.write_overhead [--driver motor]`.

On one fresh SecantusDB, interleaved call by call into the same short threads (10 steps
each, so the server answers every kind equally fast), it times the client CPU
(time.process_time) of:

- the command `create_step` sends (`$push` guarded by the step id, `$inc` of the running
  size, `$max` of the last activity), sent bare with `update_one`;
- `ThreadStore.append_step`, the store's verb that sends it;
- `MongoDataLayer.create_step`, the whole call as Chainlit makes it;
- the same call through a client with a CommandListener (the bench's meter until
  2026-12-04), to show what a listener costs.
"""

import argparse
import asyncio
import inspect
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument

from mongo_layer import MongoDataLayer
from mongo_layer.storage.call_order import stamp_time
from mongo_layer.storage.documents import step_to_document
from mongo_layer.storage.threads import SIZE, largest_size_taking, stored_size

from .meters import MongoCommandMeter
from .servers import SecantusServer
from .step_cost import step_dict
from .subjects import enter_http_context, open_mongo_client

STEPS_PER_THREAD = 10
BUDGET = 2 * 1024 * 1024


async def close(client: Any) -> None:
    closing = client.close()
    if inspect.isawaitable(closing):
        await closing


def open_layer(driver: str, uri: str, listener: bool) -> MongoDataLayer:
    client = open_mongo_client(driver, uri, [MongoCommandMeter()] if listener else [])
    return MongoDataLayer(client=client, database=f"overhead_{listener:d}", mount_file_route=False)


def bare_command(layer: MongoDataLayer, thread_id: str, item: Any, size: int) -> Awaitable[Any]:
    query = {
        "_id": thread_id,
        "steps.id": {"$ne": item["id"]},
        "overflow": {"$ne": True},
        SIZE: {"$lte": largest_size_taking(size, BUDGET)},
    }
    update = {
        "$push": {"steps": item | {"id": str(uuid.uuid4())}},
        "$inc": {SIZE: size},
        "$max": {"updatedAt": stamp_time(layer.stores.call_clock.stamp())},
    }
    collection = layer.stores.threads.collection
    return collection.update_one(query, update, upsert=True)  # type: ignore[no-any-return]


def store_verb(layer: MongoDataLayer, thread_id: str, item: Any, size: int) -> Awaitable[Any]:
    activity_at = stamp_time(layer.stores.call_clock.stamp())
    step_id = str(uuid.uuid4())
    encoded = RawBSONDocument(bson.encode(item | {"id": step_id}))
    return layer.stores.threads.append_step(thread_id, step_id, encoded, BUDGET, activity_at)


def layer_call(layer: MongoDataLayer, thread_id: str, number: int) -> Awaitable[Any]:
    step = step_dict(thread_id, str(uuid.uuid4()), number, "")
    return layer.create_step(step)  # type: ignore[arg-type]


async def measure(driver: str, writes: int) -> dict[str, list[float]]:
    server = SecantusServer()
    server.start()
    enter_http_context()
    layer, listened = open_layer(driver, server.uri, False), open_layer(driver, server.uri, True)
    cpu: dict[str, list[float]] = {}
    try:
        for each in (layer, listened):
            await each.ensure_indexes()
        for number in range(writes):
            thread_id = f"t{number // STEPS_PER_THREAD}"
            stored = await layer.stores.steps.stored_form(
                thread_id, step_to_document(step_dict(thread_id, "s", number, "")), 1
            )
            item, size = stored.item, stored_size(stored.encoded)
            kinds: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("the command, sent bare", partial(bare_command, layer, thread_id, item, size)),
                ("ThreadStore.append_step", partial(store_verb, layer, thread_id, item, size)),
                ("MongoDataLayer.create_step", partial(layer_call, layer, thread_id, number)),
                (
                    "create_step, client with a CommandListener",
                    partial(layer_call, listened, thread_id, number),
                ),
            ]
            for offset in range(len(kinds)):
                name, write = kinds[(number + offset) % len(kinds)]
                started = time.process_time()
                await write()
                cpu.setdefault(name, []).append(time.process_time() - started)
    finally:
        for each in (layer, listened):
            client = each.connection.client
            await each.close()
            await close(client)
        server.stop()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.write_overhead", description=__doc__)
    parser.add_argument("--driver", choices=["pymongo", "motor"], default="pymongo")
    parser.add_argument("--writes", type=int, default=400)
    arguments = parser.parse_args()
    load_before = os.getloadavg()[0]
    cpu = asyncio.run(measure(arguments.driver, arguments.writes))
    sys.stdout.write(
        f"{arguments.driver}, {arguments.writes} writes of each kind, client CPU per write;"
        f" load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n\n"
        "| write | mean CPU ms | median CPU ms |\n|---|---|---|\n"
    )
    for name, seconds in cpu.items():
        mean, median = 1000 * statistics.mean(seconds), 1000 * statistics.median(seconds)
        sys.stdout.write(f"| {name} | {mean:.3f} | {median:.3f} |\n")


if __name__ == "__main__":
    main()
