"""Confluent's wire format for Protobuf: magic byte 0, the schema id, the message indexes, the message.

The *message indexes* say which message of the schema's file the record is: the path of indexes
from the file's top-level messages down through nested ones, written as a zig-zag varint count
followed by zig-zag varint indexes; the common case ``[0]`` (the first message) is the single
byte 0. Values are read and printed in protobuf's JSON mapping (``google.protobuf.json_format``),
as Confluent's console tools do.
"""

from __future__ import annotations

import struct
from typing import Any

from kcli.schema_registry.json_serde import SchemaValueError
from kcli.schema_registry.protobuf_schema import ProtobufParsed

_HEADER = struct.Struct(">bI")


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise SchemaValueError("truncated message indexes")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise SchemaValueError("malformed message indexes")


def encode_indexes(indexes: list[int]) -> bytes:
    if indexes == [0]:
        return b"\x00"
    return _varint(_zigzag(len(indexes))) + b"".join(_varint(_zigzag(i)) for i in indexes)


def decode_indexes(data: bytes, pos: int = 0) -> tuple[list[int], int]:
    """(message indexes, position after them) read from ``data`` at ``pos``."""
    raw, pos = _read_varint(data, pos)
    count = _unzigzag(raw)
    if count == 0:
        return [0], pos
    if count < 0 or count > 100:
        raise SchemaValueError("malformed message indexes")
    indexes = []
    for _ in range(count):
        raw, pos = _read_varint(data, pos)
        indexes.append(_unzigzag(raw))
    return indexes, pos


def message_descriptor(schema: ProtobufParsed, indexes: list[int]) -> Any:
    """The message descriptor the indexes point at."""
    pool = schema.pool()
    file = pool.FindFileByName(schema.fdp.name)
    messages = list(file.message_types_by_name.values())
    descriptor = None
    for index in indexes:
        if index >= len(messages):
            raise SchemaValueError(f"message index {indexes} is not in the schema")
        descriptor = messages[index]
        messages = list(descriptor.nested_types)
    if descriptor is None:
        raise SchemaValueError("the schema has no message")
    return descriptor


def indexes_of(schema: ProtobufParsed, full_name: str) -> list[int]:
    """The message indexes of the message ``full_name`` (``pkg.Outer.Inner``) in the schema."""
    pool = schema.pool()
    file = pool.FindFileByName(schema.fdp.name)

    def walk(messages: list[Any], path: list[int]) -> list[int] | None:
        for i, message in enumerate(messages):
            if message.full_name == full_name or message.name == full_name:
                return [*path, i]
            found = walk(list(message.nested_types), [*path, i])
            if found is not None:
                return found
        return None

    found = walk(list(file.message_types_by_name.values()), [])
    if found is None:
        raise SchemaValueError(f"the schema has no message {full_name}")
    return found


def message_class(descriptor: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


class ProtobufEncoder:
    """Encode JSON text lines (protobuf's JSON mapping) as one message type of a registered schema."""

    def __init__(self, schema: ProtobufParsed, schema_id: int, message: str | None = None):
        self.schema = schema
        self.schema_id = schema_id
        names = schema.message_names()
        if not names:
            raise SchemaValueError("the Protobuf schema defines no message")
        self.indexes = indexes_of(schema, message) if message else [0]
        self.cls = message_class(message_descriptor(schema, self.indexes))

    def encode_json(self, text: str) -> bytes:
        from google.protobuf import json_format

        try:
            message = json_format.Parse(text, self.cls())
        except json_format.ParseError as exc:
            raise SchemaValueError(str(exc)) from None
        return _HEADER.pack(0, self.schema_id) + encode_indexes(self.indexes) + message.SerializeToString()


def decode_message(schema: ProtobufParsed, body: bytes) -> tuple[Any, str]:
    """(the decoded message, its full name) from the bytes after the 5-byte header."""
    from google.protobuf.message import DecodeError

    indexes, pos = decode_indexes(body)
    descriptor = message_descriptor(schema, indexes)
    message = message_class(descriptor)()
    try:
        message.ParseFromString(body[pos:])
    except DecodeError as exc:
        raise SchemaValueError(f"cannot decode {descriptor.full_name}: {exc}") from None
    return message, descriptor.full_name
