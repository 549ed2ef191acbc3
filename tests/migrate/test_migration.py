"""Migrating a Chainlit app's history, written by Chainlit's own layer, from each of
Chainlit's SQL layers: SQLAlchemyDataLayer on SQLite and on PostgreSQL, and
ChainlitDataLayer on PostgreSQL."""

import pytest

from mongo_layer import MongoDataLayer
from mongo_layer.migrate import MigrationOptions, TableCounts, migrate_history, open_source
from mongo_layer.web.routes import element_file_url

from .checks import assert_history_migrated, migrate
from .conftest import ChainlitDatabase

WRITTEN = TableCounts(users=2, threads=4, steps=16, elements=4, feedback=4)


async def test_history_migrates_and_verifies(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await chainlit_database.write_history()

    report = await migrate(
        chainlit_database.url, layer, files_root=chainlit_database.files, verify=True
    )

    assert report.broken == []
    assert report.differences == []
    assert (report.found, report.migrated) == (WRITTEN, WRITTEN)
    assert (report.verified_threads, report.files_copied) == (4, 4)
    await assert_history_migrated(layer, history)


async def test_a_second_run_changes_nothing(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    await chainlit_database.write_history()
    await migrate(chainlit_database.url, layer, files_root=chainlit_database.files)
    documents = await layer.stores.threads.collection.find({}).to_list(None)

    again = await migrate(chainlit_database.url, layer, files_root=chainlit_database.files)

    assert (again.threads_unchanged, again.files_copied) == (4, 0)
    assert await layer.stores.threads.collection.find({}).to_list(None) == documents
    assert await layer.stores.files.files.count_documents({}) == 4


async def test_a_dry_run_counts_and_writes_nothing(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    await chainlit_database.write_history()

    report = await migrate(chainlit_database.url, None)

    assert report.dry_run
    assert (report.found, report.migrated) == (WRITTEN, TableCounts())
    assert await layer.stores.threads.collection.count_documents({}) == 0


async def test_linked_files_keep_their_url_and_nothing_is_fetched(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await chainlit_database.write_history()

    report = await migrate(chainlit_database.url, layer, files="link", verify=True)

    assert (report.files_copied, report.differences) == (0, [])
    assert await layer.stores.files.files.count_documents({}) == 0
    for thread_id in history.thread_ids:
        thread = await layer.get_thread(thread_id)
        assert thread is not None
        for element in thread["elements"] or []:
            assert element.get("objectKey")


async def test_broken_rows_are_reported_and_everything_else_migrates(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await chainlit_database.write_history()
    broken = await chainlit_database.add_broken_rows()
    gone = next(iter(history.files))
    for path in chainlit_database.files.rglob("*"):
        if path.is_file() and gone in path.parts:
            path.unlink()

    report = await migrate(
        chainlit_database.url, layer, files_root=chainlit_database.files, verify=True
    )

    problems = {(row.table, row.id): row.problem for row in report.broken}
    assert set(problems) == broken | {("elements", gone)}
    assert "could not be fetched" in problems[("elements", gone)]
    assert all("does not exist" in problems[row] for row in broken)
    assert report.differences == []
    assert (report.migrated.threads, report.files_copied) == (5, 3)
    for thread_id in history.thread_ids:
        thread = await layer.get_thread(thread_id)
        assert thread is not None
        assert len(thread["steps"]) == 4
        for element in thread["elements"] or []:
            if element["id"] != gone:
                assert element["url"] == element_file_url(layer.settings, thread_id, element["id"])


@pytest.mark.parametrize(
    ("url", "layer_name"),
    [
        ("sqlite:///chainlit.db", "sqlalchemy"),
        ("sqlite+aiosqlite:///chainlit.db", "sqlalchemy"),
        ("postgresql+asyncpg://db/chainlit", "sqlalchemy"),
        ("postgresql://db/chainlit", "chainlit"),
    ],
)
def test_the_url_names_the_layer_unless_told(url: str, layer_name: str) -> None:
    assert open_source(url).layer == layer_name


class Interrupted(Exception):
    pass


class InterruptAfter:
    """Progress that stops the migration once `threads` threads are through."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def start(self, table: str, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        if table == "threads":
            self.threads -= rows
            if self.threads <= 0:
                raise Interrupted


async def test_an_interrupted_migration_finishes_when_run_again(
    chainlit_database: ChainlitDatabase, layer: MongoDataLayer
) -> None:
    history = await chainlit_database.write_history()
    source = open_source(chainlit_database.url)
    options = MigrationOptions(files_root=chainlit_database.files, batch_size=1, concurrency=1)
    try:
        with pytest.raises(Interrupted):
            await migrate_history(source, layer, options, InterruptAfter(threads=2))
    finally:
        await source.close()
    assert await layer.stores.threads.collection.count_documents({}) == 2

    report = await migrate(
        chainlit_database.url, layer, files_root=chainlit_database.files, verify=True
    )

    assert (report.threads_unchanged, report.files_copied, report.differences) == (2, 2, [])
    await assert_history_migrated(layer, history)


async def test_threads_are_read_in_batches_bounded_by_what_their_steps_take(
    chainlit_database: ChainlitDatabase,
) -> None:
    await chainlit_database.write_history()
    source = open_source(chainlit_database.url)
    try:
        roomy = [len(batch) async for batch in source.threads(100)]
        tight = [len(batch) async for batch in source.threads(100, batch_bytes=1)]
        steps = [len(t["steps"] or []) async for b in source.threads(100, 1) for t in b]
    finally:
        await source.close()

    assert roomy == [WRITTEN.threads]
    assert tight == [1] * WRITTEN.threads
    assert sum(steps) == WRITTEN.steps
