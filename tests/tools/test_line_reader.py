"""LineMessageReader: how one console-producer line becomes a record."""

from __future__ import annotations

import pytest

from kcli.tools.line_reader import LineMessageReader, ParsedLine, ReaderError


def test_plain_line_is_the_value() -> None:
    assert LineMessageReader().parse("hello\tworld", 1) == ParsedLine(None, b"hello\tworld", [])


def test_key_and_custom_separator() -> None:
    reader = LineMessageReader({"parse.key": "true", "key.separator": ":"})
    assert reader.parse('user1:{"a": 1}', 1) == ParsedLine(b"user1", b'{"a": 1}', [])
    assert reader.parse("k::v", 2) == ParsedLine(b"k", b":v", [])


def test_headers_key_and_value() -> None:
    reader = LineMessageReader({"parse.key": "true", "parse.headers": "true"})
    parsed = reader.parse("h1:v1,h2:v2\tkey\tvalue", 1)
    assert parsed == ParsedLine(b"key", b"value", [("h1", b"v1"), ("h2", b"v2")])


def test_null_marker_for_key_value_and_header_value() -> None:
    reader = LineMessageReader({"parse.key": "true", "parse.headers": "true", "null.marker": "<NULL>"})
    assert reader.parse("a:<NULL>\t<NULL>\t<NULL>", 1) == ParsedLine(None, None, [("a", None)])
    assert reader.parse("<NULL>\tk\tv", 2) == ParsedLine(b"k", b"v", [])


def test_missing_key_separator_is_an_error_naming_the_line() -> None:
    reader = LineMessageReader({"parse.key": "true"})
    with pytest.raises(ReaderError, match=r"No key separator found on line number 3: 'novalue'"):
        reader.parse("novalue", 3)


def test_ignore_error_keeps_the_whole_line_as_value() -> None:
    reader = LineMessageReader({"parse.key": "true", "ignore.error": "true"})
    assert reader.parse("novalue", 1) == ParsedLine(None, b"novalue", [])


def test_header_without_key_separator() -> None:
    reader = LineMessageReader({"parse.headers": "true"})
    with pytest.raises(ReaderError, match="No header key separator found in pair 'bad' on line number 1"):
        reader.parse("bad\tv", 1)
    lenient = LineMessageReader({"parse.headers": "true", "ignore.error": "true"})
    assert lenient.parse("bad\tv", 1) == ParsedLine(None, b"v", [("bad", None)])


def test_headers_separator_is_a_regex() -> None:
    reader = LineMessageReader({"parse.headers": "true", "headers.separator": "[;|]"})
    assert reader.parse("a:1;b:2|c:3\tv", 1).headers == [("a", b"1"), ("b", b"2"), ("c", b"3")]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"headers.delimiter": ","}, "headers.delimiter and headers.separator may not be equal"),
        ({"headers.separator": ":"}, "headers.separator and headers.key.separator may not be equal"),
        ({"null.marker": "\t"}, "null.marker and key.separator may not be equal"),
    ],
)
def test_conflicting_settings(props: dict[str, str], message: str) -> None:
    with pytest.raises(ReaderError, match=message):
        LineMessageReader(props)
