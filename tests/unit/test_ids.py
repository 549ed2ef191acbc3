"""Ids coming from Chainlit or the browser become plain strings, or are refused (ids.py)."""

from uuid import UUID

import pytest

from mongo_layer import InvalidIdError
from mongo_layer.ids import as_id, as_optional_id, as_read_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [("t1", "t1"), (42, "42"), (UUID(int=1), "00000000-0000-0000-0000-000000000001")],
)
def test_a_scalar_id_becomes_a_string(value: object, expected: str) -> None:
    assert as_id(value, "thread id") == expected


@pytest.mark.parametrize("value", [{"$ne": None}, ["t1"], None, True, 1.5, b"t1"])
def test_an_id_that_is_not_a_scalar_is_refused_as_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="thread id"):
        as_id(value, "thread id")


def test_the_refusal_is_the_layers_own_error() -> None:
    with pytest.raises(InvalidIdError):
        as_id({"$gt": ""}, "thread id")


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(InvalidIdError, match="empty"):
        as_id("", "step id")


@pytest.mark.parametrize("value", [None, ""])
def test_an_optional_id_may_be_missing(value: object) -> None:
    assert as_optional_id(value, "parent id") is None


@pytest.mark.parametrize("value", [{"$ne": None}, ["s1"]])
def test_an_optional_id_that_is_a_dict_or_list_is_still_refused(value: object) -> None:
    with pytest.raises(TypeError):
        as_optional_id(value, "parent id")


@pytest.mark.parametrize("value", ["\ud800", "t1\udfff", "\udc80abc"])
def test_an_id_holding_a_lone_surrogate_is_refused_and_read_as_no_id(value: str) -> None:
    with pytest.raises(InvalidIdError, match="thread id holds a lone surrogate"):
        as_id(value, "thread id")
    with pytest.raises(InvalidIdError):
        as_optional_id(value, "thread id")
    assert as_read_id(value) is None


def test_an_id_in_any_script_is_kept() -> None:
    assert as_id("名前-🙂-١٢٣", "thread id") == "名前-🙂-١٢٣"
