"""Step fields too large to embed (a long input, output or generation) live in GridFS.

The step keeps a short preview of a moved text (so the sidebar search still sees its
start) and the GridFS id under `<field>FileId`; reading a thread puts the full value back.
"""

from collections.abc import Mapping
from typing import Any

import bson

from .connection import Document

OFFLOADABLE_FIELDS = ("input", "output", "generation")
FILE_ID_FIELDS = tuple(f"{field}FileId" for field in OFFLOADABLE_FIELDS)
PREVIEW_CHARACTERS = 1000


def file_id_field(field: str) -> str:
    return f"{field}FileId"


def encoded_field(value: Any) -> bytes:
    """A field's value as stored in GridFS: text as UTF-8, anything else as BSON."""
    if isinstance(value, str):
        return value.encode()
    return bson.encode({"value": value})


def decoded_field(field: str, data: bytes) -> Any:
    if field == "generation":
        return bson.decode(data)["value"]
    return data.decode()


def oversized_fields(step: Mapping[str, Any], limit: int) -> dict[str, bytes]:
    """The offloadable fields of a step whose stored form exceeds `limit` bytes."""
    oversized: dict[str, bytes] = {}
    for field in OFFLOADABLE_FIELDS:
        value = step.get(field)
        if value is None or value == "":
            continue
        if isinstance(value, str) and len(value) * 4 <= limit:
            continue
        encoded = encoded_field(value)
        if len(encoded) > limit:
            oversized[field] = encoded
    return oversized


def with_offloaded_fields(step: Document, file_ids: Mapping[str, Any]) -> Document:
    """The step as embedded: each moved field replaced by its preview and its file id (the
    step itself when none moved)."""
    if not file_ids:
        return step
    embedded = dict(step)
    for field, file_id in file_ids.items():
        value = step[field]
        embedded[field] = value[:PREVIEW_CHARACTERS] if isinstance(value, str) else None
        embedded[file_id_field(field)] = file_id
    return embedded


def offload_changes(step: Mapping[str, Any], file_ids: Mapping[str, Any]) -> Document:
    """What a write must set beyond its non-empty fields: for a moved field its preview and
    file id, and for a field written in full a cleared file id (so an older, moved value
    does not shadow it)."""
    changes: Document = {}
    for field in OFFLOADABLE_FIELDS:
        if field in file_ids:
            changes[field] = step[field]
            changes[file_id_field(field)] = file_ids[field]
        elif step.get(field) not in (None, "", {}, []):
            changes[file_id_field(field)] = None
    return changes


def file_ids_of_step(step: Mapping[str, Any]) -> list[Any]:
    return [step[field] for field in FILE_ID_FIELDS if step.get(field) is not None]


def restore_fields(step: Document, contents: Mapping[Any, bytes]) -> Document:
    """The step with every moved field read back from `contents` (GridFS bytes by id)."""
    restored = dict(step)
    for field in OFFLOADABLE_FIELDS:
        file_id = restored.pop(file_id_field(field), None)
        if file_id is not None and file_id in contents:
            restored[field] = decoded_field(field, contents[file_id])
    return restored


async def read_contents(chunks_collection: Any, file_ids: list[Any]) -> dict[Any, bytes]:
    """The bytes of several GridFS files in one query on the chunks collection."""
    if not file_ids:
        return {}
    parts: dict[Any, list[bytes]] = {file_id: [] for file_id in file_ids}
    cursor = chunks_collection.find({"files_id": {"$in": file_ids}}).sort(
        [("files_id", 1), ("n", 1)]
    )
    async for chunk in cursor:
        parts[chunk["files_id"]].append(bytes(chunk["data"]))
    return {file_id: b"".join(data) for file_id, data in parts.items()}
