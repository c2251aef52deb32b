"""The REST Proxy's aiohttp application: routes, content types and error bodies.

Content types follow Confluent's REST Proxy: v2 produce bodies are
``application/vnd.kafka.{json,binary,avro,jsonschema,protobuf}.v2+json`` (the embedded format is in
the media type), other v2 bodies ``application/vnd.kafka.v2+json`` (or ``application/json``), v3
bodies ``application/json``; anything else is 415 with REST Proxy's body. A body that is not JSON
is 400; a value that does not fit its schema 422 (42203). Errors are always
``{"error_code": N, "message": "..."}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.config import RestConfig
from kcli.rest_proxy.embedded import Schemas
from kcli.rest_proxy.errors import RestError

V2_TYPE = "application/vnd.kafka.v2+json"
V3_TYPE = "application/json"
log = logging.getLogger("io.confluent.kafkarest.KafkaRestApplication")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Proxy:
    """Everything the handlers share."""

    cfg: RestConfig
    kafka: Any  # kcli.rest_proxy.kafka.Kafka
    schemas: Schemas
    consumers: Any = None  # kcli.rest_proxy.v2_consumers.Instances
    extra: dict[str, Any] = field(default_factory=dict)


PROXY_KEY: web.AppKey[Proxy] = web.AppKey("proxy", Proxy)


def proxy(request: web.Request) -> Proxy:
    return request.app[PROXY_KEY]


def reply(body: Any, status: int = 200, content_type: str = V3_TYPE) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=content_type)


def no_content() -> web.Response:
    return web.Response(status=204)


def media_type(request: web.Request) -> str:
    return (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def require_type(request: web.Request, *allowed: str) -> str:
    kind = media_type(request)
    if kind not in allowed:
        raise errors.unsupported_media_type()
    return kind


async def read_json(request: web.Request, empty: Any = None) -> Any:
    raw = await request.read()
    if not raw.strip():
        if empty is not None:
            return empty
        raise errors.bad_request("Request body is empty: a JSON object is expected")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"Unexpected character in the JSON body: {exc}") from None


def base_url(request: web.Request) -> str:
    return str(request.url.origin())


def _v2(request: web.Request) -> bool:
    return not request.path.startswith("/v3")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    content_type = V2_TYPE if _v2(request) else V3_TYPE
    try:
        return await handler(request)
    except RestError as exc:
        return reply(exc.body(), exc.status, content_type)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            text = "HTTP 404 Not Found" if exc.status == 404 else "HTTP 405 Method Not Allowed"
            return reply({"error_code": exc.status, "message": text}, exc.status, content_type)
        raise
    except Exception as exc:  # one line in the log, Confluent's 500 body to the client
        log.exception("error serving %s %s", request.method, request.path)
        return reply({"error_code": 500, "message": f"Internal Server Error: {exc}"}, 500, content_type)


def build_app(state: Proxy) -> web.Application:
    from kcli.rest_proxy import (
        v2_consumers,
        v2_metadata,
        v2_produce,
        v3_clusters,
        v3_groups,
        v3_records,
        v3_topics,
    )

    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024 * 1024)
    app[PROXY_KEY] = state
    routes = web.RouteTableDef()

    @routes.get("/")
    async def root(request: web.Request) -> web.Response:
        return reply({}, content_type=V2_TYPE)

    @routes.get("/v3")
    async def v3_root(request: web.Request) -> web.Response:
        return reply({"kind": "KafkaRestV3", "metadata": {"self": f"{base_url(request)}/v3"}})

    app.add_routes(routes)
    for module in (v2_produce, v2_metadata, v2_consumers, v3_clusters, v3_topics, v3_groups, v3_records):
        module.add_routes(app)
    return app
