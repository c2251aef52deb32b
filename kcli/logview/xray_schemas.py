"""The X-ray's schemas: a schema id looked up in a registry, a Confluent-framed body decoded with it.

:func:`kcli.logview.xray.xray` takes the lookup as a callable (:data:`SchemaLookup`), so the
parsing never talks to a registry; :func:`registry_lookup` is the one that does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: schema id -> (schema type AVRO/PROTOBUF/JSON, schema text, subject, version), or None
SchemaLookup = Callable[[int], "RegistrySchema | None"]


@dataclass(frozen=True)
class RegistrySchema:
    schema_id: int
    schema_type: str  # AVRO, PROTOBUF or JSON, as the registry names them
    schema: str
    subject: str | None = None
    version: int | None = None


def plain(data: bytes) -> str:
    """Bytes without a schema: JSON or text when they read as such, else hex."""
    from kcli.cluster_view.decode import as_json, as_text

    return as_json(data) or as_text(data) or "0x" + data.hex()


def decode_body(body: bytes, schema: RegistrySchema) -> str:
    """The body decoded with the writer's schema (Avro with fastavro; JSON as text; Protobuf's
    fields need generated classes, so its bytes are shown)."""
    import io

    import orjson

    if schema.schema_type == "AVRO":
        try:
            import fastavro

            parsed = fastavro.parse_schema(orjson.loads(schema.schema))
            value = fastavro.schemaless_reader(io.BytesIO(body), parsed)
            return orjson.dumps(
                value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
            ).decode()
        except Exception as exc:
            return f"cannot decode with schema {schema.schema_id}: {exc}"
    if schema.schema_type == "JSON":
        return plain(body)
    return "0x" + body.hex() + "  (Protobuf: decoded by the producer's generated classes)"


def registry_lookup(url: str | None) -> SchemaLookup | None:
    """A :data:`SchemaLookup` against a schema registry's REST API (``/schemas/ids/{id}`` tells the
    schema type; the subject and version come from ``/schemas/ids/{id}/versions``)."""
    if not url:
        return None
    from kcli.schema_registry.client import RegistryClientError, SchemaRegistryClient

    client = SchemaRegistryClient(url, timeout_s=5.0)
    cache: dict[int, RegistrySchema] = {}

    def lookup(schema_id: int) -> RegistrySchema | None:
        if schema_id not in cache:
            try:
                found = client._call("GET", f"/schemas/ids/{schema_id}")
                holders = []
                try:
                    holders = client._call("GET", f"/schemas/ids/{schema_id}/versions") or []
                except RegistryClientError:
                    pass
                subject = holders[0]["subject"] if holders else None
                version = holders[0]["version"] if holders else None
                cache[schema_id] = RegistrySchema(
                    schema_id, str(found.get("schemaType") or "AVRO"), str(found["schema"]), subject, version
                )
            except RegistryClientError as exc:
                raise LookupError(str(exc)) from None
        return cache[schema_id]

    return lookup
