"""``org.apache.kafka.connect.json.JsonConverter``: Connect data <-> JSON, with or without schemas.

With ``schemas.enable=true`` (Kafka's default) every message is Kafka's envelope
``{"schema":{...},"payload":...}``; the quickstart's consumer shows
``{"schema":{"type":"string","optional":false},"payload":"foo"}``. Field order, compact output and
Java's rendering of doubles (``1.0E10``) follow Jackson as Kafka uses it, so the bytes match.
Without schemas the payload alone is written and read back with no schema.
"""

from __future__ import annotations

import base64
import datetime
import decimal
from typing import Any

import orjson

from kcli.connect.data import DATE, DECIMAL, TIME, TIMESTAMP, TYPES, Field, Schema, Struct
from kcli.connect.errors import DataError
from kcli.serde import java_double_to_string

ENVELOPE_ERROR = (
    'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional '
    "fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter "
    "configuration."
)

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise DataError(f"Invalid value {value}: Expected value to be either true or false")
    return text == "true"


class JsonConverter:
    """Configured with ``schemas.enable`` (default true) and ``decimal.format`` (BASE64|NUMERIC)."""

    def __init__(self) -> None:
        self.schemas_enable = True
        self.decimal_numeric = False
        self.replace_null_with_default = True
        self.is_key = False
        self._schema_cache: dict[int, tuple[Schema, bytes]] = {}

    def configure(self, configs: dict[str, Any], is_key: bool) -> None:
        self.is_key = is_key
        self.schemas_enable = _bool(configs.get("schemas.enable"), True)
        fmt = str(configs.get("decimal.format", "BASE64")).upper()
        if fmt not in ("BASE64", "NUMERIC"):
            raise DataError(
                f"Invalid value {fmt} for configuration decimal.format: String must be one of: BASE64, NUMERIC"
            )
        self.decimal_numeric = fmt == "NUMERIC"
        self.replace_null_with_default = _bool(configs.get("replace.null.with.default"), True)

    # -- Connect -> bytes ---------------------------------------------------------------------

    def from_connect_data(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is None and value is None:
            return None
        payload = self._to_json(schema, value)
        body = orjson.dumps(payload) if isinstance(payload, str) else dumps(payload)
        if not self.schemas_enable:
            return body
        return b'{"schema":' + self._schema_bytes(schema) + b',"payload":' + body + b"}"

    def _schema_bytes(self, schema: Schema | None) -> bytes:
        """The envelope's schema part, cached per schema object (a source task reuses one)."""
        if schema is None:
            return b"null"
        cached = self._schema_cache.get(id(schema))
        if cached is None or cached[0] is not schema:
            cached = (schema, dumps(schema_to_json(schema)))
            if len(self._schema_cache) > 1000:
                self._schema_cache.clear()
            self._schema_cache[id(schema)] = cached
        return cached[1]

    def _to_json(self, schema: Schema | None, value: Any) -> Any:
        if schema is None:
            return _schemaless_to_json(value)
        if value is None:
            if schema.default is not None and self.replace_null_with_default:
                return self._to_json(schema, schema.default)
            if schema.optional:
                return None
            raise DataError(
                "Conversion error: null value for field that is required and has no default value"
            )
        name = schema.name
        if name == DECIMAL:
            if not isinstance(value, decimal.Decimal):
                raise DataError(
                    f"Invalid type for Decimal, expected BigDecimal but was {type(value).__name__}"
                )
            if self.decimal_numeric:
                return value
            return base64.b64encode(
                _decimal_bytes(value, int((schema.parameters or {}).get("scale", "0")))
            ).decode()
        if name == DATE and isinstance(value, (datetime.date, datetime.datetime)):
            day = value.date() if isinstance(value, datetime.datetime) else value
            return (day - _EPOCH.date()).days
        if name == TIME and isinstance(value, (datetime.time, datetime.datetime)):
            t = value.time() if isinstance(value, datetime.datetime) else value
            return ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000
        if name == TIMESTAMP and isinstance(value, datetime.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
            return int((moment - _EPOCH).total_seconds() * 1000)
        kind = schema.type
        if kind in ("int8", "int16", "int32", "int64"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise DataError(f"Invalid type for {kind.upper()}: {type(value).__name__}")
            return value
        if kind in ("float32", "float64"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DataError(f"Invalid type for {kind.upper()}: {type(value).__name__}")
            return float(value)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise DataError(f"Invalid type for BOOLEAN: {type(value).__name__}")
            return value
        if kind == "string":
            if not isinstance(value, str):
                raise DataError(f"Invalid type for STRING: {type(value).__name__}")
            return value
        if kind == "bytes":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise DataError(f"Invalid type for bytes type: {type(value).__name__}")
            return base64.b64encode(bytes(value)).decode()
        if kind == "array":
            assert schema.value_schema is not None
            return [self._to_json(schema.value_schema, item) for item in value]
        if kind == "map":
            assert schema.key_schema is not None and schema.value_schema is not None
            if schema.key_schema.type == "string":
                return {k: self._to_json(schema.value_schema, v) for k, v in value.items()}
            return [
                [self._to_json(schema.key_schema, k), self._to_json(schema.value_schema, v)]
                for k, v in value.items()
            ]
        if kind == "struct":
            if not isinstance(value, Struct):
                raise DataError(f"Invalid type for STRUCT: {type(value).__name__}")
            if value.schema != schema:
                raise DataError("Mismatching schema.")
            return {f.name: self._to_json(f.schema, value.values.get(f.name)) for f in schema.fields}
        raise DataError(f"Couldn't convert {value} to JSON.")

    # -- bytes -> Connect ---------------------------------------------------------------------

    def to_connect_data(self, topic: str, data: bytes | None) -> tuple[Schema | None, Any]:
        if data is None:
            return None, None
        try:
            node = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise DataError(
                f"Converting byte[] to Kafka Connect data failed due to serialization error: {exc}"
            ) from None
        if self.schemas_enable:
            if not isinstance(node, dict) or len(node) != 2 or "schema" not in node or "payload" not in node:
                raise DataError(ENVELOPE_ERROR)
            schema = schema_from_json(node["schema"])
            payload = node["payload"]
        else:
            schema, payload = None, node
        return schema, self._to_connect(schema, payload)

    def _to_connect(self, schema: Schema | None, node: Any) -> Any:
        if schema is None:
            return node
        if node is None:
            if schema.default is not None:
                return schema.default
            if schema.optional:
                return None
            raise DataError(f"Invalid null value for required {schema.type.upper()} field")
        name = schema.name
        if name == DECIMAL:
            scale = int((schema.parameters or {}).get("scale", "0"))
            if isinstance(node, (int, float)):
                return decimal.Decimal(str(node)).quantize(decimal.Decimal(1).scaleb(-scale))
            if isinstance(node, str):
                try:
                    raw = base64.b64decode(node)
                except ValueError:
                    raise DataError("Invalid bytes for Decimal field") from None
                return decimal.Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)
            raise DataError(
                "Invalid type for Decimal, underlying representation should be numeric or bytes but was "
                + type(node).__name__
            )
        if name == DATE:
            if not isinstance(node, int):
                raise DataError("Invalid type for Date, underlying representation should be integer")
            return _EPOCH.date() + datetime.timedelta(days=node)
        if name == TIME:
            if not isinstance(node, int):
                raise DataError("Invalid type for Time, underlying representation should be integer")
            return (_EPOCH + datetime.timedelta(milliseconds=node)).time()
        if name == TIMESTAMP:
            if not isinstance(node, int):
                raise DataError("Invalid type for Timestamp, underlying representation should be integral")
            return _EPOCH + datetime.timedelta(milliseconds=node)
        kind = schema.type
        if kind in ("int8", "int16", "int32", "int64"):
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise DataError(f"Invalid type for {kind.upper()}: {type(node).__name__}")
            return int(node)
        if kind in ("float32", "float64"):
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise DataError(f"Invalid type for {kind.upper()}: {type(node).__name__}")
            return float(node)
        if kind == "boolean":
            if not isinstance(node, bool):
                raise DataError(f"Invalid type for BOOLEAN: {type(node).__name__}")
            return node
        if kind == "string":
            if not isinstance(node, str):
                raise DataError(f"Invalid type for STRING: {type(node).__name__}")
            return node
        if kind == "bytes":
            if not isinstance(node, str):
                raise DataError("Invalid bytes field")
            try:
                return base64.b64decode(node)
            except ValueError:
                raise DataError("Invalid bytes field") from None
        if kind == "array":
            if not isinstance(node, list):
                raise DataError("Array value must be an array")
            assert schema.value_schema is not None
            return [self._to_connect(schema.value_schema, item) for item in node]
        if kind == "map":
            assert schema.key_schema is not None and schema.value_schema is not None
            if schema.key_schema.type == "string":
                if not isinstance(node, dict):
                    raise DataError(
                        f"Maps with string fields should be encoded as JSON objects, but found {_node_type(node)}"
                    )
                return {k: self._to_connect(schema.value_schema, v) for k, v in node.items()}
            if not isinstance(node, list):
                raise DataError(
                    f"Maps with non-string fields should be encoded as JSON array of tuples, but found {_node_type(node)}"
                )
            out: dict[Any, Any] = {}
            for entry in node:
                if not isinstance(entry, list):
                    raise DataError(f"Found invalid map entry instead of array tuple: {_node_type(entry)}")
                if len(entry) != 2:
                    raise DataError(f"Found invalid map entry, expected length 2 but found :{len(entry)}")
                out[self._to_connect(schema.key_schema, entry[0])] = self._to_connect(
                    schema.value_schema, entry[1]
                )
            return out
        if kind == "struct":
            if not isinstance(node, dict):
                raise DataError(f"Structs should be encoded as JSON objects, but found {_node_type(node)}")
            struct = Struct(schema)
            for f in schema.fields:
                struct.values[f.name] = self._to_connect(f.schema, node.get(f.name))
            return struct
        raise DataError(f"Unknown schema type: {kind}")


def _node_type(node: Any) -> str:
    """Jackson's JsonNodeType name of a decoded JSON value."""
    if node is None:
        return "NULL"
    if isinstance(node, bool):
        return "BOOLEAN"
    if isinstance(node, (int, float)):
        return "NUMBER"
    if isinstance(node, str):
        return "STRING"
    if isinstance(node, list):
        return "ARRAY"
    return "OBJECT"


def _decimal_bytes(value: decimal.Decimal, scale: int) -> bytes:
    """``Decimal.fromLogical``: the unscaled value's two's-complement big-endian bytes."""
    unscaled = int(value.scaleb(scale).to_integral_value())
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(length, "big", signed=True)


def _schemaless_to_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, Struct):
        raise DataError(
            "Java class org.apache.kafka.connect.data.Struct does not have corresponding schema type."
        )
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _schemaless_to_json(v) for k, v in value.items()}
        return [[_schemaless_to_json(k), _schemaless_to_json(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_schemaless_to_json(v) for v in value]
    raise DataError(f"Java class {type(value).__name__} does not have corresponding schema type.")


# ---------------------------------------------------------------------------------------------
# Schemas as JSON (Kafka's JsonSchema), field order as Kafka writes it


def schema_to_json(schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {"type": schema.type}
    if schema.type == "struct":
        fields = []
        for f in schema.fields:
            entry = schema_to_json(f.schema)
            entry["field"] = f.name
            fields.append(entry)
        out["fields"] = fields
    elif schema.type == "array":
        assert schema.value_schema is not None
        out["items"] = schema_to_json(schema.value_schema)
    elif schema.type == "map":
        assert schema.key_schema is not None and schema.value_schema is not None
        out["keys"] = schema_to_json(schema.key_schema)
        out["values"] = schema_to_json(schema.value_schema)
    out["optional"] = schema.optional
    if schema.name is not None:
        out["name"] = schema.name
    if schema.version is not None:
        out["version"] = schema.version
    if schema.doc is not None:
        out["doc"] = schema.doc
    if schema.parameters:
        out["parameters"] = dict(schema.parameters)
    if schema.default is not None:
        out["default"] = JsonConverter()._to_json(
            Schema(**{**schema.__dict__, "default": None}), schema.default
        )
    return out


def schema_from_json(node: Any) -> Schema | None:
    if node is None:
        return None
    if not isinstance(node, dict):
        raise DataError("Schema must be a JSON object")
    kind = node.get("type")
    if kind is None:
        raise DataError("Schema must contain 'type' field")
    if kind not in TYPES:
        raise DataError(f"Unknown schema type: {kind}")
    schema = Schema(kind, optional=bool(node.get("optional", False)))
    if kind == "array":
        if "items" not in node:
            raise DataError("Array schema did not specify the element type")
        schema.value_schema = schema_from_json(node["items"])
    elif kind == "map":
        if "keys" not in node:
            raise DataError("Map schema did not specify the key type")
        if "values" not in node:
            raise DataError("Map schema did not specify the value type")
        schema.key_schema = schema_from_json(node["keys"])
        schema.value_schema = schema_from_json(node["values"])
    elif kind == "struct":
        fields = node.get("fields")
        if not isinstance(fields, list):
            raise DataError('Struct schema\'s "fields" argument is not an array.')
        for i, entry in enumerate(fields):
            if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
                raise DataError("Struct schema's field name not specified properly")
            sub = schema_from_json(entry)
            assert sub is not None
            schema.fields.append(Field(entry["field"], i, sub))
    schema.name = node.get("name")
    schema.version = node.get("version")
    schema.doc = node.get("doc")
    parameters = node.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
            raise DataError("Schema parameters must have string values.")
        schema.parameters = dict(parameters)
    if node.get("default") is not None:
        schema.default = JsonConverter()._to_connect(
            Schema(**{**schema.__dict__, "default": None}), node["default"]
        )
    return schema


def dumps(value: Any) -> bytes:
    """Compact JSON as Jackson writes it: doubles in Java's notation, decimals as numbers."""
    return "".join(_emit(value)).encode()


def _emit(value: Any) -> list[str]:
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif item is None:
            out.append("null")
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, int):
            out.append(str(item))
        elif isinstance(item, float):
            out.append(java_double_to_string(item))
        elif isinstance(item, decimal.Decimal):
            from kcli.connect.data import _java_big_decimal

            out.append(_java_big_decimal(item))
        elif isinstance(item, str):
            out.append(orjson.dumps(item).decode())
        elif isinstance(item, dict):
            parts: list[Any] = [_Raw("{")]
            for i, (k, v) in enumerate(item.items()):
                if i:
                    parts.append(_Raw(","))
                parts.append(_Raw(orjson.dumps(str(k)).decode() + ":"))
                parts.append(v)
            parts.append(_Raw("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, (list, tuple)):
            parts = [_Raw("[")]
            for i, v in enumerate(item):
                if i:
                    parts.append(_Raw(","))
                parts.append(v)
            parts.append(_Raw("]"))
            stack.extend(reversed(parts))
        else:
            raise DataError(f"Couldn't convert {item} to JSON.")
    return out


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text
