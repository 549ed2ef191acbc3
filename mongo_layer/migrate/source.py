"""What a migration reads from: the database of one of Chainlit's SQL layers, read directly
and a batch at a time, never the whole database at once.

`Source` holds what both schemas share (batches by id, assembling a thread from its
rows, users); each schema's module gives its queries and how its step and element rows read.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from chainlit.data.base import BaseDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from chainlit.types import ThreadDict
from chainlit.user import PersistedUser

from .report import BrokenRow, TableCounts
from .rows import json_object, json_value, text_id, time_text

SourceLayer = Literal["chainlit", "sqlalchemy"]
Row = dict[str, Any]

# What the steps of one batch of threads may take in the source's columns.
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
# What a step row takes beyond its text and JSON columns (ids, names, times, a rating).
STEP_ROW_BYTES = 512

PROBLEMS = {
    "steps": "its thread {0} does not exist",
    "elements": "its thread {0} does not exist",
    "feedback": "the step it rates {0} does not exist",
    "threads": "its user {0} does not exist: migrated, but no one sees it in a sidebar",
}


class Source(ABC):
    layer: SourceLayer
    # The step field of the source layer's `get_thread` that holds the time Chainlit gave
    # as the step's `createdAt` (ChainlitDataLayer keeps it as `start`).
    step_time_field: str

    # What each schema answers.

    @abstractmethod
    async def users_after(self, after: str, limit: int) -> list[Row]:
        """Up to `limit` user rows with an id after `after`, by id."""

    @abstractmethod
    async def threads_after(self, after: str, limit: int) -> list[Row]:
        """Up to `limit` thread rows (to migrate) with an id after `after`, by id."""

    @abstractmethod
    async def steps_of(self, thread_ids: list[str]) -> list[Row]:
        """The step rows of these threads, each joined with its rating (`feedback_id`,
        `feedback_value`, `feedback_comment`), in creation order within a thread."""

    @abstractmethod
    async def elements_of(self, thread_ids: list[str]) -> list[Row]: ...

    @abstractmethod
    async def step_sizes_of(self, thread_ids: list[str]) -> list[Row]:
        """Per thread of these (`id`), how many steps it has (`steps`) and the bytes of
        their text and JSON columns (`bytes`), counted by the database."""

    @abstractmethod
    async def row_counts(self) -> Row:
        """users, threads, steps, elements and feedback (rated steps) a migration moves."""

    @abstractmethod
    async def broken_references(self) -> list[Row]:
        """`table`, `id` and `missing` (what it points to) of each row pointing nowhere."""

    @abstractmethod
    def step_of(self, row: Row) -> Any: ...

    @abstractmethod
    def element_of(self, row: Row) -> Any: ...

    @abstractmethod
    def chainlit_layer(self, storage_client: BaseStorageClient | None) -> BaseDataLayer:
        """Chainlit's own layer on this database, for `--verify`."""

    @abstractmethod
    async def close(self) -> None: ...

    # What a migration reads.

    async def counts(self) -> TableCounts:
        return TableCounts.model_validate(await self.row_counts())

    async def users(self, batch_size: int) -> AsyncIterator[list[PersistedUser]]:
        async for rows in batches(self.users_after, batch_size):
            yield [user_of(row) for row in rows]

    async def thread_ids(self, batch_size: int) -> AsyncIterator[list[str]]:
        async for rows in batches(self.threads_after, batch_size):
            yield [str(row["id"]) for row in rows]

    async def threads(
        self, batch_size: int, batch_bytes: int = DEFAULT_BATCH_BYTES
    ) -> AsyncIterator[list[ThreadDict]]:
        """Every thread with its steps (each with its rating) and elements, in batches of
        at most `batch_size` threads whose steps take about `batch_bytes` at most (a thread
        larger than that comes alone), so a long or heavy thread does not fill memory."""
        async for rows in batches(self.threads_after, batch_size):
            sizes = {
                str(size["id"]): int(size["bytes"] or 0) + STEP_ROW_BYTES * int(size["steps"])
                for size in await self.step_sizes_of([str(row["id"]) for row in rows])
            }
            for group in groups_by_bytes(rows, sizes, batch_bytes):
                yield await self.assembled(group)

    async def assembled(self, rows: list[Row]) -> list[ThreadDict]:
        """These threads with their steps and elements."""
        ids = [str(row["id"]) for row in rows]
        steps: dict[str, Any] = {}
        for row in await self.steps_of(ids):
            # A step rated twice comes once per rating; the last one is kept.
            steps[str(row["id"])] = self.step_of(row)
        steps_by_thread: dict[str, list[Any]] = {thread_id: [] for thread_id in ids}
        for step in steps.values():
            steps_by_thread[step["threadId"]].append(step)
        elements: dict[str, list[Any]] = {thread_id: [] for thread_id in ids}
        for row in await self.elements_of(ids):
            elements[str(row["threadId"])].append(self.element_of(row))
        return [
            thread_of(row, steps_by_thread[thread_id], elements[thread_id])
            for row, thread_id in zip(rows, ids, strict=True)
        ]

    async def broken_rows(self) -> list[BrokenRow]:
        """Rows that cannot be moved as they are: a step, element or rating whose thread or
        step is missing, a thread whose user is missing (moved, but reported)."""
        return [broken_row(**row) for row in await self.broken_references()]


async def batches(
    rows_after: Callable[[str, int], Awaitable[list[Row]]], batch_size: int
) -> AsyncIterator[list[Row]]:
    """Every row, `batch_size` at a time, each batch starting after the last id seen."""
    after = ""
    while rows := await rows_after(after, batch_size):
        after = str(rows[-1]["id"])
        yield rows


def groups_by_bytes(rows: list[Row], sizes: dict[str, int], batch_bytes: int) -> list[list[Row]]:
    """`rows` cut, in order, into groups whose `sizes` add up to `batch_bytes` at most (a
    row larger than that makes a group of its own)."""
    groups: list[list[Row]] = []
    group: list[Row] = []
    group_bytes = 0
    for row in rows:
        size = sizes.get(str(row["id"]), 0)
        if group and group_bytes + size > batch_bytes:
            groups.append(group)
            group, group_bytes = [], 0
        group.append(row)
        group_bytes += size
    if group:
        groups.append(group)
    return groups


def user_of(row: Row) -> PersistedUser:
    return PersistedUser(
        id=str(row["id"]),
        identifier=str(row["identifier"]),
        createdAt=time_text(row["createdAt"]) or "",
        metadata=json_object(row["metadata"]),
    )


def thread_of(row: Row, steps: list[Any], elements: list[Any]) -> ThreadDict:
    tags = json_value(row["tags"], [])
    return {
        "id": str(row["id"]),
        "createdAt": time_text(row["createdAt"]) or "",
        "name": row["name"],
        "userId": text_id(row["userId"]),
        "userIdentifier": None,
        "tags": [str(tag) for tag in tags] if isinstance(tags, list) else [],
        "metadata": json_object(row["metadata"]),
        "steps": steps,
        "elements": elements,
    }


def feedback_of(row: Row, step_id: str) -> dict[str, Any] | None:
    """The step's rating from the `feedback_*` columns of its row."""
    if row.get("feedback_id") is None:
        return None
    return {
        "id": str(row["feedback_id"]),
        "forId": step_id,
        "value": 1 if row.get("feedback_value") == 1 else 0,
        "comment": row.get("feedback_comment"),
    }


def broken_row(table: str, id: Any, missing: Any) -> BrokenRow:
    """A row of `table` that points to a `missing` row (None: to none at all)."""
    named = "(none)" if missing is None else repr(str(missing))
    return BrokenRow(table=table, id=str(id), problem=PROBLEMS[table].format(named))
