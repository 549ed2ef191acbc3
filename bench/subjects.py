"""The data layers under comparison, each with the meter on its client.

- MongoDataLayer on motor and on PyMongo's AsyncMongoClient, one database each on the same
  SecantusDB server;
- Chainlit's ChainlitDataLayer on the bench's PostgreSQL, with a local-folder storage client
  for element files.
"""

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from chainlit.context import ChainlitContext, context_var
from chainlit.data.base import BaseDataLayer
from chainlit.data.chainlit_data_layer import ChainlitDataLayer
from chainlit.session import HTTPSession

from mongo_layer import MongoDataLayer

from .local_storage import LocalStorageClient
from .meters import MongoWireMeter, PostgresMeter, Reading, metered_connection_class


@dataclass
class Subject:
    """One data layer as the workload sees it, plus what the workload remembers about it
    (the ids the layer gave its users, the cursor of the sidebar's next page)."""

    name: str
    layer: BaseDataLayer
    read_meter: Callable[[], Reading]
    close: Callable[[], Awaitable[None]]
    user_ids: dict[str, str] = field(default_factory=dict)
    next_page_cursors: dict[str, str | None] = field(default_factory=dict)


async def mongo_subject(name: str, driver: str, uri: str, database: str) -> Subject:
    meter = MongoWireMeter.install(driver)
    client = open_mongo_client(driver, uri)
    layer = MongoDataLayer(client=client, database=database, mount_file_route=False)
    # What an app does at start-up: the indexes exist before the first request.
    await layer.ensure_indexes()

    async def close() -> None:
        await layer.close()
        closing = client.close()
        if inspect.isawaitable(closing):
            await closing

    return Subject(name, layer, meter.reading, close)


def open_mongo_client(driver: str, uri: str, listeners: Sequence[Any] = ()) -> Any:
    """PyMongo's AsyncMongoClient ("pymongo") or motor's AsyncIOMotorClient ("motor")."""
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        return AsyncMongoClient(uri, tz_aware=True, event_listeners=list(listeners))
    from motor.motor_asyncio import AsyncIOMotorClient

    return AsyncIOMotorClient(uri, tz_aware=True, event_listeners=list(listeners))


async def postgres_subject(name: str, dsn: str, files_folder: Path) -> Subject:
    meter = PostgresMeter()
    layer = ChainlitDataLayer(dsn, storage_client=LocalStorageClient(files_folder))
    # ChainlitDataLayer.connect() would open the same pool without the meter; a pool set
    # beforehand is the one it uses.
    layer.pool = await asyncpg.create_pool(dsn, connection_class=metered_connection_class(meter))
    return Subject(name, layer, meter.reading, layer.close)


def enter_http_context() -> None:
    """Run the workload the way Chainlit runs its REST routes: in an HTTP session context.

    Chainlit's `queue_until_user_message` (on ChainlitDataLayer's step and element writes, and
    re-applied by MongoDataLayer) queues a write only inside a websocket session that has not
    seen its first message; in an HTTP context both layers write at once. Without any
    context ChainlitDataLayer's decorator would raise."""
    session = HTTPSession(id=str(uuid.uuid4()), client_type="webapp")
    context_var.set(ChainlitContext(session))
