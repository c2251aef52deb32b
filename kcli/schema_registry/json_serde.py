"""Confluent's wire format for JSON Schema: magic byte 0, the schema id (4 bytes), then the JSON text.

The value is validated against the schema before it is written, as Confluent's serializer does
with ``json.fail.invalid.schema=true`` (the console producer's behaviour): a value that does not
match gets an error naming the field.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

from kcli.schema_registry.json_schema import JsonSchemaParsed

_HEADER = struct.Struct(">bI")


class SchemaValueError(ValueError):
    """A value does not match its schema; the message names the field."""


def parse_json_value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SchemaValueError(f"not valid JSON ({exc})") from None


class JsonSchemaEncoder:
    """Encode JSON text lines for one schema id, validating each value first."""

    def __init__(self, schema: JsonSchemaParsed, schema_id: int):
        self.schema = schema
        self.schema_id = schema_id
        self._validator = schema.validator()

    def encode_json(self, text: str) -> bytes:
        value = parse_json_value(text)
        problems = self.schema.errors(value)
        if problems:
            raise SchemaValueError(problems[0])
        return _HEADER.pack(0, self.schema_id) + orjson.dumps(value)
