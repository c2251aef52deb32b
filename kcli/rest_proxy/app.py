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

from aiohttp import web

from kcli.rest_proxy.errors import RestError
from kcli.rest_proxy.route_support import (
    PROXY_KEY,
    V2_TYPE,
    V3_TYPE,
    Handler,
    Proxy,
    base_url,
    reply,
)

log = logging.getLogger("io.confluent.kafkarest.KafkaRestApplication")


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
