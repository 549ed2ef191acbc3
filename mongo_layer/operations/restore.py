"""Restoring history written by another layer: what `MongoDataLayer.restore_thread` reports
and the thread fields it sets, with the thread's own times kept."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chainlit.types import ThreadDict
from pydantic import BaseModel, Field

from ..ids import as_optional_id
from ..storage.connection import Document
from ..storage.documents import parse_metadata, same_value
from ..storage.keys import escape_keys
from ..times import parse_time, utc_now


class RestoreSummary(BaseModel):
    """What one `restore_thread` call wrote. On a thread restored before, every count is
    zero but `steps_unchanged`: nothing was written again."""

    thread_id: str
    thread_written: bool = Field(False, description="the thread's own fields were written")
    steps_written: int = 0
    steps_unchanged: int = 0
    feedback_written: int = 0
    elements_written: int = 0
    files_stored: int = 0
    elements_without_file: list[str] = Field(
        default_factory=list,
        description="ids of elements kept with their url only: no bytes were given for them",
    )

    @property
    def changed(self) -> bool:
        return bool(
            self.thread_written
            or self.steps_written
            or self.feedback_written
            or self.elements_written
        )


def restored_thread_fields(
    thread: ThreadDict, max_name_length: int, updated_at: str | None
) -> Document:
    """The thread's own fields as stored: name (cut like `update_thread` cuts it), user,
    tags, metadata, `createdAt` as given and `updatedAt` (given, else its last activity)."""
    thread_id = thread["id"]
    created_at = parse_time(thread.get("createdAt"), f"createdAt of thread {thread_id!r}")
    step_times = [step_time(step, thread_id) for step in thread.get("steps") or []]
    known_times = [time for time in [created_at, *step_times] if time is not None]
    fields: Document = {
        "createdAt": created_at or (min(known_times) if known_times else utc_now()),
        "updatedAt": parse_time(updated_at, f"updatedAt of thread {thread_id!r}")
        or (max(known_times) if known_times else utc_now()),
        "metadata": escape_keys(parse_metadata(thread.get("metadata") or {}, thread_id)),
    }
    name = thread.get("name")
    if name is not None:
        fields["name"] = str(name)[:max_name_length]
    user_id = as_optional_id(thread.get("userId"), f"userId of thread {thread_id!r}")
    if user_id is not None:
        fields["userId"] = user_id
    tags = thread.get("tags")
    if tags is not None:
        fields["tags"] = [str(tag) for tag in tags]
    return fields


def fields_are_stored(stored: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Whether the stored thread already holds every one of `fields` as given."""
    return all(same_value(stored.get(field), value) for field, value in fields.items())


def step_time(step: Mapping[str, Any], thread_id: str) -> datetime | None:
    return parse_time(
        step.get("createdAt"), f"createdAt of step {step.get('id')!r} of {thread_id!r}"
    )
