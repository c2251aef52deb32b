"""v2 produce: ``POST /topics/{topic}`` and ``POST /topics/{topic}/partitions/{partition}``.

The embedded format is in the Content-Type (``application/vnd.kafka.json.v2+json`` ...). Schema
formats take ``value_schema`` (text, registered under ``<topic>-value``) or ``value_schema_id``,
the same for keys; the answer carries the schema ids and, per record, its partition and offset
or the Kafka error (``error_code`` 50002/50003), as Confluent's REST Proxy answers.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.embedded import PLAIN_FORMATS, SCHEMA_FORMATS, encode_plain, encode_with
from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import V2_TYPE, proxy, read_json, reply

_PRODUCE_TYPE = re.compile(r"^application/vnd\.kafka\.(json|binary|avro|jsonschema|protobuf)\.v2\+json$")


def produce_format(request: web.Request) -> str:
    kind = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    match = _PRODUCE_TYPE.match(kind)
    if not match:
        raise errors.unsupported_media_type()
    return match.group(1)


async def _produce(request: web.Request, partition: int | None) -> web.Response:
    state = proxy(request)
    fmt = produce_format(request)
    body = await read_json(request)
    topic = request.match_info["topic"]
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise RestError(422, 'The request body needs a "records" array')
    records = body["records"]
    key_id = value_id = None
    key_encoder = value_encoder = None
    if fmt in SCHEMA_FORMATS:
        schema_type = SCHEMA_FORMATS[fmt]
        has_keys = any(isinstance(r, dict) and r.get("key") is not None for r in records)
        has_values = any(isinstance(r, dict) and r.get("value") is not None for r in records)
        if has_keys:
            if body.get("key_schema") is None and body.get("key_schema_id") is None:
                raise RestError(
                    errors.KEY_SCHEMA_MISSING, "Request includes keys but does not include key schema"
                )
            key_encoder, key_id, _ = await asyncio.to_thread(
                state.schemas.encoder,
                schema_type,
                f"{topic}-key",
                body.get("key_schema"),
                body.get("key_schema_id"),
                None,
                errors.KEY_SCHEMA_MISSING,
            )
        if has_values:
            if body.get("value_schema") is None and body.get("value_schema_id") is None:
                raise RestError(
                    errors.VALUE_SCHEMA_MISSING, "Request includes values but does not include value schema"
                )
            value_encoder, value_id, _ = await asyncio.to_thread(
                state.schemas.encoder,
                schema_type,
                f"{topic}-value",
                body.get("value_schema"),
                body.get("value_schema_id"),
            )
    what = {"avro": "Avro", "jsonschema": "JSON Schema", "protobuf": "Protobuf"}.get(fmt, fmt)
    encoded: list[tuple[bytes | None, bytes | None, int | None]] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise RestError(422, f"records[{i}] must be a JSON object")
        key, value = record.get("key"), record.get("value")
        if fmt in PLAIN_FORMATS:
            key_bytes, value_bytes = encode_plain(fmt, key), encode_plain(fmt, value)
        else:
            key_bytes = None if key is None else encode_with(key_encoder, key, what)
            value_bytes = None if value is None else encode_with(value_encoder, value, what)
        target = partition if partition is not None else record.get("partition")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
            raise RestError(422, f"records[{i}].partition must be a number")
        encoded.append((key_bytes, value_bytes, target))
    results = await asyncio.gather(
        *(state.kafka.produce(topic, k, v, p) for k, v, p in encoded), return_exceptions=True
    )
    offsets: list[dict[str, Any]] = []
    for result in results:
        if isinstance(result, RestError):
            offsets.append(
                {"partition": None, "offset": None, "error_code": result.error_code, "error": result.message}
            )
        elif isinstance(result, BaseException):
            raise result
        else:
            offsets.append(
                {"partition": result.partition, "offset": result.offset, "error_code": None, "error": None}
            )
    return reply(
        {"key_schema_id": key_id, "value_schema_id": value_id, "offsets": offsets}, content_type=V2_TYPE
    )


async def produce_topic(request: web.Request) -> web.Response:
    return await _produce(request, None)


async def produce_partition(request: web.Request) -> web.Response:
    try:
        partition = int(request.match_info["partition"])
    except ValueError:
        raise errors.partition_not_found() from None
    return await _produce(request, partition)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/topics/{topic}", produce_topic)
    app.router.add_post("/topics/{topic}/partitions/{partition}", produce_partition)
