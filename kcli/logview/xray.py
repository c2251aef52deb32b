"""The wire-format X-ray: a record's bytes laid out field by field, beside what they mean.

A record travels inside a record batch (magic 2): a 61-byte header - base offset, length, leader
epoch, magic, CRC-32C, attributes (compression, timestamp type, transactional, control), offset
delta, timestamps, producer id, epoch and base sequence, record count - then the records, each a
run of zig-zag varints (length, attributes, timestamp delta, offset delta, key length, key, value
length, value, header count, headers). A value written by a Confluent serializer starts with the
Confluent framing: magic byte 0, a 4-byte schema id, for Protobuf the message indexes, then the
Avro / Protobuf / JSON body that the schema with that id decodes.

:func:`xray` returns :class:`Field` rows with their byte ranges; :func:`kcli.logview.xray_render.render`
turns them into lines. Both are pure; the schema lookup is a callable
(:mod:`kcli.logview.xray_schemas`), so nothing here talks to a registry.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcli.logview.xray_schemas import RegistrySchema, SchemaLookup, decode_body, plain


@dataclass(frozen=True)
class Field:
    """Bytes ``[start, end)`` of ``area`` (``batch`` or ``records``: the decompressed records when
    the batch is compressed) named ``name``, with the value they hold and what it means."""

    area: str
    start: int
    end: int
    raw: bytes
    name: str
    value: str
    meaning: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]
    notes: tuple[str, ...] = ()


@dataclass
class XRay:
    topic: str
    partition: int
    offset: int
    sections: list[Section] = field(default_factory=list)
    decoded: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    schema: RegistrySchema | None = None
    problems: list[str] = field(default_factory=list)


CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def _utc(ms: int) -> str:
    try:
        stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return "not a time"
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d} UTC"


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint at ``pos`` (Kafka's ``ByteUtils.readVarint``/``readVarlong``): (value, next)."""
    shift = 0
    raw = 0
    start = pos
    while True:
        if pos >= len(data):
            raise ValueError(f"varint at byte {start} runs past the end")
        b = data[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise ValueError(f"varint at byte {start} is longer than 10 bytes")
    return (raw >> 1) ^ -(raw & 1), pos


def _header_fields(raw: bytes) -> tuple[list[Field], dict[str, int]]:
    from kcli.protocol.records import parse_header

    values = parse_header(raw, 0)
    names = (
        "baseOffset",
        "batchLength",
        "partitionLeaderEpoch",
        "magic",
        "crc",
        "attributes",
        "lastOffsetDelta",
        "baseTimestamp",
        "maxTimestamp",
        "producerId",
        "producerEpoch",
        "baseSequence",
        "recordCount",
    )
    sizes = (8, 4, 4, 1, 4, 2, 4, 8, 8, 8, 2, 4, 4)
    h = dict(zip(names, values, strict=True))
    attrs = h["attributes"]
    meanings = {
        "baseOffset": "offset of the batch's first record; records store deltas from it",
        "batchLength": f"{h['batchLength']} bytes follow this field",
        "partitionLeaderEpoch": "leader epoch of the leader that appended the batch",
        "magic": "record batch format v2 (Kafka 0.11 and later)" if h["magic"] == 2 else "older format",
        "crc": "",
        "attributes": _attributes(attrs),
        "lastOffsetDelta": f"last record at offset {h['baseOffset'] + h['lastOffsetDelta']}",
        "baseTimestamp": _utc(h["baseTimestamp"]),
        "maxTimestamp": _utc(h["maxTimestamp"]),
        "producerId": "no producer id: not idempotent, not transactional"
        if h["producerId"] < 0
        else "idempotent/transactional producer's id (InitProducerId)",
        "producerEpoch": "" if h["producerId"] < 0 else "fences older instances of the same producer",
        "baseSequence": "no sequence numbers"
        if h["baseSequence"] < 0
        else "sequence of the first record: the broker rejects duplicates and gaps",
        "recordCount": "records in the batch",
    }
    try:
        import crc32c

        valid = crc32c.crc32c(raw[21:]) == h["crc"]
        meanings["crc"] = "CRC-32C of bytes 21.. to the end: " + ("valid" if valid else "INVALID")
    except ImportError:  # pragma: no cover - crc32c is a dependency
        meanings["crc"] = "CRC-32C of bytes 21.. to the end"
    out = []
    pos = 0
    for name, size in zip(names, sizes, strict=True):
        value = h[name]
        shown = (
            f"0x{value:08x}" if name == "crc" else (f"0b{value:016b}" if name == "attributes" else str(value))
        )
        out.append(Field("batch", pos, pos + size, raw[pos : pos + size], name, shown, meanings[name]))
        pos += size
    return out, h


def _attributes(attrs: int) -> str:
    parts = [f"compression {CODECS.get(attrs & 0x07, f'unknown {attrs & 0x07}')}"]
    parts.append("LogAppendTime" if attrs & 0x08 else "CreateTime")
    parts.append("transactional" if attrs & 0x10 else "not transactional")
    if attrs & 0x20:
        parts.append("control batch (transaction marker)")
    if attrs & 0x40:
        parts.append("delete horizon set")
    return ", ".join(parts)


def _varint_field(
    area: str, data: bytes, pos: int, name: str, meaning: Callable[[int], str]
) -> tuple[Field, int, int]:
    value, end = read_varint(data, pos)
    return Field(area, pos, end, data[pos:end], name, str(value), meaning(value)), value, end


def _bytes_field(area: str, data: bytes, pos: int, length: int, name: str) -> tuple[Field, bytes, int]:
    chunk = data[pos : pos + length]
    return (
        Field(area, pos, pos + length, chunk, name, _preview(chunk), f"{length} bytes"),
        chunk,
        pos + length,
    )


def _preview(data: bytes, width: int = 40) -> str:
    text = data.decode("utf-8", errors="replace")
    if all(c.isprintable() for c in text):
        return repr(text[:width] + ("…" if len(text) > width else ""))
    return "0x" + data[: width // 2].hex() + ("…" if len(data) > width // 2 else "")


def _records_fields(
    body: bytes, area: str, base_offset: int, base_ts: int, offset: int
) -> tuple[list[Field], list[str], dict[str, Any]]:
    """Walk the records to the one at ``offset``; its fields and what it holds."""
    pos = 0
    found: dict[str, Any] = {}
    while pos < len(body):
        start = pos
        length, pos = read_varint(body, pos)
        record_end = pos + length
        fields: list[Field] = [
            Field(
                area, start, pos, body[start:pos], "length", str(length), f"{length} bytes of record follow"
            )
        ]
        fields.append(
            Field(area, pos, pos + 1, body[pos : pos + 1], "attributes", str(body[pos]), "unused in v2")
        )
        pos += 1
        f, ts_delta, pos = _varint_field(
            area, body, pos, "timestampDelta", lambda v: f"{_utc(base_ts + v)} (base + {v} ms)"
        )
        fields.append(f)
        f, delta, pos = _varint_field(
            area, body, pos, "offsetDelta", lambda v: f"offset {base_offset} + {v} = {base_offset + v}"
        )
        fields.append(f)
        if base_offset + delta != offset:
            pos = record_end
            continue
        f, key_len, pos = _varint_field(
            area, body, pos, "keyLength", lambda v: "null key" if v < 0 else f"{v} bytes"
        )
        fields.append(f)
        key = None
        if key_len >= 0:
            f, key, pos = _bytes_field(area, body, pos, key_len, "key")
            fields.append(f)
        f, value_len, pos = _varint_field(
            area,
            body,
            pos,
            "valueLength",
            lambda v: "null value (a tombstone when keyed)" if v < 0 else f"{v} bytes",
        )
        fields.append(f)
        value = None
        value_at = pos
        if value_len >= 0:
            f, value, pos = _bytes_field(area, body, pos, value_len, "value")
            fields.append(f)
        f, count, pos = _varint_field(area, body, pos, "headersCount", lambda v: f"{v} header(s)")
        fields.append(f)
        for i in range(count):
            f, hlen, pos = _varint_field(area, body, pos, f"header[{i}].keyLength", lambda v: f"{v} bytes")
            fields.append(f)
            f, _hkey, pos = _bytes_field(area, body, pos, hlen, f"header[{i}].key")
            fields.append(f)
            f, vlen, pos = _varint_field(
                area, body, pos, f"header[{i}].valueLength", lambda v: "null" if v < 0 else f"{v} bytes"
            )
            fields.append(f)
            if vlen >= 0:
                f, _hval, pos = _bytes_field(area, body, pos, vlen, f"header[{i}].value")
                fields.append(f)
        notes = [f"record at offset {offset}: {record_end - start} bytes"]
        found = {"key": key, "value": value, "value_at": value_at, "timestamp_delta": ts_delta}
        return fields, notes, found
    return [], [f"offset {offset} is not in this batch (removed by compaction?)"], found


def framing(data: bytes | None, area: str, schema: RegistrySchema | None) -> tuple[list[Field], bytes | None]:
    """The Confluent wire format at the start of a key or value: magic byte 0, the schema id, the
    Protobuf message indexes. Returns the fields and the body after them (None: not framed)."""
    if data is None or len(data) < 5 or data[0] != 0:
        return [], None
    schema_id = struct.unpack(">I", data[1:5])[0]
    fields = [
        Field(area, 0, 1, data[0:1], "magic byte", "0", "Confluent wire format: a schema id follows"),
        Field(area, 1, 5, data[1:5], "schema id", str(schema_id), "the registry's id of the writer's schema"),
    ]
    pos = 5
    if schema is not None and schema.schema_type == "PROTOBUF":
        count, after = read_varint(data, pos)
        if count == 0:
            fields.append(
                Field(
                    area,
                    pos,
                    after,
                    data[pos:after],
                    "message indexes",
                    "[0]",
                    "the first message type of the .proto (0 alone stands for [0])",
                )
            )
            pos = after
        else:
            indexes = []
            start = pos
            pos = after
            for _ in range(count):
                index, pos = read_varint(data, pos)
                indexes.append(index)
            fields.append(
                Field(
                    area,
                    start,
                    pos,
                    data[start:pos],
                    "message indexes",
                    str(indexes),
                    "count, then the path to the message type in the .proto",
                )
            )
    kind = {"AVRO": "Avro binary", "PROTOBUF": "Protobuf binary", "JSON": "JSON"}.get(
        schema.schema_type if schema else "", "body"
    )
    body = data[pos:]
    fields.append(
        Field(area, pos, len(data), body, kind, _preview(body), f"{len(body)} bytes, decoded below")
    )
    return fields, body


def xray(
    topic: str,
    partition: int,
    offset: int,
    raw: bytes,
    lookup: SchemaLookup | None = None,
) -> XRay:
    """The X-ray of the record at ``offset`` in the batch ``raw`` (as the leader served it)."""
    from kcli.protocol.records import decompress

    result = XRay(topic, partition, offset)
    header, h = _header_fields(raw)
    result.sections.append(Section("batch header (61 bytes)", tuple(header)))
    codec = h["attributes"] & 0x07
    payload = raw[61:]
    area = "batch"
    if codec:
        try:
            body = decompress(codec, payload)
        except Exception as exc:
            result.problems.append(f"cannot decompress the {CODECS.get(codec)} records: {exc}")
            return result
        area = "records"
        result.sections.append(
            Section(
                f"records, {CODECS.get(codec)}-compressed",
                (
                    Field(
                        "batch",
                        61,
                        len(raw),
                        payload,
                        "compressed records",
                        f"{len(payload)} bytes",
                        f"{len(body)} bytes once decompressed",
                    ),
                ),
            )
        )
        base = 0
    else:
        body = payload
        base = 61
    try:
        fields, notes, found = _records_fields(body, area, h["baseOffset"], h["baseTimestamp"], offset)
    except ValueError as exc:
        result.problems.append(f"records do not parse: {exc}")
        return result
    if base:
        fields = [
            Field(f.area, f.start + base, f.end + base, f.raw, f.name, f.value, f.meaning) for f in fields
        ]
    if fields:
        where = "of the batch" if area == "batch" else "of the decompressed records"
        notes = [f"{notes[0]}, bytes {fields[0].start}-{fields[-1].end - 1} {where}"]
    result.sections.append(Section(f"record at offset {offset}", tuple(fields), tuple(notes)))
    for what in ("key", "value"):
        data = found.get(what)
        schema_id = (
            struct.unpack(">I", data[1:5])[0]
            if data is not None and len(data) >= 5 and data[0] == 0
            else None
        )
        schema = None
        if schema_id is not None and lookup is not None:
            try:
                schema = lookup(schema_id)
            except Exception as exc:
                result.problems.append(f"schema {schema_id}: {exc}")
        frame, body_bytes = framing(data, what, schema)
        if frame:
            result.sections.append(Section(f"{what}: Confluent framing", tuple(frame)))
            if schema is not None:
                result.schema = schema
                result.decoded.append(
                    (
                        f"{what} ({schema.schema_type}, schema id {schema.schema_id})",
                        decode_body(body_bytes or b"", schema),
                    )
                )
            else:
                result.decoded.append(
                    (
                        f"{what} (schema id {schema_id})",
                        "no registry to fetch the schema from: body shown as bytes",
                    )
                )
        elif data is not None:
            result.decoded.append((what, plain(data)))
        else:
            result.decoded.append((what, "null"))
    return result
