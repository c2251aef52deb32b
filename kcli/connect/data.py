"""Connect's data model: ``Schema`` (with Kafka's schema types and logical types) and ``Struct``.

Converters turn bytes into ``(schema, value)`` pairs and back; connectors see Python values:
``str``, ``int``, ``float``, ``bool``, ``bytes``, ``list``, ``dict``, :class:`Struct`, ``None``,
with ``decimal.Decimal`` and ``datetime`` for the logical types. :func:`java_string` renders a
value the way Java's ``toString()`` does, because that is what ``FileStreamSink`` writes to its
file (``Struct{id=1,name=Bond}``, ``{a=1, b=2}``, ``[1, 2]``).
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass, field
from typing import Any

#: Connect's primitive and container schema types (``Schema.Type``), lower case as in JSON.
TYPES = (
    "int8",
    "int16",
    "int32",
    "int64",
    "float32",
    "float64",
    "boolean",
    "string",
    "bytes",
    "array",
    "map",
    "struct",
)

DECIMAL = "org.apache.kafka.connect.data.Decimal"
DATE = "org.apache.kafka.connect.data.Date"
TIME = "org.apache.kafka.connect.data.Time"
TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"


@dataclass
class Field:
    name: str
    index: int
    schema: Schema


@dataclass
class Schema:
    """``org.apache.kafka.connect.data.Schema``: a type plus optional name, version and parameters."""

    type: str
    optional: bool = False
    default: Any = None
    name: str | None = None
    version: int | None = None
    doc: str | None = None
    parameters: dict[str, str] | None = None
    fields: list[Field] = field(default_factory=list)
    key_schema: Schema | None = None
    value_schema: Schema | None = None

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def __hash__(self) -> int:
        return hash((self.type, self.optional, self.name, self.version))


def struct_schema(name: str | None, fields: list[tuple[str, Schema]], optional: bool = False) -> Schema:
    """A struct schema from ``(field name, schema)`` pairs, in order."""
    return Schema(
        "struct",
        optional=optional,
        name=name,
        fields=[Field(n, i, s) for i, (n, s) in enumerate(fields)],
    )


STRING_SCHEMA = Schema("string")
OPTIONAL_STRING_SCHEMA = Schema("string", optional=True)
BYTES_SCHEMA = Schema("bytes")
OPTIONAL_BYTES_SCHEMA = Schema("bytes", optional=True)
INT64_SCHEMA = Schema("int64")
OPTIONAL_INT64_SCHEMA = Schema("int64", optional=True)


class Struct:
    """``org.apache.kafka.connect.data.Struct``: values by field name, checked against the schema."""

    def __init__(self, schema: Schema, values: dict[str, Any] | None = None):
        if schema.type != "struct":
            raise ValueError("Struct requires a struct schema")
        self.schema = schema
        self.values: dict[str, Any] = {}
        for name, value in (values or {}).items():
            self.put(name, value)

    def put(self, name: str, value: Any) -> Struct:
        if self.schema.field(name) is None:
            from kcli.connect.errors import DataError

            raise DataError(f"{name} is not a valid field name")
        self.values[name] = value
        return self

    def get(self, name: str) -> Any:
        f = self.schema.field(name)
        if f is None:
            from kcli.connect.errors import DataError

            raise DataError(f"{name} is not a valid field name")
        return self.values.get(name, f.schema.default)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Struct) and self.schema == other.schema and self.values == other.values

    def __repr__(self) -> str:
        return java_string(self)


def java_string(value: Any) -> str:
    """Java's ``String.valueOf`` of a Connect value (what ``PrintStream.println`` writes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        from kcli.serde import java_double_to_string

        return java_double_to_string(value)
    if isinstance(value, decimal.Decimal):
        return _java_big_decimal(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Java prints "[B@<hash>" for a byte[]; the bytes themselves are more use (kcli's choice,
        # the same as ByteArrayDeserializer in the console consumer).
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Struct):
        parts = [
            f"{f.name}={java_string(value.values[f.name])}"
            for f in value.schema.fields
            if f.name in value.values
        ]
        return "Struct{" + ",".join(parts) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_string(k)}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    if isinstance(value, datetime.datetime):
        # java.util.Date.toString(): "Thu Jan 01 00:00:00 UTC 1970" in the JVM's zone; UTC here.
        value = value.astimezone(datetime.UTC)
        return value.strftime("%a %b %d %H:%M:%S UTC %Y")
    return str(value)


def _java_big_decimal(value: decimal.Decimal) -> str:
    """``BigDecimal.toString()``: plain notation unless the exponent is large (scientific then)."""
    if not value.is_finite():
        return str(value)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    unscaled = "".join(map(str, digits)) or "0"
    scale = -exponent
    adjusted = len(unscaled) - 1 - scale
    if scale >= 0 and adjusted >= -6:
        if scale == 0:
            text = unscaled
        elif len(unscaled) > scale:
            text = unscaled[:-scale] + "." + unscaled[-scale:]
        else:
            text = "0." + "0" * (scale - len(unscaled)) + unscaled
    else:
        mantissa = unscaled[0] + ("." + unscaled[1:] if len(unscaled) > 1 else "")
        text = f"{mantissa}E{'+' if adjusted > 0 else ''}{adjusted}"
    return ("-" if sign else "") + text
