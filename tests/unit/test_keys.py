"""Free-form dictionary keys are escaped before they are stored and restored after (keys.py)."""

from typing import Any

import pytest

from mongo_layer.storage.keys import escape_key, escape_keys, unescape_key, unescape_keys


@pytest.mark.parametrize("key", ["$set", "a.b", "$a.b$", "100%", "%2E", "%24x.y", "plain", ""])
def test_a_key_survives_escaping_and_unescaping(key: str) -> None:
    assert unescape_key(escape_key(key)) == key


@pytest.mark.parametrize("key", ["$set", "a.b", "x.$y", "%2E."])
def test_an_escaped_key_has_no_dot_and_no_dollar(key: str) -> None:
    escaped = escape_key(key)

    assert "." not in escaped
    assert "$" not in escaped


def test_a_literal_percent_sequence_is_not_mistaken_for_an_escape() -> None:
    assert escape_key("%2E") != escape_key(".")


def test_nested_dicts_and_lists_survive_escaping() -> None:
    value: Any = {
        "$op": {"a.b": [{"c.d": 1}, {"$e": [{"%": None}]}]},
        "plain": ["x", 1, True],
    }

    escaped = escape_keys(value)

    assert "$op" not in escaped
    assert escaped["%24op"]["a%2Eb"][0] == {"c%2Ed": 1}
    assert unescape_keys(escaped) == value


def test_values_are_never_touched() -> None:
    assert escape_keys({"k": "$a.b%"}) == {"k": "$a.b%"}
