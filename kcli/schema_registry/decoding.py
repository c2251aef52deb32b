"""Decoding Confluent wire-format records of any schema type, for the console consumers and the TUI.

The record says only its schema id; the registry says the schema's type (AVRO, JSON, PROTOBUF),
text and references. :class:`SchemaDecoder` fetches each id once (ids are immutable), parses it
with its references, and turns the body into a Python value and JSON text: Avro-JSON for Avro
(unions wrapped, as Confluent's Avro formatter prints), the JSON itself for JSON Schema, and
protobuf's JSON mapping for Protobuf.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kcli.schema_registry.client import RegisteredSchema, RegistryClientError, SchemaRegistryClient
from kcli.schema_registry.errors import RegistryError

MAGIC_BYTE = 0
LABELS = {"AVRO": "Avro", "JSON": "JSON Schema", "PROTOBUF": "Protobuf"}


class DecodeError(Exception):
    """Not in the wire format, schema not found, or the body does not match its schema."""


@dataclass(frozen=True)
class Decoded:
    schema_type: str
    schema_id: int
    subject: str | None
    version: int | None
    json_value: Any  # the format's JSON mapping (Avro: unions wrapped as {"string": "x"})
    text: str  # that JSON, compact, as Confluent's formatters print it
    message: str | None = None  # Protobuf: the message's full name
    plain: Callable[[], Any] | None = None  # Avro: the datum without union wrappers, read on demand

    @property
    def value(self) -> Any:
        """Plain Python (dicts, lists, str, numbers): what the TUI shows."""
        return self.plain() if self.plain is not None else self.json_value

    @property
    def label(self) -> str:
        return LABELS.get(self.schema_type, self.schema_type)


def split(data: bytes) -> tuple[int, bytes]:
    if len(data) < 5 or data[0] != MAGIC_BYTE:
        raise DecodeError("Unknown magic byte!" if data else "Empty data is not in the wire format")
    return struct.unpack_from(">I", data, 1)[0], data[5:]


class SchemaDecoder:
    """Wire-format bytes -> :class:`Decoded`, with the registry at ``client``."""

    def __init__(self, client: SchemaRegistryClient):
        self.client = client
        self._schemas: dict[int, tuple[RegisteredSchema, Any]] = {}

    def schema(self, schema_id: int) -> tuple[RegisteredSchema, Any]:
        if schema_id not in self._schemas:
            from kcli.schema_registry.client_schemas import parse_registered

            try:
                found = self.client.get_schema_by_id(schema_id)
                self._schemas[schema_id] = (found, parse_registered(self.client, found))
            except (RegistryClientError, RegistryError, ValueError) as exc:
                raise DecodeError(f"Error retrieving schema for id {schema_id}: {exc}") from None
        return self._schemas[schema_id]

    def decode(self, data: bytes) -> Decoded:
        schema_id, body = split(data)
        return self.decode_body(schema_id, body)

    def decode_body(self, schema_id: int, body: bytes) -> Decoded:
        found, parsed = self.schema(schema_id)
        kind = found.schema_type
        message = None
        plain = None
        try:
            if kind == "AVRO":
                import fastavro

                from kcli.schema_registry.avro_json import to_avro_json

                datum = fastavro.schemaless_reader(
                    io.BytesIO(body), parsed.schema.parsed, return_named_type=True
                )
                value = to_avro_json(parsed.schema, datum)
                text = orjson.dumps(value).decode()

                def plain() -> Any:
                    return fastavro.schemaless_reader(io.BytesIO(body), parsed.schema.parsed)

            elif kind == "JSON":
                value = orjson.loads(body)
                text = orjson.dumps(value).decode()
            else:
                from google.protobuf import json_format

                from kcli.schema_registry.protobuf_serde import decode_message

                decoded, message = decode_message(parsed, body)
                value = json_format.MessageToDict(decoded)
                text = orjson.dumps(value).decode()
        except DecodeError:
            raise
        except Exception as exc:  # each library raises its own types for a corrupt body
            raise DecodeError(
                f"cannot decode the {LABELS.get(kind, kind)} record (schema id {schema_id}): {exc}"
            ) from None
        return Decoded(kind, schema_id, found.subject, found.version, value, text, message, plain)


def registry_decoder(url: str) -> Callable[[int, bytes], Decoded]:
    """``(schema id, body after the 5-byte header) -> Decoded`` for the registry at ``url``: the
    hook the TUI's message pane calls, for every schema type."""
    return SchemaDecoder(SchemaRegistryClient(url)).decode_body
