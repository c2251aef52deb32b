"""Turning record bytes into something a person can read, without knowing the producer's serializer.

Kafka stores bytes; the TUI does not know which serializer wrote them, so the detail pane shows
every reading that is plausible (text, JSON, Confluent Avro, big-endian numbers, hex) and the
table shows the most likely one - decoded Avro included, so that the list and its filter see
``{"name": "Ann"}`` rather than hex. Apart from the registry lookups of
:func:`registry_avro_decoder` (cached, and run in the browser's worker thread, never on the
event loop) all functions here are pure, so they are cheap to test.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kcli.cluster_view.model import Message

#: Confluent wire format: magic byte 0, then a 4-byte big-endian schema id, then the Avro body.
CONFLUENT_MAGIC = 0


@dataclass(frozen=True)
class AvroResult:
    """What an Avro decoder found: the registry's view of the schema and the decoded datum."""

    schema_id: int
    subject: str | None
    version: int | None
    value: Any
    kind: str = "Avro"  # or "JSON Schema", "Protobuf": the registry says which


#: schema id + payload (after the 5-byte header) -> decoded value, or None when unavailable.
AvroDecoder = Callable[[int, bytes], AvroResult | None]


@dataclass(frozen=True)
class Reading:
    """One interpretation of the bytes: a label for the pane and the text to show."""

    label: str
    text: str


def confluent_schema_id(data: bytes | None) -> int | None:
    """The schema id of a Confluent-framed record, or None when the bytes are not framed."""
    if data is None or len(data) < 6 or data[0] != CONFLUENT_MAGIC:
        return None
    return struct.unpack(">I", data[1:5])[0]


def as_text(data: bytes) -> str | None:
    """The bytes as UTF-8 text when they are valid and printable enough to be text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return None
    return text


def as_json(data: bytes) -> str | None:
    """Pretty JSON when the bytes parse as a JSON object or array (a bare number is not JSON-looking)."""
    stripped = data.lstrip()
    if stripped[:1] not in (b"{", b"["):
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def hex_dump(data: bytes, width: int = 16, limit: int = 4096) -> str:
    """Classic offset / hex / ASCII dump, cut at ``limit`` bytes so a 1 MB record does not freeze the UI."""
    lines = []
    for start in range(0, min(len(data), limit), width):
        chunk = data[start : start + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{start:08x}  {hexes:<{width * 3}} {ascii_}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return "\n".join(lines)


def numbers(data: bytes) -> list[Reading]:
    """Big-endian integer/long/double readings, as Kafka's Java serializers write them."""
    out: list[Reading] = []
    if len(data) == 4:
        out.append(Reading("integer", str(struct.unpack(">i", data)[0])))
        out.append(Reading("float", repr(struct.unpack(">f", data)[0])))
    elif len(data) == 8:
        out.append(Reading("long", str(struct.unpack(">q", data)[0])))
        out.append(Reading("double", repr(struct.unpack(">d", data)[0])))
    elif len(data) == 2:
        out.append(Reading("short", str(struct.unpack(">h", data)[0])))
    return out


def readings(data: bytes | None, avro: AvroDecoder | None = None) -> list[Reading]:
    """Every plausible reading of ``data``, most specific first; hex is always last."""
    if data is None:
        return [Reading("null", "null")]
    out: list[Reading] = []
    schema_id = confluent_schema_id(data)
    if schema_id is not None:
        result = None
        if avro is not None:
            try:
                result = avro(schema_id, data[5:])
            except Exception as exc:  # a broken registry must not break the pane
                out.append(Reading(f"Avro (schema id {schema_id})", f"cannot decode: {exc}"))
        if result is not None:
            label = f"{result.kind} (schema id {schema_id}"
            if result.subject:
                label += f", subject {result.subject}"
            if result.version is not None:
                label += f", version {result.version}"
            out.append(
                Reading(label + ")", orjson.dumps(result.value, option=_JSON_OPTS, default=str).decode())
            )
        elif not out:
            framed_json = as_json(data[5:])
            if framed_json is not None:  # Confluent's JSON Schema serializer: same framing, JSON body
                out.append(Reading(f"JSON Schema (schema id {schema_id})", framed_json))
            else:
                out.append(Reading(f"Avro (schema id {schema_id})", hex_dump(data[5:])))
    pretty = as_json(data)
    if pretty is not None:
        out.append(Reading("JSON", pretty))
    text = as_text(data)
    if text is not None:
        out.append(Reading("string", text))
    out.extend(numbers(data))
    out.append(Reading("hex", hex_dump(data)))
    return out


_JSON_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS


def one_line(data: bytes | None, avro: AvroDecoder | None = None) -> str:
    """The most likely reading of ``data`` on one line: decoded Avro or JSON-Schema-framed JSON as
    compact JSON, text with its whitespace collapsed, else hex (``0x...``)."""
    if data is None:
        return "null"
    schema_id = confluent_schema_id(data)
    if schema_id is not None:
        if avro is not None:
            try:
                result = avro(schema_id, data[5:])
            except Exception:
                result = None  # the registry is down or the bytes are not Avro: show the framing
            if result is not None:
                return orjson.dumps(result.value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
        body = data[5:]
        if body.lstrip()[:1] in (b"{", b"["):
            try:
                return orjson.dumps(orjson.loads(body)).decode()
            except orjson.JSONDecodeError:
                pass
        return f"<avro id={schema_id}> {body.hex()}"
    text = as_text(data)
    if text is not None:
        return " ".join(text.split())
    return "0x" + data.hex()


def preview(data: bytes | None, width: int = 80, avro: AvroDecoder | None = None) -> str:
    """:func:`one_line` cut to ``width`` characters for a table cell."""
    line = one_line(data, avro)
    return line if len(line) <= width else line[: width - 1] + "…"


TOMBSTONE = "⊘ tombstone"


def is_tombstone(m: Message) -> bool:
    """A record with a key and a null value: on a compacted topic it deletes the key."""
    return m.value is None and m.key is not None


@dataclass(frozen=True)
class RecordView:
    """One browsed record as the list shows it: key and value decoded to one line each, and the
    lower-case text the filter searches (key, value, header names and values)."""

    message: Message
    key: str
    value: str
    haystack: str

    @property
    def tombstone(self) -> bool:
        return is_tombstone(self.message)


def view(m: Message, avro: AvroDecoder | None = None) -> RecordView:
    """Decode ``m`` for the list; may call the registry, so run it off the event loop."""
    key = one_line(m.key, avro)
    value = TOMBSTONE if is_tombstone(m) else one_line(m.value, avro)
    headers = " ".join(f"{k}={one_line(v)}" for k, v in m.headers)
    return RecordView(m, key, value, "\n".join((key, value, headers)).lower())


def matches(needle: str, record: RecordView) -> bool:
    """Case-insensitive substring test on the decoded key, value and headers of a record."""
    return not needle or needle.lower() in record.haystack


def registry_avro_decoder(url: str | None, extra: dict[str, str] | None = None) -> AvroDecoder | None:
    """An :data:`AvroDecoder` backed by kcli's schema registry client, when it is installed.

    Returns None when no registry URL is configured or when ``kcli.schema_registry`` offers no
    client: the pane then shows the schema id and the hex of the body, which is still useful.
    """
    if not url:
        return None
    try:
        from kcli.schema_registry.decoding import registry_decoder  # Avro, JSON Schema, Protobuf
    except ImportError:
        return None
    registry_decode = registry_decoder(url)
    #: schema id -> (when to ask again, why it failed): a registry that is down must not cost a
    #: timeout per record of a 200-record page
    failed: dict[int, tuple[float, str]] = {}

    def decode(schema_id: int, body: bytes) -> AvroResult | None:
        if schema_id in failed and time.monotonic() < failed[schema_id][0]:
            raise LookupError(failed[schema_id][1])
        try:
            found = registry_decode(schema_id, body)
        except Exception as exc:  # unreachable, unknown id, or a body its schema does not read
            failed[schema_id] = (time.monotonic() + 30.0, str(exc))
            raise
        return AvroResult(schema_id, found.subject, found.version, found.value, found.label)

    return decode
