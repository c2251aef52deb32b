"""Kafka's LineMessageReader: how the console producer turns one input line into a record.

With ``parse.headers=true`` a line starts with headers (``h1:v1,h2:v2``) ended by
``headers.delimiter``; with ``parse.key=true`` the key follows, ended by ``key.separator``; the rest
of the line is the value. ``null.marker`` turns a key, value or header value into null. A missing
delimiter is an error unless ``ignore.error=true`` (then there is simply no key/headers).
``headers.separator`` is a regular expression, as in Kafka (it is compiled with Pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

READER_CLASSES = frozenset(
    {
        "kafka.tools.LineMessageReader",
        "org.apache.kafka.tools.LineMessageReader",
        "kafka.tools.ConsoleProducer$LineMessageReader",
    }
)


class ReaderError(ValueError):
    """A line the reader cannot parse (Kafka's KafkaException from the reader)."""


@dataclass
class ParsedLine:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def _flag(props: dict[str, str], key: str) -> bool:
    return props.get(key, "false").strip().lower() == "true"


class LineMessageReader:
    """Configured from ``--property``/``--reader-config`` settings; see the module docstring."""

    def __init__(self, properties: dict[str, str] | None = None):
        props = properties or {}
        self.parse_key = _flag(props, "parse.key")
        self.key_separator = props.get("key.separator", "\t")
        self.parse_headers = _flag(props, "parse.headers")
        self.headers_delimiter = props.get("headers.delimiter", "\t")
        self.headers_separator = props.get("headers.separator", ",")
        self.headers_key_separator = props.get("headers.key.separator", ":")
        self.ignore_error = _flag(props, "ignore.error")
        self.null_marker: str | None = props.get("null.marker")
        try:
            self._headers_pattern = re.compile(self.headers_separator)
        except re.error as exc:
            raise ReaderError(f"Invalid headers.separator '{self.headers_separator}': {exc}") from None
        pairs = [
            ("headers.delimiter", self.headers_delimiter, "headers.separator", self.headers_separator),
            (
                "headers.delimiter",
                self.headers_delimiter,
                "headers.key.separator",
                self.headers_key_separator,
            ),
            (
                "headers.separator",
                self.headers_separator,
                "headers.key.separator",
                self.headers_key_separator,
            ),
        ]
        for name_a, a, name_b, b in pairs:
            if a == b:
                raise ReaderError(f"{name_a} and {name_b} may not be equal")
        if self.null_marker is not None:
            for name, sep in (
                ("key.separator", self.key_separator),
                ("headers.separator", self.headers_separator),
                ("headers.delimiter", self.headers_delimiter),
                ("headers.key.separator", self.headers_key_separator),
            ):
                if sep == self.null_marker:
                    raise ReaderError(f"null.marker and {name} may not be equal")

    def _cut(self, enabled: bool, line: str, start: int, sep: str, what: str, line_number: int) -> str | None:
        if not enabled:
            return None
        index = line.find(sep, start)
        if index == -1:
            if self.ignore_error:
                return None
            raise ReaderError(f"No {what} found on line number {line_number}: '{line}'")
        return line[start:index]

    def _null_or_bytes(self, text: str) -> bytes | None:
        return None if text == self.null_marker else text.encode("utf-8")

    def parse(self, line: str, line_number: int) -> ParsedLine:
        """One record from one line (without its line terminator)."""
        headers_text = self._cut(
            self.parse_headers, line, 0, self.headers_delimiter, "headers delimiter", line_number
        )
        offset = 0 if headers_text is None else len(headers_text) + len(self.headers_delimiter)
        key_text = self._cut(self.parse_key, line, offset, self.key_separator, "key separator", line_number)
        if key_text is not None:
            offset += len(key_text) + len(self.key_separator)
        value_text = line[offset:]
        headers: list[tuple[str, bytes | None]] = []
        if headers_text is not None and headers_text != self.null_marker:
            headers = self._split_headers(headers_text, line_number)
        return ParsedLine(
            key=None if key_text is None else self._null_or_bytes(key_text),
            value=self._null_or_bytes(value_text),
            headers=headers,
        )

    def _split_headers(self, text: str, line_number: int) -> list[tuple[str, bytes | None]]:
        pieces = self._headers_pattern.split(text)
        while pieces and pieces[-1] == "":  # Java's String.split drops trailing empty strings
            pieces.pop()
        out: list[tuple[str, bytes | None]] = []
        for pair in pieces or [""]:
            index = pair.find(self.headers_key_separator)
            if index == -1:
                if self.ignore_error:
                    out.append((pair, None))
                    continue
                raise ReaderError(
                    f"No header key separator found in pair '{pair}' on line number {line_number}"
                )
            key = pair[:index]
            if key == self.null_marker:
                raise ReaderError(
                    f"Header keys should not be equal to the null marker '{self.null_marker}' as they can't be null"
                )
            out.append((key, self._null_or_bytes(pair[index + len(self.headers_key_separator) :])))
        return out
