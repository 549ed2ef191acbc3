"""Reading an archive's lines and records: bounded, and refusing what MongoDB cannot store
before anything is written (the command over the real server: test_import_trust.py)."""

import io

import pytest

from mongo_layer.archive.importing import archive_lines
from mongo_layer.archive.records import ReadThreadRecord, parse_record
from mongo_layer.errors import ArchiveError


def test_a_line_past_the_bound_is_refused_having_read_no_more_than_the_bound() -> None:
    source = io.BytesIO(b"{}\n" + b"x" * 10_000 + b"\n{}\n")
    lines = archive_lines(source, max_record_bytes=100)

    assert next(lines) == (1, "{}\n")
    with pytest.raises(ArchiveError, match="line 2 of the archive is longer than 100 bytes"):
        next(lines)
    assert source.tell() == 3 + 101


def test_a_line_of_exactly_the_bound_is_read() -> None:
    source = io.BytesIO(b"x" * 100 + b"\n" + b"y" * 100)

    assert [len(text) for _, text in archive_lines(source, max_record_bytes=100)] == [101, 100]


def test_a_line_that_is_not_utf8_is_refused_naming_it() -> None:
    with pytest.raises(ArchiveError, match="line 1 of the archive is not UTF-8"):
        list(archive_lines(io.BytesIO(b'{"a": "\xff"}\n')))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "is not JSON: nested too deep"),
        ('{"record": "thread", "thread": ' + "[" * 200 + "]" * 200 + "}", "nested more than"),
        ('{"record": "thread", "thread": {"id": "t", "metadata": {"a\\u0000": 1}}}', "NUL"),
        ('{"record": "thread", "thread": {"id": "t", "name": "\\ud800"}}', "lone surrogate"),
        ('{"record": "thread", "thread": {"id": "t", "steps": [{"id": "s", "$set": 1}]}}', "$set"),
        ('{"record": "thread", "thread": {"id": "t", "tags": "a"}}', "thread.tags"),
        (
            '{"record": "thread", "thread": {"id": "t", "elements": [{"id": "e", '
            '"url": " JavaScript:alert(1)"}]}}',
            "not javascript:",
        ),
        (
            '{"record": "thread", "thread": {"id": "t", "elements": [{"id": "e", '
            '"url": "data:text/html,<script>alert(1)</script>"}]}}',
            "not data:",
        ),
        ('{"record": "chunk", "data": "a"}', "data"),
        ('{"record": "user", "user": {"id": "u", "identifier": "a", "role": "x"}}', "user"),
        (
            '{"record": "thread", "thread": {"id": "t", "metadata": {"n": 9223372036854775808}}}',
            "64 bits",
        ),
        ("5", "is not an archive record"),
    ],
)
def test_a_record_mongodb_cannot_store_is_refused_naming_its_line(line: str, reason: str) -> None:
    with pytest.raises(ArchiveError, match=r"^line 7 of the archive") as refused:
        parse_record(line, 7)

    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "url", ["https://example.com/a.png", "http://example.com/a", "/public/logo.svg", "a.png"]
)
def test_an_element_url_of_the_web_or_a_path_is_kept(url: str) -> None:
    line = (
        '{"record": "thread", "thread": {"id": "t", "elements": [{"id": "e", "url": "'
        + url
        + '"}]}}'
    )
    record = parse_record(line, 1)

    assert isinstance(record, ReadThreadRecord)
    assert record.thread["elements"][0]["url"] == url


def test_a_paired_surrogate_is_an_ordinary_character_and_the_thread_is_kept_as_given() -> None:
    line = '{"record": "thread", "thread": {"id": "t", "name": "\\ud83d\\ude00", "custom": 1}}'

    record = parse_record(line, 2)

    assert isinstance(record, ReadThreadRecord)
    assert record.thread == {"id": "t", "name": "\U0001f600", "custom": 1}
