"""ChainlitDataLayer's PostgreSQL database (Chainlit's `DATABASE_URL` layer), read with asyncpg.

Its `Step."startTime"` holds the `createdAt` Chainlit gave the step (the `createdAt` column
is the row's insert time); soft-deleted threads (`"deletedAt"` set) are left behind, as
ChainlitDataLayer never shows them again.
"""

from typing import Any

import asyncpg
from chainlit.data.base import BaseDataLayer
from chainlit.data.chainlit_data_layer import ChainlitDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient

from .rows import json_object, json_value, show_input, text_id, time_text
from .source import Row, Source, SourceLayer, feedback_of

LIVE_THREAD = '"deletedAt" IS NULL'
THREADS_AFTER = f"""
    SELECT id, "createdAt", name, "userId", tags, metadata FROM "Thread"
    WHERE {LIVE_THREAD} AND id > $1 ORDER BY id LIMIT $2
"""
USERS_AFTER = 'SELECT * FROM "User" WHERE id > $1 ORDER BY id LIMIT $2'
# One rating per step: the latest, as a step shows one.
STEPS_OF_THREADS = """
    SELECT s.*, f.id AS feedback_id, f.value AS feedback_value, f.comment AS feedback_comment
    FROM "Step" s
    LEFT JOIN LATERAL (
        SELECT id, value, comment FROM "Feedback" WHERE "stepId" = s.id
        ORDER BY "updatedAt" DESC, id LIMIT 1
    ) f ON true
    WHERE s."threadId" = ANY($1::text[])
    ORDER BY s."threadId", s."startTime", s."createdAt", s.id
"""
STEP_SIZES_OF_THREADS = """
    SELECT "threadId" AS id, count(*) AS steps,
      sum(coalesce(octet_length(input), 0) + coalesce(octet_length(output), 0)
        + coalesce(octet_length(metadata::text), 0)) AS bytes
    FROM "Step" WHERE "threadId" = ANY($1::text[]) GROUP BY "threadId"
"""
ELEMENTS_OF_THREADS = """
    SELECT * FROM "Element" WHERE "threadId" = ANY($1::text[]) ORDER BY "createdAt", id
"""
LIVE_THREAD_OF = 'EXISTS (SELECT 1 FROM "Thread" t WHERE t.id = {0} AND t."deletedAt" IS NULL)'
COUNTS = f"""
    SELECT
      (SELECT count(*) FROM "User") AS users,
      (SELECT count(*) FROM "Thread" WHERE {LIVE_THREAD}) AS threads,
      (SELECT count(*) FROM "Step" s WHERE {LIVE_THREAD_OF.format('s."threadId"')}) AS steps,
      (SELECT count(*) FROM "Element" e WHERE {LIVE_THREAD_OF.format('e."threadId"')})
        AS elements,
      (SELECT count(DISTINCT f."stepId") FROM "Feedback" f JOIN "Step" s ON s.id = f."stepId"
        WHERE {LIVE_THREAD_OF.format('s."threadId"')}) AS feedback
"""
BROKEN_ROWS = """
    SELECT 'steps' AS "table", id, "threadId" AS missing FROM "Step" s
      WHERE NOT EXISTS (SELECT 1 FROM "Thread" t WHERE t.id = s."threadId")
    UNION ALL SELECT 'elements', id, "threadId" FROM "Element" e
      WHERE NOT EXISTS (SELECT 1 FROM "Thread" t WHERE t.id = e."threadId")
    UNION ALL SELECT 'feedback', id, "stepId" FROM "Feedback" f
      WHERE NOT EXISTS (SELECT 1 FROM "Step" s WHERE s.id = f."stepId")
    UNION ALL SELECT 'threads', id, "userId" FROM "Thread" t
      WHERE "deletedAt" IS NULL AND NOT EXISTS (SELECT 1 FROM "User" u WHERE u.id = t."userId")
    ORDER BY 1, 2
"""


class ChainlitPostgresSource(Source):
    layer: SourceLayer = "chainlit"
    step_time_field = "start"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None

    async def fetch(self, query: str, *arguments: Any) -> list[Row]:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4)
        async with self._pool.acquire() as connection:
            return [dict(row) for row in await connection.fetch(query, *arguments)]

    async def users_after(self, after: str, limit: int) -> list[Row]:
        return await self.fetch(USERS_AFTER, after, limit)

    async def threads_after(self, after: str, limit: int) -> list[Row]:
        return await self.fetch(THREADS_AFTER, after, limit)

    async def steps_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(STEPS_OF_THREADS, thread_ids)

    async def elements_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(ELEMENTS_OF_THREADS, thread_ids)

    async def step_sizes_of(self, thread_ids: list[str]) -> list[Row]:
        return await self.fetch(STEP_SIZES_OF_THREADS, thread_ids)

    async def row_counts(self) -> Row:
        (row,) = await self.fetch(COUNTS)
        return row

    async def broken_references(self) -> list[Row]:
        return await self.fetch(BROKEN_ROWS)

    def step_of(self, row: Row) -> Any:
        step_id = str(row["id"])
        return {
            "id": step_id,
            "threadId": str(row["threadId"]),
            "parentId": text_id(row["parentId"]),
            "name": row["name"],
            "type": row["type"],
            "input": row["input"],
            "output": row["output"],
            "metadata": json_object(row["metadata"]),
            "showInput": show_input(row["showInput"]),
            "isError": row["isError"],
            "createdAt": time_text(row["startTime"]),
            "start": time_text(row["startTime"]),
            "end": time_text(row["endTime"]),
            "feedback": feedback_of(row, step_id),
        }

    def element_of(self, row: Row) -> Any:
        metadata = json_object(row["metadata"])
        return {
            "id": str(row["id"]),
            "threadId": str(row["threadId"]),
            "type": metadata.get("type") or "file",
            "name": row["name"],
            "mime": row["mime"],
            "url": row["url"],
            "objectKey": row["objectKey"],
            "chainlitKey": row["chainlitKey"],
            "forId": text_id(row["stepId"]),
            "display": row["display"] or metadata.get("display"),
            "size": row["size"] or metadata.get("size"),
            "language": row["language"] or metadata.get("language"),
            "page": row["page"] if row["page"] is not None else metadata.get("page"),
            "props": json_value(row["props"], {}),
        }

    def chainlit_layer(self, storage_client: BaseStorageClient | None) -> BaseDataLayer:
        return ChainlitDataLayer(self.dsn, storage_client=storage_client)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
