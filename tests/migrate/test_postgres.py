"""What only ChainlitDataLayer's PostgreSQL database has: files behind a storage client's
read urls, and soft-deleted threads."""

from pathlib import Path

import pytest

from bench.local_storage import LocalStorageClient
from mongo_layer import MongoDataLayer

from .checks import assert_history_migrated, migrate, served
from .conftest import ChainlitDatabase

pytestmark = pytest.mark.postgres


class ServedStorageClient(LocalStorageClient):
    """A storage client whose read urls are served over HTTP, as S3 or Azure give them."""

    def __init__(self, folder: Path, base_url: str) -> None:
        super().__init__(folder)
        self.base_url = base_url

    async def get_read_url(self, object_key: str) -> str:
        return f"{self.base_url}/{object_key}"


async def test_files_are_fetched_through_the_storage_clients_read_url(
    postgres_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await postgres_database.write_history()

    with served(postgres_database.files) as base_url:
        storage = ServedStorageClient(postgres_database.files, base_url)
        report = await migrate(postgres_database.url, layer, storage_client=storage, verify=True)

    assert (report.files_copied, report.broken, report.differences) == (4, [], [])
    await assert_history_migrated(layer, history)


async def test_soft_deleted_threads_stay_behind(
    postgres_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await postgres_database.write_history()
    deleted = history.thread_ids[0]
    await postgres_database.execute(
        f"""UPDATE "Thread" SET "deletedAt" = now() WHERE id = '{deleted}'"""
    )

    report = await migrate(postgres_database.url, layer, files="link")

    assert report.migrated.threads == 3
    assert await layer.get_thread(deleted) is None
