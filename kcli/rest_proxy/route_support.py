"""What the REST Proxy's route modules share: its state (an aiohttp app key), content types, bodies.

The application (:mod:`kcli.rest_proxy.app`) stores a :class:`Proxy` under :data:`PROXY_KEY`; the
``v2_*``/``v3_*`` route modules read it with :func:`proxy`. They import this module, never the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from kcli.rest_proxy import errors
from kcli.rest_proxy.config import RestConfig
from kcli.rest_proxy.embedded import Schemas

V2_TYPE = "application/vnd.kafka.v2+json"
V3_TYPE = "application/json"

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
