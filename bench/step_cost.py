"""What a step write costs as its thread grows: `python -m bench.step_cost`.

On one fresh SecantusDB, for threads already holding 10, 100, 300 and 1,000 steps of 5 KB,
times MongoDataLayer's `create_step` (a new step) and `update_step` (its final output) next
to a bare `$push` of the same step document into two copies of the same thread, one call at
a time, the four interleaved so drift of the machine hits them alike:

- one copy in the layer's own threads collection, so the bare `$push` pays the same index
  upkeep (the `steps.id` multikey index and the sidebar's) as the layer's writes: the
  ratio to it is what the layer's command adds to any write of that document there;
- one in a collection with no index but `_id`, as the probe measured before 2026-12-04.

Reports median wall time, the layer / bare `$push` ratios and the client CPU
(time.process_time) per call.

The threads are filled by inserting their documents whole (each step as the layer stores it,
the thread with its running size), which is what an import does, so a 1,000-step thread
takes seconds to prepare rather than a thousand appends. The layer's budget is raised to
8 MiB (its maximum) so that 1,000 steps of 5 KB stay embedded.
"""

import argparse
import asyncio
import inspect
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mongo_layer import MongoDataLayer
from mongo_layer.settings import MongoLayerSettings
from mongo_layer.storage.threads import SIZE, stored_size

from .servers import SecantusServer
from .subjects import enter_http_context, open_mongo_client

LENGTHS = (10, 100, 300, 1000)
STEP_BYTES = 5 * 1024
BUDGET = 8 * 1024 * 1024
START = datetime(2025, 1, 1, tzinfo=UTC)


def step_dict(thread_id: str, step_id: str, number: int, output: str) -> dict[str, Any]:
    """A StepDict as Chainlit sends an assistant message."""
    created = (START + timedelta(seconds=number)).isoformat().replace("+00:00", "Z")
    return {
        "id": step_id,
        "threadId": thread_id,
        "parentId": None,
        "name": "Assistant",
        "type": "assistant_message",
        "streaming": False,
        "metadata": {},
        "tags": None,
        "input": "",
        "isError": False,
        "output": output,
        "createdAt": created,
        "start": created,
        "end": created,
        "language": None,
        "defaultOpen": False,
        "showInput": "json",
        "generation": None,
    }


def text(number: int) -> str:
    return (f"answer {number}: " + "lorem ipsum dolor sit amet " * 200)[:STEP_BYTES]


@dataclass
class Timings:
    wall_ms: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)

    async def time(self, name: str, call: Awaitable[Any]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        await call
        self.wall_ms.setdefault(name, []).append(1000 * (time.perf_counter() - wall))
        self.cpu_ms.setdefault(name, []).append(1000 * (time.process_time() - cpu))

    def median(self, name: str) -> float:
        return statistics.median(self.wall_ms[name])

    def cpu(self, name: str) -> float:
        return statistics.median(self.cpu_ms[name])


async def stored_step(layer: MongoDataLayer, thread_id: str) -> dict[str, Any]:
    """One step as the layer stores it, written through the layer itself."""
    await layer.create_step(step_dict(thread_id, "template", 0, text(0)))  # type: ignore[arg-type]
    document = await layer.stores.threads.collection.find_one({"_id": thread_id})
    assert document is not None
    await layer.stores.threads.collection.delete_one({"_id": thread_id})
    step: dict[str, Any] = document["steps"][0]
    return step


async def fill(collection: Any, thread_id: str, template: dict[str, Any], steps: int) -> None:
    """Insert the thread whole, holding `steps` copies of the template step."""
    document: dict[str, Any] = {
        "_id": thread_id,
        "createdAt": START,
        "updatedAt": START,
        "schemaVersion": 1,
        "elements": [],
        "steps": [template | {"id": f"{thread_id}-{n}"} for n in range(steps)],
    }
    document[SIZE] = stored_size(document)
    await collection.insert_one(document)


async def push(collection: Any, thread_id: str, step: dict[str, Any]) -> None:
    await collection.update_one({"_id": thread_id}, {"$push": {"steps": step}})


SAME_COLLECTION = "bare $push"
WITHOUT_INDEXES = "bare $push, no indexes"


async def probe(layer: MongoDataLayer, unindexed: Any, steps: int, repeats: int) -> Timings:
    thread_id = f"thread-{steps}"
    bare_thread_id = f"bare-{thread_id}"
    threads = layer.stores.threads.collection
    template = await stored_step(layer, thread_id)
    await fill(threads, thread_id, template, steps)
    await fill(threads, bare_thread_id, template, steps)
    await fill(unindexed, thread_id, template, steps)
    timings = Timings()
    for number in range(repeats):
        step_id = str(uuid.uuid4())
        created = step_dict(thread_id, step_id, steps + number, "")
        final = step_dict(thread_id, step_id, steps + number, text(number))
        step = template | {"id": step_id}
        units: list[list[tuple[str, Awaitable[Any]]]] = [
            [
                ("create_step", layer.create_step(created)),  # type: ignore[arg-type]
                ("update_step", layer.update_step(final)),  # type: ignore[arg-type]
            ],
            [(SAME_COLLECTION, push(threads, bare_thread_id, step))],
            [(WITHOUT_INDEXES, push(unindexed, thread_id, step))],
        ]
        # Rotate which goes first, keeping the create before its update.
        first = number % len(units)
        for unit in units[first:] + units[:first]:
            for name, write in unit:
                await timings.time(name, write)
    return timings


async def measure(driver: str, lengths: list[int], repeats: int) -> list[str]:
    secantus = SecantusServer()
    secantus.start()
    enter_http_context()
    client = open_mongo_client(driver, secantus.uri)
    settings = MongoLayerSettings(thread_document_budget_bytes=BUDGET)
    layer = MongoDataLayer(
        client=client, database="step_cost", settings=settings, mount_file_route=False
    )
    try:
        await layer.ensure_indexes()
        unindexed = client["step_cost"]["bare_threads"]
        rows = [
            "| steps in the thread | create_step ms | update_step ms | bare `$push` ms"
            " | create / `$push` | update / `$push` | bare `$push`, no indexes, ms"
            " | create / it | update / it | create_step CPU ms | update_step CPU ms"
            " | bare `$push` CPU ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for steps in lengths:
            t = await probe(layer, unindexed, steps, repeats)
            create, update = t.median("create_step"), t.median("update_step")
            push, bare = t.median(SAME_COLLECTION), t.median(WITHOUT_INDEXES)
            rows.append(
                f"| {steps:,} | {create:.1f} | {update:.1f} | {push:.1f}"
                f" | {create / push:.2f}x | {update / push:.2f}x | {bare:.1f}"
                f" | {create / bare:.2f}x | {update / bare:.2f}x | {t.cpu('create_step'):.2f}"
                f" | {t.cpu('update_step'):.2f} | {t.cpu(SAME_COLLECTION):.2f} |"
            )
        paths = ", ".join(
            f"{path} {n}" for path, n in sorted(layer.stores.steps.write_paths.items())
        )
        rows.append("")
        rows.append(f"step writes by path: {paths}")
        return rows
    finally:
        await layer.close()
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing
        secantus.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.step_cost", description=__doc__)
    parser.add_argument("--driver", choices=["pymongo", "motor"], default="pymongo")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--repeats", type=int, default=20)
    arguments = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = asyncio.run(measure(arguments.driver, arguments.lengths, arguments.repeats))
    load_after = os.getloadavg()[0]
    sys.stdout.write(
        f"{arguments.driver}, {arguments.repeats} writes of each kind per length, medians;"
        f" load average (1 min) {load_before:.1f} before, {load_after:.1f} after\n\n"
    )
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
