"""Restoring history written by another layer: what `Operations.restore_thread` reports,
the thread converted to what is stored before anything is written (`RestorePlan`), the
ownership decision taken before the first write (`refuse_foreign_claims`), and the thread
fields it sets, with the thread's own times kept."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from chainlit.types import ThreadDict
from pydantic import BaseModel, Field

from ..errors import RestoreRefusedError
from ..ids import as_id, as_optional_id
from ..storage.connection import Document
from ..storage.documents import (
    FeedbackValue,
    element_to_document,
    parse_metadata,
    same_value,
    step_to_document,
    stored_feedback_value,
)
from ..storage.element_owners import ElementOwnerStore
from ..storage.feedback import FeedbackStore
from ..storage.files import ElementFile, Readable, Upload
from ..storage.keys import escape_keys
from ..times import parse_time, utc_now

if TYPE_CHECKING:
    from chainlit.element import ElementDict

# Fetches the bytes of an element being restored (whole, or to be read in pieces); None
# when they cannot be had.
ElementBytes = Callable[["ElementDict"], Awaitable[bytes | Readable | None]]


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


@dataclass(frozen=True)
class RestoredFeedback:
    step_id: str
    id: str | None
    value: FeedbackValue
    comment: str | None

    def as_given(self) -> dict[str, Any]:
        return {"id": self.id, "value": self.value, "comment": self.comment}


@dataclass(frozen=True)
class RestoredElement:
    element: "ElementDict"
    document: Document
    """As stored, without its file (`restored_element_document` adds that)."""


@dataclass(frozen=True)
class RestorePlan:
    """A thread to restore, converted to what is stored, so that a value that cannot be
    stored refuses the thread before any of it is written."""

    thread_id: str
    fields: Document
    steps: list[Document]
    feedback: list[RestoredFeedback]
    elements: list[RestoredElement]

    @property
    def owner_id(self) -> str | None:
        owner: str | None = self.fields.get("userId")
        return owner


def plan_restore(thread: ThreadDict, max_name_length: int, updated_at: str | None) -> RestorePlan:
    """The thread as it will be stored. Raises InvalidInputError or InvalidIdError, naming
    the thread and the step or element, for anything that cannot be stored."""
    thread_id = as_id(thread.get("id"), "thread id")
    thread = {**thread, "id": thread_id}
    steps = [step_to_document(step) for step in thread.get("steps") or []]
    feedback = [
        restored_feedback(document["id"], given)
        for document, step in zip(steps, thread.get("steps") or [], strict=True)
        if (given := step.get("feedback"))
    ]
    elements = []
    for element in thread.get("elements") or []:
        element_id = as_id(element.get("id"), f"element of thread {thread_id!r}")
        elements.append(RestoredElement(element, element_to_document(element, element_id)))
    return RestorePlan(
        thread_id,
        restored_thread_fields(thread, max_name_length, updated_at),
        steps,
        feedback,
        elements,
    )


def restored_feedback(step_id: str, given: Mapping[str, Any]) -> RestoredFeedback:
    comment = given.get("comment")
    return RestoredFeedback(
        step_id,
        as_optional_id(given.get("id"), f"feedback on step {step_id!r}"),
        stored_feedback_value(given.get("value"), step_id),
        None if comment is None else str(comment),
    )


async def refuse_foreign_claims(
    plan: RestorePlan,
    stored: Mapping[str, Any] | None,
    element_owners: ElementOwnerStore,
    feedback: FeedbackStore,
) -> None:
    """Raise RestoreRefusedError when restoring `plan` over the `stored` thread (None when
    there is none) would change what is not its owner's (see `foreign_claim`). Reads only;
    called before the first write."""
    element_ids = [element.document["id"] for element in plan.elements]
    feedback_ids = [given.id for given in plan.feedback if given.id is not None]
    refusal = foreign_claim(
        plan,
        stored,
        await element_owners.owners_of(element_ids),
        await feedback.threads_of(feedback_ids),
    )
    if refusal is not None:
        raise refusal


def foreign_claim(
    plan: RestorePlan,
    stored: Mapping[str, Any] | None,
    element_owners: Mapping[str, str],
    feedback_threads: Mapping[str, str],
) -> RestoreRefusedError | None:
    """Why restoring `plan` over the `stored` thread would change what is not its owner's,
    given the owning thread of element ids and feedback ids (any of them; those of the
    plan are looked at): a stored thread whose owner is not the one the plan names (no
    owner named counts as another owner), or an element id or a feedback id that another
    thread holds. None when nothing is."""
    thread_id = plan.thread_id
    if stored is not None and stored.get("userId") != plan.owner_id:
        return RestoreRefusedError(
            f"thread {thread_id!r} is stored for another user than the one it names;"
            " it was left unchanged"
        )
    for element in plan.elements:
        owner = element_owners.get(element.document["id"], thread_id)
        if owner != thread_id:
            return RestoreRefusedError(
                f"thread {thread_id!r}: element {element.document['id']!r} belongs to another"
                " thread; the thread was left unchanged"
            )
    for given in plan.feedback:
        owner = thread_id if given.id is None else feedback_threads.get(given.id, thread_id)
        if owner != thread_id:
            return RestoreRefusedError(
                f"thread {thread_id!r}: feedback {given.id!r} belongs to another thread;"
                " the thread was left unchanged"
            )
    return None


async def stored_element_file(
    upload: Upload,
    restored: RestoredElement,
    summary: RestoreSummary,
    element_bytes: ElementBytes | None,
) -> ObjectId | None:
    """Store the bytes `element_bytes` gives for a restored element in GridFS and return
    the file's id; None (the element keeps its url) when there are none."""
    element_id = restored.document["id"]
    data = None if element_bytes is None else await element_bytes(restored.element)
    if data is None:
        summary.elements_without_file.append(element_id)
        return None
    file = ElementFile(
        element_id,
        summary.thread_id,
        restored.document.get("forId"),
        str(restored.element.get("name") or "file"),
        restored.element.get("mime"),
    )
    summary.files_stored += 1
    return await upload(data, file.name, file.metadata())


def restored_thread_fields(
    thread: ThreadDict, max_name_length: int, updated_at: str | None
) -> Document:
    """The thread's own fields as stored: name (cut like `update_thread` cuts it), user,
    tags, metadata (when there is any), `createdAt` as given and `updatedAt` (given, else
    its last activity)."""
    thread_id = thread["id"]
    created_at = parse_time(thread.get("createdAt"), f"createdAt of thread {thread_id!r}")
    step_times = [step_time(step, thread_id) for step in thread.get("steps") or []]
    known_times = [time for time in [created_at, *step_times] if time is not None]
    fields: Document = {
        "createdAt": created_at or (min(known_times) if known_times else utc_now()),
        "updatedAt": parse_time(updated_at, f"updatedAt of thread {thread_id!r}")
        or (max(known_times) if known_times else utc_now()),
    }
    metadata = escape_keys(parse_metadata(thread.get("metadata") or {}, thread_id))
    if metadata:
        # A thread stored without metadata reads back with `{}`: restoring that adds nothing.
        fields["metadata"] = metadata
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
