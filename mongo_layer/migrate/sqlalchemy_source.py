"""SQLAlchemyDataLayer's database (Chainlit's documented schema: `users`, `threads`,
`steps`, `elements`, `feedbacks`), read through SQLAlchemy's async engine: SQLite with
aiosqlite, or PostgreSQL.

SQLite keeps JSON columns as text and enforces no foreign key, so a step can name a
thread that does not exist; such rows are reported, not moved.
"""

from typing import Any

from chainlit.data.base import BaseDataLayer
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .rows import flag, json_object, json_value, show_input, text_id, time_text
from .source import Row, Source, SourceLayer, feedback_of

# Ids are compared as text: the documented schema makes them UUIDs on PostgreSQL.
USERS_AFTER = text(
    "SELECT * FROM users WHERE CAST(id AS TEXT) > :after ORDER BY CAST(id AS TEXT) LIMIT :limit"
)
THREADS_AFTER = text(
    'SELECT id, "createdAt", name, "userId", tags, metadata FROM threads'
    " WHERE CAST(id AS TEXT) > :after ORDER BY CAST(id AS TEXT) LIMIT :limit"
)
STEPS_OF_THREADS = text(
    "SELECT s.*, f.id AS feedback_id, f.value AS feedback_value, f.comment AS feedback_comment"
    ' FROM steps s LEFT JOIN feedbacks f ON f."forId" = s.id'
    ' WHERE CAST(s."threadId" AS TEXT) IN :ids ORDER BY s."threadId", s."createdAt", s.id'
).bindparams(bindparam("ids", expanding=True))
STEP_SIZES_OF_THREADS = text(
    'SELECT CAST("threadId" AS TEXT) AS id, count(*) AS steps, sum('
    + " + ".join(
        f"coalesce(length(CAST({column} AS TEXT)), 0)"
        for column in ("input", "output", "metadata", "generation")
    )
    + ') AS bytes FROM steps WHERE CAST("threadId" AS TEXT) IN :ids'
    ' GROUP BY CAST("threadId" AS TEXT)'
).bindparams(bindparam("ids", expanding=True))
ELEMENTS_OF_THREADS = text(
    'SELECT * FROM elements WHERE CAST("threadId" AS TEXT) IN :ids ORDER BY id'
).bindparams(bindparam("ids", expanding=True))
HAS_THREAD = 'EXISTS (SELECT 1 FROM threads t WHERE t.id = {0}."threadId")'
COUNTS = text(
    f"""SELECT
      (SELECT count(*) FROM users) AS users,
      (SELECT count(*) FROM threads) AS threads,
      (SELECT count(*) FROM steps s WHERE {HAS_THREAD.format("s")}) AS steps,
      (SELECT count(*) FROM elements e WHERE {HAS_THREAD.format("e")}) AS elements,
      (SELECT count(DISTINCT f."forId") FROM feedbacks f JOIN steps s ON s.id = f."forId"
        WHERE {HAS_THREAD.format("s")}) AS feedback"""
)
BROKEN_ROWS = text(
    f"""SELECT 'steps' AS "table", id, "threadId" AS missing FROM steps s
        WHERE NOT {HAS_THREAD.format("s")}
    UNION ALL SELECT 'elements', id, "threadId" FROM elements e
        WHERE NOT {HAS_THREAD.format("e")}
    UNION ALL SELECT 'feedback', id, "forId" FROM feedbacks f
        WHERE NOT EXISTS (SELECT 1 FROM steps s WHERE s.id = f."forId")
    UNION ALL SELECT 'threads', id, "userId" FROM threads t
        WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t."userId")
    ORDER BY 1, 2"""
)


class SQLAlchemySource(Source):
    layer: SourceLayer = "sqlalchemy"
    step_time_field = "createdAt"

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)

    async def fetch(self, query: Any, **parameters: Any) -> list[Row]:
        async with self.engine.connect() as connection:
            result = await connection.execute(query, parameters)
            return [dict(row._mapping) for row in result]

    async def users_after(self, after: str, limit: int) -> list[Row]:
        return await self.fetch(USERS_AFTER, after=after, limit=limit)

    async def threads_after(self, after: str, limit: int) -> list[Row]:
        return await self.fetch(THREADS_AFTER, after=after, limit=limit)

    async def steps_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(STEPS_OF_THREADS, ids=thread_ids)

    async def elements_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(ELEMENTS_OF_THREADS, ids=thread_ids)

    async def step_sizes_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(STEP_SIZES_OF_THREADS, ids=thread_ids)

    async def row_counts(self) -> Row:
        (row,) = await self.fetch(COUNTS)
        return row

    async def broken_references(self) -> list[Row]:
        return await self.fetch(BROKEN_ROWS)

    def step_of(self, row: Row) -> Any:
        return step_of(row)

    def element_of(self, row: Row) -> Any:
        """The row as the schema names its columns (`forId` is the step)."""
        element = {column: row[column] for column in ELEMENT_COLUMNS}
        return element | {
            "id": str(row["id"]),
            "threadId": str(row["threadId"]),
            "forId": text_id(row["forId"]),
            "props": json_value(row["props"], {}),
        }

    def chainlit_layer(self, storage_client: BaseStorageClient | None) -> BaseDataLayer:
        return SQLAlchemyDataLayer(self.url, storage_provider=storage_client)

    async def close(self) -> None:
        await self.engine.dispose()


ELEMENT_COLUMNS = (
    "type",
    "name",
    "mime",
    "url",
    "objectKey",
    "chainlitKey",
    "display",
    "size",
    "language",
    "page",
)


def step_of(row: Row) -> Any:
    step_id = str(row["id"])
    step = {
        "id": step_id,
        "threadId": str(row["threadId"]),
        "parentId": text_id(row["parentId"]),
        "name": row["name"],
        "type": row["type"],
        "input": row["input"],
        "output": row["output"],
        "metadata": json_object(row["metadata"]),
        "generation": json_value(row["generation"]) or None,
        "tags": json_value(row["tags"]),
        "streaming": flag(row["streaming"]),
        "waitForAnswer": flag(row["waitForAnswer"]),
        "isError": flag(row["isError"]),
        "showInput": show_input(row["showInput"]),
        "language": row["language"],
        "createdAt": time_text(row["createdAt"]),
        "start": time_text(row["start"]),
        "end": time_text(row["end"]),
        "feedback": feedback_of(row, step_id),
    }
    # Columns added to the documented schema by later Chainlit versions.
    if row.get("command") is not None:
        step["command"] = row["command"]
    if row.get("modes") is not None:
        step["modes"] = json_value(row["modes"])
    for optional_flag in ("defaultOpen", "autoCollapse"):
        if row.get(optional_flag) is not None:
            step[optional_flag] = flag(row[optional_flag])
    return step
