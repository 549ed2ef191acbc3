"""The bench counts a MongoDB client's commands and reply bytes at the wire, without a
CommandListener (bench/meters.py: MongoWireMeter); it must count exactly what a listener
sees, GridFS commands apart, on both drivers."""

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import MongoServer

ROOT = Path(__file__).resolve().parents[2]

BOTH_METERS = textwrap.dedent(
    """
    import asyncio, inspect, sys
    from chainlit.element import Text
    from chainlit.user import User
    from bench.meters import MongoCommandMeter, MongoWireMeter
    from bench.subjects import enter_http_context
    from mongo_layer import MongoDataLayer

    async def main(uri, database, driver):
        enter_http_context()
        wire, listener = MongoWireMeter.install(driver), MongoCommandMeter()
        if driver == "pymongo":
            from pymongo import AsyncMongoClient as Client
        else:
            from motor.motor_asyncio import AsyncIOMotorClient as Client
        client = Client(uri, tz_aware=True, event_listeners=[listener])
        layer = MongoDataLayer(client=client, database=database, mount_file_route=False)
        await layer.ensure_indexes()
        before_wire, before_listener = wire.reading(), listener.reading()
        user = await layer.create_user(User(identifier="ann"))
        await layer.update_thread("t1", name="chat", user_id=user.id)
        step = {"id": "s1", "threadId": "t1", "type": "assistant_message", "output": "hi"}
        await layer.create_step(step)
        await layer.update_step(step | {"output": "hello"})
        await layer.create_element(Text(name="n", content="x" * 100, for_id="s1", thread_id="t1"))
        await layer.get_thread("t1")
        await layer.delete_thread("t1")
        counted = wire.reading() - before_wire, listener.reading() - before_listener
        for reading in counted:
            print(reading.round_trips, reading.gridfs_round_trips, reading.bytes_received)
        await layer.close()
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing

    asyncio.run(main(*sys.argv[1:]))
    """
)


def printed_by(script: str, *arguments: str) -> list[str]:
    """The lines `script` prints, run in a process of its own: the wire meter wraps the
    driver's connection class for good."""
    run = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_the_wire_meter_counts_what_a_command_listener_sees(
    mongo_server: MongoServer, driver: str, database_name: str
) -> None:
    wire, listener = printed_by(BOTH_METERS, mongo_server.uri, database_name, driver)
    assert wire == listener
    round_trips, gridfs_round_trips, bytes_received = map(int, wire.split())
    assert round_trips >= 10 and gridfs_round_trips >= 2 and bytes_received > 1000


DRIVER_SHARE = textwrap.dedent(
    """
    import asyncio, sys, time
    from pymongo import AsyncMongoClient
    from bench.meters import MongoWireMeter
    from bench.subjects import enter_http_context
    from mongo_layer import MongoDataLayer

    async def main(uri, database):
        enter_http_context()
        meter = MongoWireMeter.install("pymongo")
        client = AsyncMongoClient(uri, tz_aware=True)
        layer = MongoDataLayer(client=client, database=database, mount_file_route=False)
        await layer.ensure_indexes()
        step = {"id": "s1", "threadId": "t1", "type": "assistant_message", "output": "hi"}
        before, cpu = meter.reading(), time.process_time()
        await layer.create_step(step)
        write, write_cpu = meter.reading() - before, time.process_time() - cpu
        before = meter.reading()
        await layer.get_thread("t1")
        read = meter.reading() - before
        print(write.driver_cpu > 0, write.driver_cpu <= write_cpu, read.driver_cpu == 0)
        await layer.close()
        await client.close()

    asyncio.run(main(*sys.argv[1:]))
    """
)


def test_the_wire_meter_times_the_step_writes_update_one_on_pymongo(
    mongo_server: MongoServer, database_name: str
) -> None:
    """The bench splits a step write's client CPU into the driver's `update_one` and the
    layer's own: the split covers the write's command and nothing of a read."""
    assert printed_by(DRIVER_SHARE, mongo_server.uri, database_name) == ["True True True"]
