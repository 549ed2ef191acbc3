"""Where a step is stored: embedded in its thread, in overflow, and its large fields in GridFS.

A thread's steps are embedded in the thread document until it reaches its size budget;
later steps go to the overflow collection. Input, output or generation values too large to
embed go to GridFS. Callers see one list of steps per thread, whatever the split.
"""

import asyncio
import logging
from collections import Counter, OrderedDict
from datetime import datetime
from typing import Any, NamedTuple

import bson
from bson.errors import InvalidDocument
from bson.raw_bson import RawBSONDocument

from ..errors import InvalidInputError, ThreadTooLargeError
from ..settings import MongoLayerSettings
from .call_order import stamp_time
from .connection import Document
from .documents import SCHEMA_VERSION, non_empty_fields, step_sort_key, storable_step
from .files import STEP_FIELD_FILE, FileStore
from .large_fields import (
    file_ids_of_step,
    offload_changes,
    oversized_fields,
    read_contents,
    restore_fields,
    with_offloaded_fields,
)
from .overflow import OverflowStore
from .step_versions import (
    fields_dropped_by_removal,
    fits_update_operators,
    is_removed,
    merged_step,
    new_step,
    newer_than_stored,
    removed_step,
    taken_changes,
    tombstone,
)
from .threads import SIZE, ThreadStore, stored_size, without_elements_of_step

logger = logging.getLogger("mongo_layer")

# What BSON raises for a value it cannot encode: text with a lone surrogate, an integer past
# 64 bits, NUL in a key (or an object of no BSON type, which no repair can store).
UNENCODABLE = (UnicodeEncodeError, OverflowError, InvalidDocument)

# How many full threads a layer remembers the embedded steps of (see `StepStore.write`).
REMEMBERED_FULL_THREADS = 1024

# Any single step document stays far below MongoDB's 16 MB limit, so merging it into a
# thread document that is under its budget can never push that document over the limit.
MAX_STEP_BYTES = 4 * 1024 * 1024


class StoredStep(NamedTuple):
    """A step as a write first stores it (`StepStore.stored_form`)."""

    item: Document
    """The step with its large fields moved out and each field it sets stamped."""
    changes: Document
    """What the write changes in a step already stored."""
    encoded: RawBSONDocument
    """`item` encoded once: its size (`stored_size`) and the command that appends it share
    the encoding."""


class StepStore:
    def __init__(
        self,
        threads: ThreadStore,
        overflow: OverflowStore,
        files: FileStore,
        settings: MongoLayerSettings,
    ) -> None:
        self.threads = threads
        self.overflow = overflow
        self.files = files
        self.settings = settings
        self._embedded_in_full_thread: OrderedDict[str, frozenset[str]] = OrderedDict()
        # How many step writes took each way to the server (the bench reports them).
        self.write_paths: Counter[str] = Counter()

    async def write(
        self, thread_id: str, step: Document, stamp: int, stored_before: bool = False
    ) -> None:
        """One idempotent upsert of the step, as called at `stamp` (see `step_versions.py`):
        one command for a thread under its budget. `stored_before` (a write of the step was
        called earlier) says which command to try first; it is a guess, never trusted."""
        stored = await self.stored_form(thread_id, step, stamp)
        await self.write_stored(thread_id, stored, stamp, stored_before)

    async def write_stored(
        self, thread_id: str, stored: StoredStep, stamp: int, stored_before: bool
    ) -> None:
        """`write` of a step already in its `stored_form` (its large fields uploaded): what
        a write repeats through a failover, so that it uploads them once."""
        activity_at = stamp_time(stamp)
        if await self._write_with_operators(thread_id, stored, stamp, activity_at, stored_before):
            return
        await self._upsert(
            thread_id,
            stored.item,
            merged_step("$$item", stored.changes, stamp),
            activity_at=activity_at,
        )

    async def stored_form(self, thread_id: str, step: Document, stamp: int) -> StoredStep:
        """The step as a write called at `stamp` first stores it (its large fields moved to
        GridFS, each field stamped) and the changes that write makes to a stored step. The
        live write and the bulk restore both store steps in this form.

        A step holding what BSON cannot encode (text with a lone surrogate, an integer past
        64 bits, NUL in a key) is stored without it, with a warning naming it: Chainlit
        never awaits a step write, so raising would lose the whole message. Raises
        InvalidInputError naming the step when what is left still cannot be encoded."""
        try:
            return await self._stored_form(thread_id, step, stamp)
        except UNENCODABLE as error:
            storable, left_out = storable_step(step)
            logger.warning(
                "step %r of thread %r holds what MongoDB cannot store (%s): stored without"
                " it (lone surrogates dropped from its text, %d other values left out)",
                step["id"],
                thread_id,
                error,
                left_out,
            )
        try:
            return await self._stored_form(thread_id, storable, stamp)
        except UNENCODABLE as error:
            raise InvalidInputError(
                f"step {step['id']!r} of thread {thread_id!r} cannot be stored: {error}"
            ) from error

    async def _stored_form(self, thread_id: str, step: Document, stamp: int) -> StoredStep:
        # Measuring the oversized fields encodes them, so text BSON cannot hold fails here,
        # before anything is uploaded.
        oversized = oversized_fields(step, self.settings.large_field_bytes)
        file_ids = await self._offload(thread_id, step["id"], oversized) if oversized else {}
        embedded = with_offloaded_fields(step, file_ids)
        changes = non_empty_fields(embedded) | offload_changes(embedded, file_ids)
        item = new_step(embedded, changes, stamp)
        try:
            stored = StoredStep(item, changes, RawBSONDocument(bson.encode(item)))
        except UNENCODABLE:
            await self.files.delete_many(list(file_ids.values()))
            raise
        size = stored_size(stored.encoded)
        if size > MAX_STEP_BYTES:
            await self.files.delete_many(list(file_ids.values()))
            raise ThreadTooLargeError(
                f"step {step['id']!r} of thread {thread_id!r} is {size} bytes once its input,"
                f" output and generation are moved out; a step may take {MAX_STEP_BYTES} bytes"
            )
        return stored

    async def _write_with_operators(
        self,
        thread_id: str,
        stored: StoredStep,
        stamp: int,
        activity_at: datetime,
        stored_before: bool,
    ) -> bool:
        """The usual landing order in one command of update operators: a new step appended
        to its thread, or a stored one updated by a write newer than all it holds. False,
        with nothing written, when the write needs the merge pipeline or the overflow."""
        step_id = stored.item["id"]
        changes = stored.changes
        if not self._is_embedded_in_full_thread(thread_id, step_id):
            self.write_paths["overflow"] += 1
            return False
        if not fits_update_operators(changes):
            written = False
        elif stored_before:
            written = await self.threads.update_embedded_step(
                thread_id,
                step_id,
                newer_than_stored(step_id, changes, stamp),
                taken_changes("steps.$", changes, stamp)
                | {"$inc": {SIZE: stored_size(stored.encoded)}, "$max": {"updatedAt": activity_at}},
            )
        else:
            budget = self.settings.thread_document_budget_bytes
            written = await self.threads.append_step(
                thread_id, step_id, stored.encoded, budget, activity_at
            )
        path = "updated" if stored_before else "appended"
        self.write_paths[path if written else f"{path}, then merged"] += 1
        return written

    async def _upsert(
        self,
        thread_id: str,
        step: Document,
        merged: Document,
        activity_at: datetime | None,
        also: Document | None = None,
        previous: bool = False,
    ) -> Document | None:
        """Store `step` where its thread keeps it, or replace the stored one by `merged` (an
        expression on it as `$$item`). With `previous`, an overflowed step comes back as it
        was."""
        if self._is_embedded_in_full_thread(thread_id, step["id"]):
            budget = self.settings.thread_document_budget_bytes
            if await self.threads.upsert_step(thread_id, step, merged, budget, activity_at, also):
                return None
            await self._remember_full_thread(thread_id)
        # A step of a full thread lives in its own document, so its thread's last activity
        # takes a second command; the two go out together.
        stored = self.overflow.upsert_step(thread_id, step, merged, previous)
        if activity_at is None:
            return await stored
        was, _ = await asyncio.gather(stored, self.threads.record_activity(thread_id, activity_at))
        return was

    def _is_embedded_in_full_thread(self, thread_id: str, step_id: str) -> bool:
        """False only for a step known to live in overflow: once a thread is full, no step
        is ever added to its document again, so the steps embedded then are all it holds.
        Knowing that spares each later write a round trip to a document at its budget."""
        embedded = self._embedded_in_full_thread.get(thread_id)
        return embedded is None or step_id in embedded

    async def _remember_full_thread(self, thread_id: str) -> None:
        embedded = await self.threads.embedded_step_ids(thread_id)
        self._embedded_in_full_thread[thread_id] = frozenset(embedded)
        while len(self._embedded_in_full_thread) > REMEMBERED_FULL_THREADS:
            self._embedded_in_full_thread.popitem(last=False)

    def forget_thread(self, thread_id: str) -> None:
        self._embedded_in_full_thread.pop(thread_id, None)

    async def _offload(
        self, thread_id: str, step_id: str, oversized: dict[str, bytes]
    ) -> dict[str, Any]:
        """Upload the step's oversized fields to GridFS; returns their file ids by field."""
        file_ids: dict[str, Any] = {}
        for field, data in oversized.items():
            metadata = {
                "kind": STEP_FIELD_FILE,
                "schemaVersion": SCHEMA_VERSION,
                "threadId": thread_id,
                "stepId": step_id,
                "field": field,
            }
            file_ids[field] = await self.files.upload(data, f"{step_id}.{field}", metadata)
        return file_ids

    async def of_thread(self, thread: Document) -> list[Document]:
        """All steps of a thread document (and its overflow), in creation order, with their
        large fields read back."""
        steps = [step for step in thread.get("steps") or [] if not is_removed(step)]
        if thread.get("overflow"):
            steps += await self.overflow.steps_of_thread(thread["_id"])
        return sorted(await self.restored(steps), key=step_sort_key)

    async def restored(self, steps: list[Document]) -> list[Document]:
        file_ids = [file_id for step in steps for file_id in file_ids_of_step(step)]
        contents = await read_contents(self.files.chunks, file_ids) if file_ids else {}
        return [restore_fields(step, contents) for step in steps]

    async def remove(
        self, thread_id: str, step_id: str, stamp: int, write_in_flight: bool
    ) -> tuple[list[Document], list[Any]]:
        """Delete the step of this thread as called at `stamp`. With `write_in_flight` (a
        write of it called earlier may land later), a step not stored yet is stored deleted,
        so that write changes nothing. Returns the elements attached to the step that were
        removed and the GridFS ids of the large fields the deletion dropped."""
        removed = removed_step("$$item", stamp)
        if self._is_embedded_in_full_thread(thread_id, step_id):
            found = await self.threads.remove_embedded_step(thread_id, step_id, removed)
            if found is not None:
                attached = [e for e in found.get("elements") or [] if e.get("forId") == step_id]
                before = (found.get("steps") or [{}])[0]
                return attached, file_ids_of_step(fields_dropped_by_removal(before, stamp))
        if write_in_flight:
            also = {"elements": without_elements_of_step(step_id)}
            previous = await self._upsert(
                thread_id, tombstone(step_id, stamp), removed, None, also, previous=True
            )
        else:
            previous = await self.overflow.delete_step(thread_id, step_id)
        return [], file_ids_of_step(fields_dropped_by_removal(previous or {}, stamp))

    async def threads_holding(self, step_id: str) -> list[Document]:
        """Every thread holding the step, embedded or overflowed, as `{_id, author}`."""
        overflowed = self.overflow.threads_holding_step_union(step_id)
        return await self.threads.threads_holding_step(step_id, overflowed)

    async def favorites(self, user_id: str) -> list[Document]:
        """The user's favorite steps as `{"_id": thread id, "step": ...}`, newest first."""
        overflowed = self.overflow.favorite_steps_union(user_id)
        found = await self.threads.favorite_steps(user_id, overflowed)
        restored = await self.restored([document["step"] for document in found])
        return [
            {"_id": document["_id"], "step": step}
            for document, step in zip(found, restored, strict=True)
        ]
