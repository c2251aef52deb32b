"""The REST API Confluent's clients speak, on aiohttp.

Every response is JSON with content type ``application/vnd.schemaregistry.v1+json``; errors are
``{"error_code": N, "message": "..."}`` with the HTTP status taken from the code. Registry calls run
in a worker thread because a write waits for the Kafka store to read its record back, and the event
loop must keep serving reads meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kcli.schema_registry import errors
from kcli.schema_registry.errors import RegistryError
from kcli.schema_registry.registry import SCHEMA_TYPES, Registry, version_json
from kcli.schema_registry.state import SchemaVersion

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
REGISTRY_KEY: web.AppKey[Registry] = web.AppKey("registry", Registry)
log = logging.getLogger("kcli.schema_registry.rest")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=CONTENT_TYPE)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn registry errors (and anything unexpected) into Confluent's error JSON."""
    try:
        return await handler(request)
    except RegistryError as exc:
        return reply({"error_code": exc.error_code, "message": exc.message}, exc.http_status)
    except web.HTTPException as exc:
        if exc.status == 404:
            return reply({"error_code": 404, "message": "HTTP 404 Not Found"}, 404)
        if exc.status == 405:
            return reply({"error_code": 405, "message": "HTTP 405 Method Not Allowed"}, 405)
        raise
    except Exception as exc:
        log.exception("error serving %s %s", request.method, request.path)
        return reply({"error_code": errors.STORE_ERROR, "message": f"Error in the backend store: {exc}"}, 500)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise RegistryError(errors.UNPROCESSABLE, "Unrecognized JSON in the request body") from None
    if not isinstance(body, dict):
        raise RegistryError(errors.UNPROCESSABLE, "The request body must be a JSON object")
    return body


def _formatted(r: Registry, request: web.Request, found: SchemaVersion) -> str:
    """The schema text, or with ``?format=serialized`` a Protobuf schema's base64 descriptor (what
    Confluent's Python deserializer asks for); other formats and types return the stored text."""
    if request.query.get("format") == "serialized" and found.schema_type == "PROTOBUF":
        return r.parsed_version(found).serialized()  # type: ignore[attr-defined]
    return found.schema


def _version_body(r: Registry, request: web.Request, found: SchemaVersion) -> dict[str, Any]:
    body = version_json(found)
    body["schema"] = _formatted(r, request, found)
    return body


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise errors.schema_not_found() from None


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


def build_app(registry: Registry) -> web.Application:
    """The aiohttp application serving ``registry``."""
    app = web.Application(middlewares=[error_middleware])
    app[REGISTRY_KEY] = registry
    r = registry
    routes = web.RouteTableDef()

    @routes.get("/")
    async def root(request: web.Request) -> web.Response:
        return reply({})

    @routes.get("/subjects")
    async def subjects(request: web.Request) -> web.Response:
        return reply(r.subjects(_flag(request, "deleted")))

    @routes.post("/subjects/{subject}/versions")
    async def register(request: web.Request) -> web.Response:
        body = await _body(request)
        new_id = await _run(
            r.register,
            request.match_info["subject"],
            body.get("schema"),
            body.get("schemaType"),
            body.get("id"),
            body.get("references"),
        )
        return reply({"id": new_id})

    @routes.post("/subjects/{subject}")
    async def lookup(request: web.Request) -> web.Response:
        body = await _body(request)
        found = await _run(
            r.lookup,
            request.match_info["subject"],
            body.get("schema"),
            body.get("schemaType"),
            _flag(request, "deleted"),
            body.get("references"),
        )
        return reply(_version_body(r, request, found))

    @routes.get("/subjects/{subject}/versions")
    async def versions(request: web.Request) -> web.Response:
        return reply(r.list_versions(request.match_info["subject"], _flag(request, "deleted")))

    @routes.get("/subjects/{subject}/versions/{version}")
    async def version(request: web.Request) -> web.Response:
        found = r.get_version(
            request.match_info["subject"], request.match_info["version"], _flag(request, "deleted")
        )
        return reply(_version_body(r, request, found))

    @routes.get("/subjects/{subject}/versions/{version}/schema")
    async def version_schema(request: web.Request) -> web.Response:
        found = r.get_version(
            request.match_info["subject"], request.match_info["version"], _flag(request, "deleted")
        )
        return web.Response(text=found.schema, content_type=CONTENT_TYPE)

    @routes.get("/subjects/{subject}/versions/{version}/referencedby")
    async def referenced_by(request: web.Request) -> web.Response:
        return reply(r.referenced_by(request.match_info["subject"], request.match_info["version"]))

    @routes.delete("/subjects/{subject}")
    async def delete_subject(request: web.Request) -> web.Response:
        return reply(await _run(r.delete_subject, request.match_info["subject"], _flag(request, "permanent")))

    @routes.delete("/subjects/{subject}/versions/{version}")
    async def delete_version(request: web.Request) -> web.Response:
        return reply(
            await _run(
                r.delete_version,
                request.match_info["subject"],
                request.match_info["version"],
                _flag(request, "permanent"),
            )
        )

    @routes.get("/schemas/types")
    async def types(request: web.Request) -> web.Response:
        return reply(list(SCHEMA_TYPES))

    @routes.get("/schemas/ids/{id}")
    async def by_id(request: web.Request) -> web.Response:
        found = r.schema_by_id(_id(request))
        body: dict[str, Any] = {}
        if found.schema_type != "AVRO":
            body["schemaType"] = found.schema_type
        if found.references:
            body["references"] = found.references_json()
        body["schema"] = await _run(_formatted, r, request, found)
        return reply(body)

    @routes.get("/schemas/ids/{id}/schema")
    async def by_id_schema(request: web.Request) -> web.Response:
        return web.Response(text=r.schema_by_id(_id(request)).schema, content_type=CONTENT_TYPE)

    @routes.get("/schemas/ids/{id}/versions")
    async def id_versions(request: web.Request) -> web.Response:
        found = r.id_versions(_id(request), _flag(request, "deleted"))
        return reply([{"subject": v.subject, "version": v.version} for v in found])

    @routes.get("/schemas/ids/{id}/subjects")
    async def id_subjects(request: web.Request) -> web.Response:
        found = r.id_versions(_id(request), _flag(request, "deleted"))
        return reply(sorted({v.subject for v in found}))

    @routes.get("/config")
    async def get_config(request: web.Request) -> web.Response:
        return reply({"compatibilityLevel": r.compatibility(None, True)})

    @routes.put("/config")
    async def put_config(request: web.Request) -> web.Response:
        body = await _body(request)
        return reply({"compatibility": await _run(r.set_compatibility, None, body.get("compatibility"))})

    @routes.get("/config/{subject}")
    async def get_subject_config(request: web.Request) -> web.Response:
        level = r.compatibility(request.match_info["subject"], _flag(request, "defaultToGlobal"))
        return reply({"compatibilityLevel": level})

    @routes.put("/config/{subject}")
    async def put_subject_config(request: web.Request) -> web.Response:
        body = await _body(request)
        level = await _run(r.set_compatibility, request.match_info["subject"], body.get("compatibility"))
        return reply({"compatibility": level})

    @routes.delete("/config/{subject}")
    async def delete_subject_config(request: web.Request) -> web.Response:
        return reply(
            {"compatibilityLevel": await _run(r.delete_compatibility, request.match_info["subject"])}
        )

    @routes.get("/mode")
    async def get_mode(request: web.Request) -> web.Response:
        return reply({"mode": r.mode(None, True)})

    @routes.put("/mode")
    async def put_mode(request: web.Request) -> web.Response:
        body = await _body(request)
        return reply({"mode": await _run(r.set_mode, None, body.get("mode"))})

    @routes.get("/mode/{subject}")
    async def get_subject_mode(request: web.Request) -> web.Response:
        return reply({"mode": r.mode(request.match_info["subject"], _flag(request, "defaultToGlobal"))})

    @routes.put("/mode/{subject}")
    async def put_subject_mode(request: web.Request) -> web.Response:
        body = await _body(request)
        return reply({"mode": await _run(r.set_mode, request.match_info["subject"], body.get("mode"))})

    @routes.delete("/mode/{subject}")
    async def delete_subject_mode(request: web.Request) -> web.Response:
        return reply({"mode": await _run(r.delete_mode, request.match_info["subject"])})

    async def compatibility(request: web.Request, version: str | None) -> web.Response:
        body = await _body(request)
        problems = await _run(
            r.test_compatibility,
            request.match_info["subject"],
            version,
            body.get("schema"),
            body.get("schemaType"),
            body.get("references"),
        )
        result: dict[str, Any] = {"is_compatible": not problems}
        if _flag(request, "verbose"):
            result["messages"] = problems
        return reply(result)

    @routes.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility_version(request: web.Request) -> web.Response:
        return await compatibility(request, request.match_info["version"])

    @routes.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_all(request: web.Request) -> web.Response:
        return await compatibility(request, None)

    app.add_routes(routes)
    return app
