"""v3 produce: ``POST /v3/clusters/{cluster}/topics/{topic}/records``, one record or a stream.

A record is ``{"partition_id", "headers": [{"name", "value" (base64)}], "key", "value",
"timestamp"}``, where key and value are ``{"type": BINARY|JSON|STRING|AVRO|JSONSCHEMA|PROTOBUF,
"data": ...}`` with, for the schema types, ``schema`` (text), ``schema_id`` or ``schema_version``
(and ``subject``, default ``<topic>-key``/``-value``). The answer names the partition, offset and
timestamp and, for each of key and value, its type, size and schema.

Streaming (Confluent's "produce records in streaming mode"): a chunked request body holding
several JSON records one after the other is answered with a chunked response holding one result
per line, in order, each written as soon as its record is acknowledged; a bad record gets its own
error line and the stream goes on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.embedded import encode_plain, encode_with
from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import proxy, reply, require_type
from kcli.rest_proxy.v3_clusters import cluster_metadata
from kcli.rest_proxy.v3_topics import TOPIC_NOT_FOUND

TYPES = {"BINARY": "binary", "JSON": "json", "STRING": "string"}
SCHEMA_TYPES = {"AVRO": "AVRO", "JSONSCHEMA": "JSON", "PROTOBUF": "PROTOBUF"}
MAX_RECORD_CHARS = 64 * 1024 * 1024
_REGISTRY_TO_TYPE = {"AVRO": "AVRO", "JSON": "JSONSCHEMA", "PROTOBUF": "PROTOBUF"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise RestError(400, f"timestamp {value!r} is not an ISO-8601 date-time") from None


async def _encode(
    state: Any, topic: str, part: Any, which: str
) -> tuple[bytes | None, dict[str, Any] | None]:
    """(bytes, the response's description of them) for a record's key or value."""
    if part is None:
        return None, None
    if not isinstance(part, dict):
        raise RestError(400, f"{which} must be an object with a type and data")
    kind = str(part.get("type") or "").upper()
    schema_fields = any(part.get(k) is not None for k in ("schema", "schema_id", "schema_version"))
    if not kind and not schema_fields:
        kind = "JSON"
    data = part.get("data")
    if kind in TYPES:
        raw = encode_plain(TYPES[kind], data)
        return raw, {"type": kind, "size": len(raw or b"")}
    subject = part.get("subject") or f"{topic}-{which}"
    registry_type = SCHEMA_TYPES.get(kind)
    if registry_type is None and kind:
        raise RestError(
            400, f"Unknown {which} type {kind}: use BINARY, JSON, STRING, AVRO, JSONSCHEMA or PROTOBUF"
        )
    if registry_type is None:  # schema_id or schema_version without a type: the registry says which
        found = await asyncio.to_thread(_registered_type, state, subject, part)
        registry_type, kind = found, _REGISTRY_TO_TYPE[found]
    encoder, schema_id, version = await asyncio.to_thread(
        state.schemas.encoder,
        registry_type,
        subject,
        part.get("schema"),
        part.get("schema_id"),
        part.get("schema_version"),
        errors.KEY_SCHEMA_MISSING if which == "key" else errors.VALUE_SCHEMA_MISSING,
    )
    what = {"AVRO": "Avro", "JSON": "JSON Schema", "PROTOBUF": "Protobuf"}[registry_type]
    raw = None if data is None else encode_with(encoder, data, what)
    described = {"type": kind, "size": len(raw or b""), "subject": subject, "schema_id": schema_id}
    if version is not None:
        described["schema_version"] = version
    return raw, described


def _registered_type(state: Any, subject: str, part: dict[str, Any]) -> str:
    client = state.schemas.client()
    if part.get("schema_id") is not None:
        return client.get_schema_by_id(int(part["schema_id"])).schema_type
    return client.version(subject, part.get("schema_version")).schema_type


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RestError(400, "headers must be a list of {name, value}")
    out = []
    for header in raw:
        if not isinstance(header, dict) or not isinstance(header.get("name"), str):
            raise RestError(400, "each header needs a name")
        value = header.get("value")
        try:
            out.append((header["name"], None if value is None else base64.b64decode(value, validate=True)))
        except (binascii.Error, ValueError, TypeError):
            raise RestError(400, f"header {header['name']}: value must be base64") from None
    return out


async def produce_one(state: Any, cid: str, topic: str, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RestError(400, "A record must be a JSON object")
    key, key_info = await _encode(state, topic, record.get("key"), "key")
    value, value_info = await _encode(state, topic, record.get("value"), "value")
    partition = record.get("partition_id")
    if partition is not None and (isinstance(partition, bool) or not isinstance(partition, int)):
        raise RestError(400, "partition_id must be a number")
    delivered = await state.kafka.produce(
        topic, key, value, partition, _headers(record.get("headers")), _parse_time(record.get("timestamp"))
    )
    return {
        "error_code": 200,
        "cluster_id": cid,
        "topic_name": topic,
        "partition_id": delivered.partition,
        "offset": delivered.offset,
        "timestamp": _iso(delivered.timestamp_ms),
        "key": key_info,
        "value": value_info,
    }


async def _records(content: Any) -> Any:
    """The JSON values of a request body one by one, as they arrive (they may span chunks)."""
    import json

    decoder = json.JSONDecoder()
    buffer = ""
    while True:
        chunk = await content.readany()
        if chunk:
            buffer += chunk.decode("utf-8", errors="replace")
            if len(buffer) > MAX_RECORD_CHARS:  # one record may not grow without bound
                raise RestError(400, f"A record in the stream is larger than {MAX_RECORD_CHARS} characters")
        while True:
            stripped = buffer.lstrip()
            if not stripped:
                buffer = ""
                break
            try:
                value, end = decoder.raw_decode(stripped)
            except json.JSONDecodeError as exc:
                if not chunk:  # nothing more will come: the tail is broken
                    raise RestError(400, f"Unexpected character in the JSON body: {exc}") from None
                buffer = stripped
                break
            buffer = stripped[end:]
            yield value
        if not chunk:
            return


async def produce(request: web.Request) -> web.StreamResponse:
    require_type(request, "application/json")
    state = proxy(request)
    _url, metadata = await cluster_metadata(request)
    topic = request.match_info["topic"]
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        raise RestError(404, TOPIC_NOT_FOUND)
    cid = metadata.cluster_id
    streaming = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not streaming:
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RestError(400, f"Unexpected character in the JSON body: {exc}") from None
        return reply(await produce_one(state, cid, topic, body))
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        async for record in _records(request.content):
            try:
                result = await produce_one(state, cid, topic, record)
            except RestError as exc:
                result = exc.body()
            await response.write(orjson.dumps(result) + b"\n")
    except RestError as exc:
        await response.write(orjson.dumps(exc.body()) + b"\n")
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v3/clusters/{cluster}/topics/{topic}/records", produce)
