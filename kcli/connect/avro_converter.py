"""``io.confluent.connect.avro.AvroConverter``: Connect data <-> Confluent's Avro wire format.

Writing registers the Avro form of the record's Connect schema under the subject Confluent's
default ``TopicNameStrategy`` names (``<topic>-value`` / ``<topic>-key``) at the registry named by
``schema.registry.url``, then writes magic byte 0, the schema id and the Avro binary body (the
same bytes ``kafka-avro-console-consumer`` reads). Reading fetches the writer schema by id. The
Connect <-> Avro schema mapping follows Confluent's ``AvroData``: structs are records (named
``ConnectDefault`` in ``io.confluent.connect.avro`` when the Connect schema has no name), optional
fields are ``["null", T]`` unions defaulting to null, ``int8``/``int16`` are Avro ints tagged
``connect.type``, and Connect's logical types use Avro's logical types.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro
import orjson

from kcli.connect.data import DATE, DECIMAL, TIME, TIMESTAMP, Field, Schema, Struct
from kcli.connect.errors import DataError
from kcli.schema_registry.serde import MAGIC_BYTE

_PRIMITIVE_TO_AVRO = {
    "int32": "int",
    "int64": "long",
    "float32": "float",
    "float64": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "bytes",
}
_AVRO_TO_PRIMITIVE = {v: k for k, v in _PRIMITIVE_TO_AVRO.items()}
NAMESPACE = "io.confluent.connect.avro"
DEFAULT_NAME = "ConnectDefault"


class AvroConverter:
    """Configured with ``schema.registry.url`` (required) and ``auto.register.schemas`` (default true)."""

    def __init__(self) -> None:
        self.client: Any = None
        self.is_key = False
        self.auto_register = True
        self._ids: dict[tuple[str, str], int] = {}
        self._readers: dict[int, tuple[Any, Schema | None]] = {}

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        from kcli.schema_registry.client import SchemaRegistryClient

        url = configs.get("schema.registry.url")
        if not url:
            raise DataError(
                'Missing required configuration "schema.registry.url" which has no default value.'
            )
        self.client = SchemaRegistryClient(str(url))
        self.is_key = is_key
        self.auto_register = str(configs.get("auto.register.schemas", "true")).lower() != "false"

    def _subject(self, topic: str) -> str:
        return f"{topic}-{'key' if self.is_key else 'value'}"

    def from_connect_data(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        from kcli.schema_registry.client import RegistryClientError

        if value is None and (schema is None or schema.optional):
            return None
        if schema is None:
            raise DataError(
                "AvroConverter needs a schema: the record has none (use a converter with schemas)"
            )
        avro = to_avro_schema(schema)
        text = orjson.dumps(avro).decode()
        subject = self._subject(topic)
        schema_id = self._ids.get((subject, text))
        if schema_id is None:
            try:
                if self.auto_register:
                    schema_id = self.client.register(subject, text)
                else:
                    schema_id = self.client.lookup(subject, text).schema_id
            except RegistryClientError as exc:
                raise DataError(f"Failed to serialize Avro data from topic {topic} :{exc}") from None
            self._ids[(subject, text)] = schema_id
        parsed = fastavro.parse_schema(avro, named_schemas={})
        out = io.BytesIO()
        out.write(struct.pack(">bI", MAGIC_BYTE, schema_id))
        try:
            fastavro.schemaless_writer(out, parsed, to_avro_value(schema, value))
        except (ValueError, TypeError) as exc:
            raise DataError(f"Failed to serialize Avro data from topic {topic} :{exc}") from None
        return out.getvalue()

    def to_connect_data(self, topic: str, data: bytes | None) -> tuple[Schema | None, Any]:
        from kcli.schema_registry.client import RegistryClientError
        from kcli.schema_registry.serde import AvroSerdeError, split

        if data is None:
            return None, None
        try:
            schema_id, body = split(data)
        except AvroSerdeError as exc:
            raise DataError(f"Failed to deserialize data for topic {topic} to Avro: {exc}") from None
        if schema_id not in self._readers:
            try:
                text = self.client.get_schema_by_id(schema_id).schema
            except RegistryClientError as exc:
                raise DataError(f"Error retrieving Avro schema for id {schema_id}: {exc}") from None
            raw = orjson.loads(text)
            self._readers[schema_id] = (fastavro.parse_schema(raw, named_schemas={}), to_connect_schema(raw))
        parsed, connect_schema = self._readers[schema_id]
        try:
            datum = fastavro.schemaless_reader(io.BytesIO(body), parsed)
        except Exception as exc:  # fastavro raises plain exceptions for truncated or foreign bytes
            raise DataError(f"Failed to deserialize data for topic {topic} to Avro: {exc}") from None
        return connect_schema, to_connect_value(connect_schema, datum)


# ---------------------------------------------------------------------------------------------
# Schemas


def to_avro_schema(schema: Schema, optional_wrap: bool = True) -> Any:
    """Confluent's ``AvroData.fromConnectSchema``."""
    base = _avro_base(schema)
    if schema.optional and optional_wrap:
        return ["null", base]
    return base


def _avro_base(schema: Schema) -> Any:
    name = schema.name
    if name == DECIMAL:
        scale = int((schema.parameters or {}).get("scale", "0"))
        return {
            "type": "bytes",
            "scale": scale,
            "precision": int((schema.parameters or {}).get("connect.decimal.precision", "64")),
            "connect.version": 1,
            "connect.parameters": dict(schema.parameters or {"scale": str(scale)}),
            "connect.name": DECIMAL,
            "logicalType": "decimal",
        }
    if name == DATE:
        return {"type": "int", "connect.version": 1, "connect.name": DATE, "logicalType": "date"}
    if name == TIME:
        return {"type": "int", "connect.version": 1, "connect.name": TIME, "logicalType": "time-millis"}
    if name == TIMESTAMP:
        return {
            "type": "long",
            "connect.version": 1,
            "connect.name": TIMESTAMP,
            "logicalType": "timestamp-millis",
        }
    kind = schema.type
    if kind in ("int8", "int16"):
        return {"type": "int", "connect.type": kind}
    if kind in _PRIMITIVE_TO_AVRO:
        if name or schema.doc:
            out: dict[str, Any] = {"type": _PRIMITIVE_TO_AVRO[kind]}
            if schema.doc:
                out["connect.doc"] = schema.doc
            if name:
                out["connect.name"] = name
            return out
        return _PRIMITIVE_TO_AVRO[kind]
    if kind == "array":
        assert schema.value_schema is not None
        return {"type": "array", "items": to_avro_schema(schema.value_schema)}
    if kind == "map":
        assert schema.key_schema is not None and schema.value_schema is not None
        if schema.key_schema.type == "string" and not schema.key_schema.optional:
            return {"type": "map", "values": to_avro_schema(schema.value_schema)}
        return {
            "type": "array",
            "items": {
                "type": "record",
                "name": "MapEntry",
                "namespace": NAMESPACE,
                "fields": [
                    {"name": "key", "type": to_avro_schema(schema.key_schema)},
                    {"name": "value", "type": to_avro_schema(schema.value_schema)},
                ],
            },
        }
    if kind == "struct":
        full = name or f"{NAMESPACE}.{DEFAULT_NAME}"
        namespace, _, short = full.rpartition(".")
        record: dict[str, Any] = {"type": "record", "name": short}
        if namespace:
            record["namespace"] = namespace
        if schema.doc:
            record["doc"] = schema.doc
        fields = []
        for f in schema.fields:
            entry: dict[str, Any] = {"name": f.name, "type": to_avro_schema(f.schema)}
            if f.schema.optional:
                entry["default"] = None
            fields.append(entry)
        record["fields"] = fields
        return record
    raise DataError(f"Unknown schema type: {kind}")


def to_connect_schema(avro: Any, optional: bool = False) -> Schema:
    """Confluent's ``AvroData.toConnectSchema`` for the types above (and plain Avro written elsewhere)."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) == 1 and len(branches) < len(avro):
            return to_connect_schema(branches[0], optional=True)
        raise DataError('Avro unions other than ["null", T] have no Connect schema in kcli')
    if isinstance(avro, str):
        avro = {"type": avro}
    kind = avro.get("type")
    if isinstance(kind, (dict, list)):
        return to_connect_schema(kind, optional)
    logical = avro.get("logicalType")
    if logical == "decimal":
        return Schema(
            "bytes", optional, name=DECIMAL, version=1, parameters={"scale": str(avro.get("scale", 0))}
        )
    if logical == "date":
        return Schema("int32", optional, name=DATE, version=1)
    if logical == "time-millis":
        return Schema("int32", optional, name=TIME, version=1)
    if logical == "timestamp-millis":
        return Schema("int64", optional, name=TIMESTAMP, version=1)
    if kind == "int" and avro.get("connect.type") in ("int8", "int16"):
        return Schema(avro["connect.type"], optional)
    if kind in _AVRO_TO_PRIMITIVE:
        return Schema(
            _AVRO_TO_PRIMITIVE[kind], optional, name=avro.get("connect.name"), doc=avro.get("connect.doc")
        )
    if kind == "enum":
        return Schema("string", optional, name=avro.get("name"))
    if kind == "fixed":
        return Schema("bytes", optional, name=avro.get("name"))
    if kind == "array":
        items = avro["items"]
        if (
            isinstance(items, dict)
            and items.get("type") == "record"
            and items.get("name") == "MapEntry"
            and [f["name"] for f in items.get("fields", [])] == ["key", "value"]
        ):
            key_type, value_type = (f["type"] for f in items["fields"])
            return Schema(
                "map",
                optional,
                key_schema=to_connect_schema(key_type),
                value_schema=to_connect_schema(value_type),
            )
        return Schema("array", optional, value_schema=to_connect_schema(items))
    if kind == "map":
        return Schema(
            "map", optional, key_schema=Schema("string"), value_schema=to_connect_schema(avro["values"])
        )
    if kind in ("record", "error"):
        name = avro.get("name", DEFAULT_NAME)
        namespace = avro.get("namespace")
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        if full == f"{NAMESPACE}.{DEFAULT_NAME}":
            full = None
        schema = Schema("struct", optional, name=full, doc=avro.get("doc"))
        for i, f in enumerate(avro.get("fields", [])):
            schema.fields.append(Field(f["name"], i, to_connect_schema(f["type"])))
        return schema
    raise DataError(f"Unsupported Avro type {kind}")


# ---------------------------------------------------------------------------------------------
# Values


def to_avro_value(schema: Schema, value: Any) -> Any:
    if value is None:
        return None
    if schema.type == "struct":
        if not isinstance(value, Struct):
            raise DataError(f"Invalid type for STRUCT: {type(value).__name__}")
        return {
            f.name: to_avro_value(f.schema, value.values.get(f.name, f.schema.default)) for f in schema.fields
        }
    if schema.type == "array":
        assert schema.value_schema is not None
        return [to_avro_value(schema.value_schema, v) for v in value]
    if schema.type == "map":
        assert schema.key_schema is not None and schema.value_schema is not None
        if schema.key_schema.type == "string" and not schema.key_schema.optional:
            return {k: to_avro_value(schema.value_schema, v) for k, v in value.items()}
        return [
            {"key": to_avro_value(schema.key_schema, k), "value": to_avro_value(schema.value_schema, v)}
            for k, v in value.items()
        ]
    return value


def to_connect_value(schema: Schema | None, datum: Any) -> Any:
    if schema is None or datum is None:
        return datum
    if schema.type == "struct":
        struct = Struct(schema)
        for f in schema.fields:
            struct.values[f.name] = to_connect_value(f.schema, datum.get(f.name))
        return struct
    if schema.type == "array":
        return [to_connect_value(schema.value_schema, v) for v in datum]
    if schema.type == "map":
        if isinstance(datum, dict):
            return {k: to_connect_value(schema.value_schema, v) for k, v in datum.items()}
        return {
            to_connect_value(schema.key_schema, e["key"]): to_connect_value(schema.value_schema, e["value"])
            for e in datum
        }
    return datum
