"""The embedded formats of REST Proxy requests and responses: how a record's key or value is
written in JSON, and turned into (or read from) Kafka bytes.

- ``binary``: base64 text; ``json``: any JSON value (stored as its JSON text); ``string`` (v3):
  text stored as UTF-8;
- ``avro``, ``jsonschema``, ``protobuf``: JSON in the schema's own JSON mapping (Avro's JSON
  encoding with wrapped unions, plain JSON, protobuf's JSON mapping), stored in Confluent's wire
  format with the schema registered under ``<topic>-key``/``<topic>-value`` (TopicNameStrategy),
  or given by id.

The schema work is the console tools' (:mod:`kcli.schema_registry.client_schemas`,
``*_serde``), so REST and command line accept and refuse exactly the same values.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

import orjson

from kcli.rest_proxy import errors
from kcli.rest_proxy.errors import RestError

SCHEMA_FORMATS = {"avro": "AVRO", "jsonschema": "JSON", "protobuf": "PROTOBUF"}
PLAIN_FORMATS = ("binary", "json", "string")


class Schemas:
    """Registry access for the schema formats: encoders by (subject, schema) and one decoder."""

    def __init__(self, url: str | None):
        self.url = url
        self._encoders: dict[tuple[Any, ...], tuple[Any, int, int | None]] = {}
        self._lock = threading.Lock()
        self._decoder: Any = None

    def client(self) -> Any:
        if not self.url:
            raise RestError(errors.KAFKA_ERROR, "schema.registry.url is not set in kafka-rest.properties")
        from kcli.schema_registry.client import SchemaRegistryClient

        return SchemaRegistryClient(self.url)

    def encoder(
        self,
        schema_type: str,
        subject: str,
        schema: str | None = None,
        schema_id: int | None = None,
        version: int | None = None,
        missing_code: int = errors.VALUE_SCHEMA_MISSING,
    ) -> tuple[Any, int, int | None]:
        """(encoder, schema id, version) for a subject: register ``schema`` text, or look up by id/version."""
        from kcli.schema_registry.client import RegistryClientError
        from kcli.schema_registry.client_schemas import parse_registered, parse_text
        from kcli.schema_registry.errors import RegistryError

        key = (schema_type, subject, schema, schema_id, version)
        with self._lock:
            if key in self._encoders:
                return self._encoders[key]
        client = self.client()
        try:
            if schema is not None:
                parsed = parse_text(client, schema_type, schema)
                new_id = client.register(subject, parsed.canonical, schema_type)
                found_version = client.lookup(subject, parsed.canonical, schema_type).version
            elif schema_id is not None:
                found = client.get_schema_by_id(schema_id)
                parsed, new_id, found_version = parse_registered(client, found), schema_id, None
            elif version is not None or schema_type:
                found = client.version(subject, "latest" if version is None else version)
                parsed, new_id, found_version = (
                    parse_registered(client, found),
                    found.schema_id,
                    found.version,
                )
            else:  # pragma: no cover - callers pass one of the above
                raise RestError(missing_code, "Request includes values but does not include value schema")
        except RegistryError as exc:
            raise RestError(errors.INVALID_SCHEMA, f"Invalid schema: {exc.message}") from None
        except RegistryClientError as exc:
            if exc.error_code in (40401, 40402, 40403):
                raise RestError(missing_code, f"Schema not found: {exc}") from None
            code = errors.INVALID_SCHEMA if exc.status in (409, 422) else errors.KAFKA_ERROR
            raise RestError(code, f"Error from the schema registry: {exc}") from None
        encoder = _make_encoder(schema_type, client, parsed, new_id)
        result = (encoder, new_id, found_version)
        with self._lock:
            self._encoders[key] = result
        return result

    def decode(self, data: bytes) -> Any:
        from kcli.schema_registry.decoding import DecodeError, SchemaDecoder

        with self._lock:
            if self._decoder is None:
                self._decoder = SchemaDecoder(self.client())
            decoder = self._decoder
        try:
            return decoder.decode(data).json_value
        except DecodeError as exc:
            raise RestError(errors.KAFKA_ERROR, f"Kafka error: {exc}") from None


def _make_encoder(schema_type: str, client: Any, parsed: Any, schema_id: int) -> Any:
    if schema_type == "AVRO":
        from kcli.schema_registry.serde import AvroEncoder

        return AvroEncoder(client, parsed.schema, schema_id)
    if schema_type == "JSON":
        from kcli.schema_registry.json_serde import JsonSchemaEncoder

        return JsonSchemaEncoder(parsed, schema_id)
    from kcli.schema_registry.protobuf_serde import ProtobufEncoder

    return ProtobufEncoder(parsed, schema_id)


def encode_with(encoder: Any, value: Any, what: str) -> bytes:
    """A JSON value through a schema encoder; a mismatch is REST Proxy's 42203, naming the field."""
    try:
        return encoder.encode_json(orjson.dumps(value).decode())
    except ValueError as exc:
        raise RestError(errors.JSON_CONVERSION, f"Conversion of JSON to {what} failed: {exc}") from None


def encode_plain(fmt: str, value: Any) -> bytes | None:
    """binary/json/string values to bytes (None stays None: a null key or a tombstone)."""
    if value is None:
        return None
    if fmt == "binary":
        if not isinstance(value, str):
            raise RestError(errors.JSON_CONVERSION, "Binary data must be a base64-encoded string")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise RestError(errors.JSON_CONVERSION, "Binary data is not valid base64") from None
    if fmt == "string":
        if not isinstance(value, str):
            raise RestError(errors.JSON_CONVERSION, "String data must be a JSON string")
        return value.encode()
    return orjson.dumps(value)


def decode_plain(fmt: str, data: bytes | None) -> Any:
    if data is None:
        return None
    if fmt == "binary":
        return base64.b64encode(data).decode("ascii")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise RestError(
            errors.KAFKA_ERROR, "Kafka error: a record is not JSON; read it with the binary format"
        ) from None
