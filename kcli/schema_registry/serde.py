"""Confluent's wire format for Avro: magic byte 0, the schema id (4 bytes, big-endian), Avro binary.

Used by the Avro console tools, by the plain console consumer (``value.deserializer=
io.confluent.kafka.serializers.KafkaAvroDeserializer``) and by the TUI. The id is resolved with the
registry once and cached: ids are immutable, so a consumer asks the registry once per schema.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import fastavro
import orjson

from kcli.schema_registry import avro_schema
from kcli.schema_registry.avro_json import from_avro_json, to_avro_json
from kcli.schema_registry.client import RegistryClientError, SchemaRegistryClient
from kcli.schema_registry.errors import RegistryError

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")


class AvroSerdeError(Exception):
    """A record is not in the wire format, or its schema cannot be found."""


def encode(schema_id: int, schema: avro_schema.AvroSchema, datum: object) -> bytes:
    """Wire-format bytes of a datum (as produced by :func:`from_avro_json`)."""
    out = io.BytesIO()
    out.write(_HEADER.pack(MAGIC_BYTE, schema_id))
    fastavro.schemaless_writer(out, schema.parsed, datum)
    return out.getvalue()


def split(data: bytes) -> tuple[int, bytes]:
    """(schema id, Avro body) of wire-format bytes."""
    if len(data) < 5 or data[0] != MAGIC_BYTE:
        raise AvroSerdeError("Unknown magic byte!" if data else "Empty data is not in the Avro wire format")
    _magic, schema_id = _HEADER.unpack_from(data)
    return schema_id, data[5:]


class AvroDecoder:
    """Decode wire-format bytes to Avro-JSON text, fetching writer schemas by id from the registry."""

    def __init__(self, client: SchemaRegistryClient):
        self.client = client
        self._schemas: dict[int, avro_schema.AvroSchema] = {}

    def schema(self, schema_id: int) -> avro_schema.AvroSchema:
        if schema_id not in self._schemas:
            try:
                found = self.client.get_schema_by_id(schema_id)
                self._schemas[schema_id] = avro_schema.parse(found.schema)
            except (RegistryClientError, RegistryError) as exc:
                raise AvroSerdeError(f"Error retrieving Avro schema for id {schema_id}: {exc}") from None
        return self._schemas[schema_id]

    def decode(self, data: bytes) -> tuple[str, int]:
        """(Avro-JSON text, schema id) of one wire-format key or value."""
        schema_id, body = split(data)
        schema = self.schema(schema_id)
        datum = fastavro.schemaless_reader(io.BytesIO(body), schema.parsed, return_named_type=True)
        return orjson.dumps(to_avro_json(schema, datum)).decode(), schema_id


def avro_deserializer_from_properties(
    properties: dict[str, str], is_key: bool
) -> Callable[[bytes | None], str | None]:
    """A console-consumer deserializer: wire-format bytes -> Avro-JSON text (None stays None).

    Needs ``schema.registry.url`` in ``properties`` (the ``--property`` settings), as Confluent's
    KafkaAvroDeserializer does.
    """
    url = properties.get("schema.registry.url")
    if not url:
        from kcli.serde import SerdeError

        raise SerdeError("KafkaAvroDeserializer needs --property schema.registry.url=http://HOST:8081")
    decoder = AvroDecoder(SchemaRegistryClient(url))

    def deserialize(data: bytes | None) -> str | None:
        if data is None:
            return None
        return decoder.decode(data)[0]

    return deserialize


class AvroEncoder:
    """Encode Avro-JSON text lines for one subject: register (or look up) the schema once."""

    def __init__(self, client: SchemaRegistryClient, schema: avro_schema.AvroSchema, schema_id: int):
        self.client = client
        self.schema = schema
        self.schema_id = schema_id

    def encode_json(self, text: str) -> bytes:
        """Wire-format bytes for one Avro-JSON text; raises AvroJsonError naming the bad field."""
        from kcli.schema_registry.avro_json import AvroJsonError

        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise AvroJsonError("", f"not valid JSON ({exc})") from None
        return encode(self.schema_id, self.schema, from_avro_json(self.schema, value))
