"""Turning record bytes into something a person can read, without knowing the producer's serializer.

Kafka stores bytes; the TUI does not know which serializer wrote them, so the detail pane shows
every reading that is plausible (text, JSON, Confluent Avro, big-endian numbers, hex) and the
table shows the most likely one. All functions here are pure, so they are cheap to test.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

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


def preview(data: bytes | None, width: int = 80) -> str:
    """A one-line rendering for the table: text when it is text, an Avro marker, else hex."""
    if data is None:
        return "null"
    schema_id = confluent_schema_id(data)
    if schema_id is not None:
        return f"<avro id={schema_id}> {data[5:].hex()}"[:width]
    text = as_text(data)
    if text is not None:
        line = " ".join(text.split())
        return line if len(line) <= width else line[: width - 1] + "…"
    hexed = data.hex()
    return ("0x" + hexed)[:width]


def matches(needle: str, key: bytes | None, value: bytes | None) -> bool:
    """Case-insensitive substring test on the text of key or value (hex for binary data)."""
    if not needle:
        return True
    low = needle.lower()
    for data in (key, value):
        if data is None:
            continue
        text = as_text(data)
        hay = text if text is not None else data.hex()
        if low in hay.lower():
            return True
    return False


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

    def decode(schema_id: int, body: bytes) -> AvroResult | None:
        found = registry_decode(schema_id, body)
        return AvroResult(schema_id, found.subject, found.version, found.value, found.label)

    return decode
