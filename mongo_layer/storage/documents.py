"""The stored documents and their conversion to and from Chainlit's dictionaries.

This module is the only place where a Chainlit shape (StepDict, ThreadDict, ElementDict,
PersistedUser, Feedback) becomes a MongoDB document or comes back from one.
"""

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from chainlit.step import StepDict
from chainlit.types import Feedback, FeedbackDict, ThreadDict
from chainlit.user import PersistedUser, User
from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidInputError
from ..ids import as_id, as_optional_id, without_lone_surrogates
from ..times import format_time, parse_time, to_epoch_ms, utc_now
from .connection import Document
from .keys import CONTAINERS, escape_keys, is_int64, storable_part, unescape_keys
from .step_versions import BOOKKEEPING_FIELDS

SCHEMA_VERSION = 1

STEP_TIME_FIELDS = ("createdAt", "start", "end")
# Fields a StepDict carries that are not stored on the step: the thread is the enclosing
# document and feedback lives in its own collection.
STEP_FIELDS_NOT_STORED = ("threadId", "feedback")
STEP_TEXT_FIELDS = ("input", "output")
# The types of the values `is_empty` may find empty.
EMPTIABLE = (str, dict, list)
# The StepDict fields `step_to_document` converts (any other is stored as given, its keys
# escaped when it is a dict or a list): one lookup per field on the write of every message.
NOT_STORED, TIME, PARENT_ID = "not stored", "time", "parent id"
STEP_FIELD_KINDS = (
    dict.fromkeys(STEP_FIELDS_NOT_STORED, NOT_STORED)
    | dict.fromkeys(STEP_TIME_FIELDS, TIME)
    | {"parentId": PARENT_ID}
)


def is_empty(value: object) -> bool:
    """An empty value (None, "", {} or []) never replaces a stored one (Chainlit's writes may
    land out of order)."""
    return value is None or (not value and isinstance(value, EMPTIABLE))


# Steps


def step_to_document(step: Mapping[str, Any]) -> Document:
    """A StepDict as stored inside its thread: times as dates, free-form keys escaped."""
    step_id = as_id(step.get("id"), "step id")
    document: Document = {}
    for field, value in step.items():
        kind = STEP_FIELD_KINDS.get(field)
        if kind is None:
            if isinstance(value, CONTAINERS):
                value = escape_keys(value, functools.partial(_step_field, step, field))
        elif kind is NOT_STORED:
            continue
        elif kind is TIME:
            value = parse_time(value, functools.partial(_step_field, step, field))
        else:
            value = as_optional_id(value, functools.partial(_step_field, step, field))
        document[field] = value
    document["id"] = step_id
    return document


def _step_field(step: Mapping[str, Any], field: str) -> str:
    """How an error names a field of a StepDict."""
    return f"{field} of step {step.get('id')!r} in thread {step.get('threadId')!r}"


def storable_step(document: Mapping[str, Any]) -> tuple[Document, int]:
    """A stored-form step with what BSON cannot encode taken out, and how many values were
    left out: lone surrogates are dropped from text fields (as from a thread's name), and
    entries of its dicts and lists that MongoDB cannot store (a lone surrogate, NUL in a
    key, an integer past 64 bits) are left out, as from a thread's metadata."""
    storable: Document = {}
    left_out = 0
    for field, value in document.items():
        if isinstance(value, str):
            storable[field] = without_lone_surrogates(value)
        elif isinstance(value, CONTAINERS):
            storable[field], dropped = storable_part(value)
            left_out += dropped
        elif isinstance(value, int) and not isinstance(value, bool) and not is_int64(value):
            left_out += 1
        else:
            storable[field] = value
    return storable, left_out


def non_empty_fields(document: Mapping[str, Any]) -> Document:
    """The fields of a step write that may overwrite what is stored (`is_empty`, inlined:
    this runs on every field of every step write)."""
    return {
        field: value
        for field, value in document.items()
        if value is not None and (value or not isinstance(value, EMPTIABLE))
    }


def step_from_document(
    document: Mapping[str, Any], thread_id: str, feedback: FeedbackDict | None
) -> StepDict:
    step: dict[str, Any] = {}
    for field, value in document.items():
        if field in BOOKKEEPING_FIELDS:
            continue
        if field in STEP_TIME_FIELDS and isinstance(value, datetime):
            step[field] = format_time(value)
        else:
            step[field] = unescape_keys(value)
    step["threadId"] = thread_id
    if feedback is not None:
        step["feedback"] = feedback
    return step  # type: ignore[return-value]


def step_is_stored(stored: Mapping[str, Any], step: Mapping[str, Any]) -> bool:
    """Whether writing `step` (a stored-form step) would change nothing of `stored`: every
    non-empty field already holds the same value, times compared as a BSON date keeps them."""
    return all(
        same_value(stored.get(field), value) for field, value in non_empty_fields(step).items()
    )


def same_value(stored: object, given: object) -> bool:
    if isinstance(stored, datetime) and isinstance(given, datetime):
        return to_epoch_ms(stored) == to_epoch_ms(given)
    return stored == given


def step_sort_key(step: Mapping[str, Any]) -> tuple[int, datetime | str]:
    """Steps sort by createdAt; steps without one go last. Python's sort is stable, so
    steps with equal times keep the order in which they reached the database."""
    created_at = step.get("createdAt")
    if isinstance(created_at, datetime):
        return (0, created_at.replace(tzinfo=None))
    return (1, "")


# Threads


def thread_from_document(
    document: Mapping[str, Any],
    user_identifier: str | None,
    steps: list[StepDict],
    elements: list[Any],
) -> ThreadDict:
    created_at = document.get("createdAt")
    return {
        "id": document["_id"],
        "createdAt": format_time(created_at) if isinstance(created_at, datetime) else "",
        "name": document.get("name"),
        "userId": document.get("userId"),
        "userIdentifier": user_identifier,
        "tags": document.get("tags"),
        "metadata": unescape_keys(document.get("metadata") or {}),
        "steps": steps,
        "elements": elements,
    }


def sidebar_thread_from_document(
    document: Mapping[str, Any], user_identifier: str | None
) -> ThreadDict:
    """A thread as the sidebar lists it: no steps or elements, and its last activity as
    `createdAt`. Chainlit's sidebar sorts and groups its threads by `createdAt` alone (its own
    data layer reports `updatedAt` there too), so only then does it show the order."""
    thread = thread_from_document(document, user_identifier, [], [])
    updated_at = document.get("updatedAt")
    if isinstance(updated_at, datetime):
        thread["createdAt"] = format_time(updated_at)
    return thread


def parse_metadata(metadata: object, thread_id: str) -> dict[str, Any]:
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError as error:
            raise InvalidInputError(f"metadata of thread {thread_id!r} is not JSON") from error
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata of thread {thread_id!r} must be a dict")
    return metadata


# Elements

ELEMENT_FIELDS_NOT_STORED = ("threadId", "path", "content")


def element_to_document(element: Mapping[str, Any], element_id: str) -> Document:
    """An ElementDict as stored with its thread (the bytes go to GridFS, not here)."""
    thread_id = element.get("threadId")
    document = {
        field: escape_keys(value, f"{field} of element {element_id!r} in thread {thread_id!r}")
        for field, value in element.items()
        if field not in ELEMENT_FIELDS_NOT_STORED and value is not None
    }
    document["id"] = element_id
    if "forId" in document:
        document["forId"] = as_optional_id(document["forId"], f"forId of element {element_id!r}")
    return document


# Where another layer kept an element's bytes; meaningless once the bytes are in GridFS.
ELEMENT_FOREIGN_STORAGE_FIELDS = ("url", "objectKey", "chainlitKey")


def restored_element_document(document: Document, file_id: Any) -> Document:
    """An element restored from another layer, from `element_to_document`'s form: with
    `file_id` its bytes are in GridFS and the other layer's url and object key are dropped;
    without, its url is all there is."""
    if file_id is None:
        return document
    restored = {f: v for f, v in document.items() if f not in ELEMENT_FOREIGN_STORAGE_FIELDS}
    restored["fileId"] = file_id
    return restored


def element_from_document(
    document: Mapping[str, Any], thread_id: str, file_url: Callable[[str, str], str]
) -> Any:
    element = {field: unescape_keys(value) for field, value in document.items()}
    element.pop("fileId", None)
    element.pop("createdAt", None)
    element["threadId"] = thread_id
    if document.get("fileId") is not None:
        element["url"] = file_url(thread_id, document["id"])
    return element


# Users


class UserDocument(BaseModel):
    """A document of the users collection."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    identifier: str
    display_name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    createdAt: datetime
    schemaVersion: int = SCHEMA_VERSION

    def to_persisted_user(self) -> PersistedUser:
        return PersistedUser(
            id=self.id,
            identifier=self.identifier,
            display_name=self.display_name,
            metadata=unescape_keys(self.metadata),
            createdAt=format_time(self.createdAt),
        )


def restored_user_document(user: PersistedUser) -> UserDocument:
    """A user as another layer stored it: id, identifier, display name, metadata and
    creation time kept."""
    created_at = parse_time(user.createdAt, f"createdAt of user {user.identifier!r}")
    return UserDocument(
        id=as_id(user.id, f"id of user {user.identifier!r}"),
        identifier=as_id(user.identifier, "user identifier"),
        display_name=user.display_name,
        metadata=escape_keys(dict(user.metadata or {})),
        createdAt=created_at or utc_now(),
    )


def user_changes(user: User) -> Document:
    """What a login writes on an existing user: its metadata, and its display name if given."""
    metadata = escape_keys(dict(user.metadata or {}), f"metadata of user {user.identifier!r}")
    changes: Document = {"metadata": metadata}
    if user.display_name:
        changes["display_name"] = user.display_name
    return changes


# Feedback

FeedbackValue = Literal[0, 1]


class FeedbackDocument(BaseModel):
    """A document of the feedback collection."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    forId: str
    threadId: str | None = None
    value: FeedbackValue
    comment: str | None = None
    schemaVersion: int = SCHEMA_VERSION

    def to_feedback_dict(self) -> FeedbackDict:
        return {"id": self.id, "forId": self.forId, "value": self.value, "comment": self.comment}


def feedback_value(feedback: Feedback) -> FeedbackValue:
    return stored_feedback_value(feedback.value, feedback.forId)


def stored_feedback_value(value: object, step_id: object) -> FeedbackValue:
    if isinstance(value, bool) or value not in (0, 1):
        raise InvalidInputError(
            f"feedback value for step {step_id!r} must be 0 or 1, got {value!r:.40}"
        )
    return 1 if value == 1 else 0


def same_feedback(stored: FeedbackDict | None, given: Mapping[str, Any]) -> bool:
    if stored is None:
        return False
    return (stored["id"], stored["value"], stored["comment"]) == (
        given.get("id"),
        given.get("value"),
        given.get("comment"),
    )


def feedback_by_step(documents: Iterable[Mapping[str, Any]]) -> dict[str, FeedbackDict]:
    return {
        document["forId"]: FeedbackDocument.model_validate(document).to_feedback_dict()
        for document in documents
    }


def first_or_none(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None
