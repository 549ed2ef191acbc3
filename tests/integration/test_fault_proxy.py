"""The fault proxy (fault_proxy.py) does to plain driver calls what it claims, before the
layer is judged with it (test_failover.py)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import close_client, make_client
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from .fault_proxy import FaultProxy


@pytest.fixture
async def proxied_client(fault_proxy: FaultProxy, driver: str) -> AsyncIterator[Any]:
    client = make_client(driver, fault_proxy.uri(), serverSelectionTimeoutMS=1000)
    try:
        yield client
    finally:
        await close_client(client)


async def test_every_command_goes_through_the_proxy(
    fault_proxy: FaultProxy, proxied_client: Any, database_name: str
) -> None:
    collection = proxied_client[database_name]["through"]
    before = fault_proxy.requests

    await collection.insert_one({"_id": 1})
    found = await collection.find_one({"_id": 1})

    assert found == {"_id": 1}
    assert fault_proxy.accepted >= 1
    assert fault_proxy.requests >= before + 2
    assert fault_proxy.open_connections >= 1


async def test_a_reset_breaks_the_command_on_the_wire(
    fault_proxy: FaultProxy, proxied_client: Any
) -> None:
    await proxied_client.admin.command("ping")
    fault_proxy.hold_for(5)
    ping = asyncio.ensure_future(proxied_client.admin.command("ping"))
    await asyncio.sleep(0.3)

    assert fault_proxy.reset_all() >= 1
    fault_proxy.hold_for(0)

    with pytest.raises(AutoReconnect):
        await ping
    assert (await proxied_client.admin.command("ping"))["ok"] == 1.0


async def test_refused_connections_leave_no_server_selectable_until_the_time_is_up(
    fault_proxy: FaultProxy, proxied_client: Any
) -> None:
    await proxied_client.admin.command("ping")

    fault_proxy.refuse_for(2.5)

    with pytest.raises(AutoReconnect):  # ServerSelectionTimeoutError or the reset itself
        await proxied_client.admin.command("ping")
    with pytest.raises(ServerSelectionTimeoutError):
        await proxied_client.admin.command("ping")
    assert fault_proxy.refused >= 1
    await asyncio.sleep(2.5)
    assert (await proxied_client.admin.command("ping"))["ok"] == 1.0


async def test_held_traffic_waits_and_then_goes_through(
    fault_proxy: FaultProxy, proxied_client: Any
) -> None:
    await proxied_client.admin.command("ping")

    fault_proxy.hold_for(1.0)
    ping = asyncio.ensure_future(proxied_client.admin.command("ping"))
    await asyncio.sleep(0.5)

    assert not ping.done()
    assert (await ping)["ok"] == 1.0


@pytest.mark.parametrize("retry_writes", ["true", "false"])
async def test_a_lost_reply_leaves_the_write_applied_once(
    fault_proxy: FaultProxy, driver: str, database_name: str, retry_writes: str
) -> None:
    client = make_client(driver, fault_proxy.uri(retryWrites=retry_writes))
    collection = client[database_name]["lost"]
    try:
        await collection.insert_one({"_id": "warm-up"})
        fault_proxy.lose_reply_to("insert")

        if retry_writes == "true":
            # The driver sends the write again with the same transaction number, and the
            # server answers with the reply it stored instead of inserting twice.
            await collection.insert_one({"_id": "written"})
        else:
            with pytest.raises(AutoReconnect):
                await collection.insert_one({"_id": "written"})

        assert fault_proxy.replies_lost == 1
        assert await collection.count_documents({"_id": "written"}) == 1
    finally:
        await close_client(client)
