"""Kafka's plain converters: ``StringConverter``, ``ByteArrayConverter`` and the number converters.

``StringConverter`` writes ``str(value)`` as UTF-8 (``converter.encoding`` / ``serializer.encoding``
may name another encoding) and reads bytes back as an optional string; ``ByteArrayConverter``
passes bytes through untouched; ``IntegerConverter``/``LongConverter``/... use the big-endian layouts
of Kafka's serializers, so the console consumer's ``LongDeserializer`` reads what they write.
"""

from __future__ import annotations

import codecs
import struct
from typing import Any

from kcli.connect.data import Schema, java_string
from kcli.connect.errors import DataError


class StringConverter:
    """``org.apache.kafka.connect.storage.StringConverter``."""

    def __init__(self) -> None:
        self.encoding = "utf-8"

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        name = (
            configs.get("converter.encoding")
            or configs.get("serializer.encoding")
            or configs.get("deserializer.encoding")
            or "UTF8"
        )
        try:
            self.encoding = codecs.lookup(str(name).replace("UTF8", "utf-8")).name
        except LookupError:
            raise DataError(f"Unsupported encoding {name}") from None

    def from_connect_data(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        return java_string(value).encode(self.encoding)

    def to_connect_data(self, topic: str, data: bytes | None) -> tuple[Schema | None, Any]:
        if data is None:
            return Schema("string", optional=True), None
        try:
            return Schema("string", optional=True), data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise DataError(f"Failed to deserialize string: {exc}") from None


class ByteArrayConverter:
    """``org.apache.kafka.connect.converters.ByteArrayConverter``."""

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        pass

    def from_connect_data(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is not None and schema.type != "bytes":
            raise DataError(f"Invalid schema type for ByteArrayConverter: {schema.type.upper()}")
        if value is not None and not isinstance(value, (bytes, bytearray, memoryview)):
            raise DataError(
                f"ByteArrayConverter is not compatible with objects of type {type(value).__name__}"
            )
        return None if value is None else bytes(value)

    def to_connect_data(self, topic: str, data: bytes | None) -> tuple[Schema | None, Any]:
        return Schema("bytes", optional=True), data


class _NumberConverter:
    """A fixed-width big-endian number, as Kafka's ``NumberConverter`` subclasses."""

    kind = "int64"
    fmt = ">q"

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        pass

    def from_connect_data(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if value is None:
            return None
        try:
            return struct.pack(self.fmt, value)
        except (struct.error, TypeError):
            raise DataError(
                f"Failed to serialize to {self.kind.upper()} (was {type(value).__name__})"
            ) from None

    def to_connect_data(self, topic: str, data: bytes | None) -> tuple[Schema | None, Any]:
        schema = Schema(self.kind, optional=True)
        if data is None:
            return schema, None
        if len(data) != struct.calcsize(self.fmt):
            raise DataError(f"Size of data received is not {struct.calcsize(self.fmt)}")
        return schema, struct.unpack(self.fmt, data)[0]


class ShortConverter(_NumberConverter):
    kind, fmt = "int16", ">h"


class IntegerConverter(_NumberConverter):
    kind, fmt = "int32", ">i"


class LongConverter(_NumberConverter):
    kind, fmt = "int64", ">q"


class FloatConverter(_NumberConverter):
    kind, fmt = "float32", ">f"


class DoubleConverter(_NumberConverter):
    kind, fmt = "float64", ">d"


class BooleanConverter(_NumberConverter):
    kind, fmt = "boolean", ">?"
