"""Restoring many threads at once (migration, import).

A thread that is not stored yet is complete and no one else writes it, so it is written as
the document it will be: its steps in the same stored form and split between the document
and overflow by the same rule as the live step write (`StepStore.stored_form`,
`whole_thread_document`), many threads per command, then its overflowed steps and its
ratings, many per command. A thread stored already (a second run, or one interrupted after
the thread document was written) goes through `restore_thread` (restoring.py), which writes
only what is missing or different.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import uuid4

from bson import ObjectId

from ..errors import MongoLayerError
from ..storage.connection import Document
from ..storage.documents import restored_element_document
from ..storage.feedback import feedback_document
from ..storage.files import FileBatch
from ..storage.stores import Stores
from ..storage.threads import bson_size, refuse_oversized_element, whole_thread_document
from .restore import (
    ElementBytes,
    RestorePlan,
    RestoreSummary,
    foreign_claim,
    plan_restore,
    stored_element_file,
)
from .restoring import restore_thread

if TYPE_CHECKING:
    from chainlit.types import ThreadDict

# A thread document larger than this goes through `restore_thread`, which names the thread
# in the error MongoDB's 16 MB limit then raises.
LARGEST_WHOLE_THREAD_BYTES = 16 * 1024 * 1024 - 16 * 1024

RestoreOutcome = RestoreSummary | MongoLayerError


@dataclass(frozen=True)
class ThreadToRestore:
    """A thread as another layer had it, and its last activity when known."""

    thread: "ThreadDict"
    updated_at: str | None = None


@dataclass
class WholeThread:
    """What writing one new thread whole stores."""

    document: Document
    overflowed: list[Document]
    ratings: list[Document]
    summary: RestoreSummary
    file_ids: list[ObjectId] = field(default_factory=list)


async def restore_threads(
    stores: Stores,
    threads: Sequence[ThreadToRestore],
    element_bytes: ElementBytes | None,
    concurrency: int,
) -> list[RestoreOutcome]:
    """Restore each thread, in the order given: what `restore_thread` would return for it,
    or the MongoLayerError that kept it from being restored (the others go on)."""
    outcomes: list[RestoreOutcome | None] = [None] * len(threads)
    plans: dict[int, RestorePlan] = {}
    max_name_length = stores.settings.max_thread_name_length
    for position, item in enumerate(threads):
        try:
            plans[position] = plan_restore(item.thread, max_name_length, item.updated_at)
        except MongoLayerError as error:
            outcomes[position] = error
    thread_ids = list({plan.thread_id for plan in plans.values()})
    stored = await stores.threads.stored_ids(thread_ids) if thread_ids else set()
    new: dict[int, RestorePlan] = {}
    for position, plan in plans.items():
        taken = {other.thread_id for other in new.values()}
        if plan.thread_id not in stored | taken and written_whole_as_given(plan):
            new[position] = plan
    await refuse_foreign_claims_of_new(stores, new, outcomes)
    files = FileBatch(stores.files)
    wholes, unused_files = await whole_threads(stores, new, element_bytes, files, outcomes)
    await files.close()
    await stores.files.delete_many(unused_files)
    collided = await write_whole(stores, wholes)
    for position, whole in wholes.items():
        if whole.summary.thread_id not in collided:
            outcomes[position] = whole.summary
    limit = asyncio.Semaphore(concurrency)

    async def restore_one(position: int) -> None:
        async with limit:
            item = threads[position]
            try:
                outcomes[position] = await stores.retrier.run(
                    "restore_thread",
                    lambda: restore_thread(stores, item.thread, element_bytes, item.updated_at),
                    f"thread {item.thread.get('id')!r}",
                )
            except MongoLayerError as error:
                outcomes[position] = error

    await asyncio.gather(
        *(restore_one(position) for position in plans if outcomes[position] is None)
    )
    return [outcome for outcome in outcomes if outcome is not None]


def written_whole_as_given(plan: RestorePlan) -> bool:
    """Whether each step and element id comes once: a thread repeating one is left to
    `restore_thread`, whose writes merge a repeated step as the live layer does."""
    step_ids = [step["id"] for step in plan.steps]
    element_ids = [element.document["id"] for element in plan.elements]
    return len(set(step_ids)) == len(step_ids) and len(set(element_ids)) == len(element_ids)


async def refuse_foreign_claims_of_new(
    stores: Stores, new: dict[int, RestorePlan], outcomes: list[RestoreOutcome | None]
) -> None:
    """The ownership decision of `restore_thread` (`foreign_claim`) for threads not stored
    yet, read for all of them at once; a refused thread leaves `new` with its error. The
    element ids of the others are then claimed, and a thread that lost a claim to a write
    in between is refused as well."""
    element_ids = [e.document["id"] for plan in new.values() for e in plan.elements]
    feedback_ids = [f.id for plan in new.values() for f in plan.feedback if f.id is not None]
    owners = await stores.element_owners.owners_of(element_ids)
    feedback_threads = await stores.feedback.threads_of(feedback_ids)
    for position, plan in list(new.items()):
        refusal = foreign_claim(plan, None, owners, feedback_threads)
        if refusal is not None:
            del new[position]
            outcomes[position] = refusal
    claims = {e.document["id"]: plan.thread_id for plan in new.values() for e in plan.elements}
    lost = await stores.element_owners.claim_many(claims)
    for position, plan in list(new.items()):
        refusal = foreign_claim(plan, None, lost, {})
        if refusal is not None:
            del new[position]
            outcomes[position] = refusal


async def whole_threads(
    stores: Stores,
    new: dict[int, RestorePlan],
    element_bytes: ElementBytes | None,
    files: FileBatch,
    outcomes: list[RestoreOutcome | None],
) -> tuple[dict[int, WholeThread], list[ObjectId]]:
    """The new threads as whole documents, by position, their files uploaded in `files`;
    a thread that cannot be written whole gets its error in `outcomes`, or is left to
    `restore_thread` (too large). Also returns the ids of the files of those threads."""
    wholes: dict[int, WholeThread] = {}
    unused: list[ObjectId] = []
    for position, plan in new.items():
        file_ids: list[ObjectId] = []
        try:
            whole = await whole_thread(stores, plan, element_bytes, files, file_ids)
        except MongoLayerError as error:
            outcomes[position] = error
            unused += file_ids
            continue
        if bson_size(whole.document) > LARGEST_WHOLE_THREAD_BYTES:
            unused += file_ids
            continue
        wholes[position] = whole
    return wholes, unused


async def whole_thread(
    stores: Stores,
    plan: RestorePlan,
    element_bytes: ElementBytes | None,
    files: FileBatch,
    file_ids: list[ObjectId],
) -> WholeThread:
    """The thread of `plan` as one document, its element files added to `files` (their ids
    to `file_ids`, also when this raises)."""
    thread_id = plan.thread_id
    summary = RestoreSummary(thread_id=thread_id, thread_written=True)
    steps = [
        (await stores.steps.stored_form(thread_id, step, stores.call_clock.stamp())).item
        for step in plan.steps
    ]
    ratings = [
        feedback_document(
            thread_id, given.step_id, given.value, given.comment, given.id or str(uuid4())
        )
        for given in plan.feedback
    ]
    elements: list[Document] = []
    for restored in plan.elements:
        file_id = await stored_element_file(files.add, restored, summary, element_bytes)
        if file_id is not None:
            file_ids.append(file_id)
        document = restored_element_document(restored.document, file_id)
        refuse_oversized_element(document, thread_id, stores.settings.max_element_bytes)
        elements.append(document)
    budget = stores.settings.thread_document_budget_bytes
    whole, overflowed = whole_thread_document(thread_id, plan.fields, steps, elements, budget)
    summary.steps_written = len(steps)
    summary.feedback_written = len(ratings)
    summary.elements_written = len(elements)
    return WholeThread(whole, overflowed, ratings, summary, file_ids)


async def write_whole(stores: Stores, wholes: dict[int, WholeThread]) -> set[str]:
    """Store the whole threads: their documents first, then their overflowed steps and
    ratings, so that an interruption leaves each thread either absent or stored (then
    completed by `restore_thread`). Returns the ids of threads found stored meanwhile,
    which were not written."""
    if not wholes:
        return set()
    collided = await stores.threads.insert_whole([w.document for w in wholes.values()])
    written = [w for w in wholes.values() if w.summary.thread_id not in collided]
    for whole in written:
        await stores.overflow.insert_steps(whole.summary.thread_id, whole.overflowed)
    await stores.feedback.insert_many([rating for w in written for rating in w.ratings])
    for whole in wholes.values():
        if whole.summary.thread_id in collided:
            await stores.files.delete_many(whole.file_ids)
    return collided
