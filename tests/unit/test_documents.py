"""Conversions between Chainlit's dictionaries and the stored documents (documents.py)."""

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import pytest
from chainlit.types import Feedback

from mongo_layer import InvalidInputError
from mongo_layer.storage.documents import (
    SCHEMA_VERSION,
    element_from_document,
    element_to_document,
    feedback_value,
    is_empty,
    non_empty_fields,
    parse_metadata,
    step_from_document,
    step_sort_key,
    step_to_document,
    thread_from_document,
)

EVERY_STEP_FIELD: dict[str, Any] = {
    "id": "s1",
    "threadId": "t1",
    "parentId": "s0",
    "name": "assistant",
    "type": "assistant_message",
    "input": "what is 2+2?",
    "output": "4",
    "metadata": {"favorite": True, "a.b": {"$c": 1}},
    "tags": ["x", "y"],
    "isError": False,
    "showInput": False,
    "language": "python",
    "start": "2024-05-01T10:00:00.100Z",
    "end": "2024-05-01T10:00:01.200Z",
    "createdAt": "2024-05-01T10:00:00.000Z",
    "generation": {"provider": "openai", "messages": [{"role": "user", "content": "hi"}]},
    "defaultOpen": True,
    "autoCollapse": False,
    "waitForAnswer": False,
    "command": "search",
    "modes": {"model": "fast"},
    "icon": "bot",
    "streaming": False,
    "aFieldFromAFutureChainlit": {"nested": [1, 2, 3]},
}


def test_every_step_field_survives_a_round_trip_through_its_document() -> None:
    document = step_to_document(EVERY_STEP_FIELD)

    assert step_from_document(document, "t1", None) == EVERY_STEP_FIELD


def test_a_step_document_holds_no_thread_id_and_no_feedback() -> None:
    feedback = {"id": "f1", "forId": "s1", "value": 1, "comment": None}
    document = step_to_document({**EVERY_STEP_FIELD, "feedback": feedback})

    assert "threadId" not in document
    assert "feedback" not in document


def test_a_step_read_back_carries_its_feedback() -> None:
    feedback: Any = {"id": "f1", "forId": "s1", "value": 1, "comment": "nice"}

    step = step_from_document(step_to_document(EVERY_STEP_FIELD), "t1", feedback)

    assert step["feedback"] == feedback


def test_step_times_are_stored_as_utc_dates() -> None:
    document = step_to_document({"id": "s1", "createdAt": "2024-05-01T12:00:00+02:00"})

    assert document["createdAt"] == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "returned"),
    [
        ("2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123Z"),
        ("2024-05-01T10:00:00.123", "2024-05-01T10:00:00.123Z"),
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01T10:00:00.123456Z", "2024-05-01T10:00:00.123Z"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000Z"),
    ],
)
def test_a_step_time_with_or_without_z_comes_back_as_iso_ending_in_z(
    given: str, returned: str
) -> None:
    step = step_from_document(step_to_document({"id": "s1", "start": given}), "t1", None)

    assert step["start"] == returned


def test_a_time_that_is_not_iso_8601_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="start"):
        step_to_document({"id": "s1", "start": "yesterday"})


def test_show_input_false_stays_the_boolean_false() -> None:
    step = step_from_document(step_to_document({"id": "s1", "showInput": False}), "t1", None)

    assert step["showInput"] is False


def test_empty_input_and_output_are_not_allowed_to_overwrite_a_stored_step() -> None:
    document = step_to_document(
        {"id": "s1", "input": "", "output": "", "metadata": {}, "tags": [], "showInput": False}
    )

    assert non_empty_fields(document) == {"id": "s1", "showInput": False}


def test_a_step_without_an_id_is_refused() -> None:
    with pytest.raises(TypeError):
        step_to_document({"name": "no id"})


def test_a_dict_as_parent_id_is_refused() -> None:
    with pytest.raises(TypeError):
        step_to_document({"id": "s1", "parentId": {"$ne": None}})


def test_steps_sort_by_creation_time_and_steps_without_one_go_last() -> None:
    early: dict[str, Any] = {"id": "a", "createdAt": datetime(2024, 1, 1, tzinfo=UTC)}
    late: dict[str, Any] = {"id": "b", "createdAt": datetime(2024, 1, 2)}
    undated: dict[str, Any] = {"id": "c"}

    ordered = sorted([undated, late, early], key=step_sort_key)

    assert [s["id"] for s in ordered] == ["a", "b", "c"]


def test_a_thread_document_becomes_a_thread_dict() -> None:
    document = {
        "_id": "t1",
        "createdAt": datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        "name": "chat",
        "userId": "u1",
        "tags": ["a"],
        "metadata": {"k%2Ey": 1},
        "schemaVersion": SCHEMA_VERSION,
    }

    thread: dict[str, Any] = dict(thread_from_document(document, "alice", [], []))

    assert thread == {
        "id": "t1",
        "createdAt": "2024-05-01T10:00:00.000Z",
        "name": "chat",
        "userId": "u1",
        "userIdentifier": "alice",
        "tags": ["a"],
        "metadata": {"k.y": 1},
        "steps": [],
        "elements": [],
    }


def test_metadata_given_as_json_text_is_parsed() -> None:
    assert parse_metadata('{"a": 1}', "t1") == {"a": 1}


@pytest.mark.parametrize("metadata", ["not json", "[1, 2]", 3])
def test_metadata_that_is_not_a_dict_is_refused_naming_the_thread(metadata: object) -> None:
    with pytest.raises(InvalidInputError, match="t1"):
        parse_metadata(metadata, "t1")


def test_an_element_document_keeps_no_bytes_path_or_thread_and_no_empty_fields() -> None:
    element = {
        "id": "e1",
        "threadId": "t1",
        "type": "file",
        "name": "a.txt",
        "path": "/tmp/a.txt",
        "content": b"bytes",
        "url": None,
        "props": {"$x": 1},
        "forId": "s1",
        "mime": "text/plain",
    }

    document = element_to_document(element, "e1")

    assert document == {
        "id": "e1",
        "type": "file",
        "name": "a.txt",
        "props": {"%24x": 1},
        "forId": "s1",
        "mime": "text/plain",
    }


def test_an_element_with_a_stored_file_is_read_back_with_the_file_url() -> None:
    document = {"id": "e1", "name": "a.txt", "fileId": "f", "props": {"%24x": 1}}

    element = element_from_document(document, "t1", lambda t, e: f"/files/{t}/{e}")

    assert element == {
        "id": "e1",
        "name": "a.txt",
        "props": {"$x": 1},
        "threadId": "t1",
        "url": "/files/t1/e1",
    }


def test_an_element_without_a_stored_file_keeps_its_own_url() -> None:
    document = {"id": "e1", "url": "https://example.com/a.png"}

    element = element_from_document(document, "t1", lambda t, e: "/never")

    assert element["url"] == "https://example.com/a.png"


@pytest.mark.parametrize("value", [0, 1])
def test_feedback_values_zero_and_one_are_accepted(value: int) -> None:
    assert feedback_value(Feedback(forId="s1", value=value)) == value  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [2, -1, True, "1"])
def test_a_feedback_value_other_than_zero_or_one_is_refused(value: object) -> None:
    feedback = Feedback(forId="s1", value=0)
    feedback.value = value  # type: ignore[assignment]  # as an unvalidated caller could

    with pytest.raises(InvalidInputError, match="s1"):
        feedback_value(feedback)


@pytest.mark.parametrize("value", [None, "", {}, [], OrderedDict()])
def test_none_and_an_empty_text_dict_or_list_are_empty(value: Any) -> None:
    assert is_empty(value)


@pytest.mark.parametrize("value", [0, 0.0, False, (), b"", " ", [None], {"": None}, "x"])
def test_a_zero_false_an_empty_tuple_or_bytes_and_any_content_are_not_empty(value: Any) -> None:
    assert not is_empty(value)
