"""Connect's REST API on aiohttp: Kafka's paths, JSON shapes and status codes.

Handlers only parse the request and call the herder (in a thread: herder operations may wait on
Kafka); every ``ConnectError`` becomes Kafka's ``{"error_code": N, "message": "..."}`` with its
status, and an unexpected exception a 500 with its message: a bad request never stops the worker.
Config values may be sent as JSON numbers or booleans (Jackson coerces them to strings for
Kafka's ``Map<String, String>``; so does this). Where Kafka would answer a malformed body with a
bare 500, this answers 400 with a message saying what was wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kcli.connect import KAFKA_VERSION, plugins
from kcli.connect.errors import BadRequest, ConnectError, NotFound, error_body
from kcli.connect.herder import Herder

log = logging.getLogger("org.apache.kafka.connect.runtime.rest.RestServer")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _string_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object of configuration properties")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif item is None or isinstance(item, (str, int, float)):
            out[str(key)] = item if isinstance(item, str) or item is None else str(item)  # type: ignore[assignment]
        else:
            raise BadRequest(f"Configuration property {key} must be a string, not {type(item).__name__}")
    return out


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ConnectError as exc:
        return _json(error_body(exc.status, exc.message), exc.status)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _json(error_body(exc.status, f"HTTP {exc.status} {exc.reason}"), exc.status)
        raise
    except Exception as exc:  # never let one request take the worker down
        log.exception("Uncaught exception in REST call to %s", request.path)
        return _json(error_body(500, str(exc) or type(exc).__name__), 500)


class ConnectRest:
    def __init__(self, herder: Herder):
        self.herder = herder

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[errors_middleware], client_max_size=16 * 1024 * 1024)
        r = app.router
        r.add_get("/", self.root)
        r.add_get("/health", self.health)
        r.add_get("/connectors", self.list_connectors)
        r.add_post("/connectors", self.create_connector)
        r.add_get("/connectors/{name}", self.get_connector)
        r.add_delete("/connectors/{name}", self.delete_connector)
        r.add_get("/connectors/{name}/config", self.get_config)
        r.add_put("/connectors/{name}/config", self.put_config)
        r.add_patch("/connectors/{name}/config", self.patch_config)
        r.add_get("/connectors/{name}/status", self.status)
        r.add_get("/connectors/{name}/topics", self.topics)
        r.add_put("/connectors/{name}/topics/reset", self.topics_reset)
        r.add_post("/connectors/{name}/restart", self.restart)
        r.add_put("/connectors/{name}/pause", self.pause)
        r.add_put("/connectors/{name}/resume", self.resume)
        r.add_put("/connectors/{name}/stop", self.stop)
        r.add_get("/connectors/{name}/tasks", self.tasks)
        r.add_get("/connectors/{name}/tasks-config", self.tasks_config)
        r.add_get("/connectors/{name}/tasks/{task}/status", self.task_status)
        r.add_post("/connectors/{name}/tasks/{task}/restart", self.task_restart)
        r.add_get("/connectors/{name}/offsets", self.get_offsets)
        r.add_patch("/connectors/{name}/offsets", self.alter_offsets)
        r.add_delete("/connectors/{name}/offsets", self.reset_offsets)
        r.add_get("/connector-plugins", self.plugins)
        r.add_get("/connector-plugins/{plugin}/config", self.plugin_config)
        r.add_put("/connector-plugins/{plugin}/config/validate", self.validate)
        return app

    # -- root --------------------------------------------------------------------------------------

    async def root(self, _request: web.Request) -> web.Response:
        return _json({"version": KAFKA_VERSION, "commit": "kcli", "kafka_cluster_id": self.herder.cluster_id})

    async def health(self, _request: web.Request) -> web.Response:
        return _json(
            {"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}
        )

    # -- connectors --------------------------------------------------------------------------------

    async def list_connectors(self, request: web.Request) -> web.Response:
        expand = request.query.getall("expand", [])
        names = await self.call(self.herder.connectors)
        if not expand:
            return _json(names)
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            entry: dict[str, Any] = {}
            try:
                for kind in expand:
                    if kind == "status":
                        entry["status"] = await self.call(self.herder.connector_status, name)
                    elif kind == "info":
                        entry["info"] = await self.call(self.herder.connector_info, name)
            except NotFound:
                continue  # removed while we looked it up
            out[name] = entry
        return _json(out)

    async def create_connector(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadRequest('POST /connectors takes a JSON object: {"name": "...", "config": {...}}')
        name = str(body.get("name") or "").strip()
        if body.get("config") is None:
            raise BadRequest(f'Connector {name or "(no name)"} has no "config" object in the request body')
        config = _string_map(body["config"], "config")
        self._check_name(name, config)
        initial = body.get("initial_state")
        if initial is not None:
            initial = str(initial).upper()
            if initial not in ("RUNNING", "PAUSED", "STOPPED"):
                raise BadRequest(
                    f"Invalid initial state {body['initial_state']}: must be RUNNING, PAUSED or STOPPED"
                )
            initial = "STARTED" if initial == "RUNNING" else initial
        _created, info = await self.call(self.herder.put_connector_config, name, config, False, initial)
        response = _json(info, 201)
        response.headers["Location"] = f"/connectors/{name}"
        return response

    @staticmethod
    def _check_name(name: str, config: dict[str, str]) -> None:
        included = config.get("name")
        if included is not None:
            if included != name:
                raise BadRequest(
                    f"Connector name configuration ({included}) doesn't match connector name in the URL ({name})"
                )
        else:
            config["name"] = name

    async def get_connector(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.connector_info, request.match_info["name"]))

    async def delete_connector(self, request: web.Request) -> web.Response:
        await self.call(self.herder.delete_connector, request.match_info["name"])
        return web.Response(status=204)

    async def get_config(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.connector_config, request.match_info["name"]))

    async def put_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        config = _string_map(await _body(request), "The connector configuration")
        self._check_name(name, config)
        created, info = await self.call(self.herder.put_connector_config, name, config, True, None)
        response = _json(info, 201 if created else 200)
        if created:
            response.headers["Location"] = f"/connectors/{name}"
        return response

    async def patch_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        patch = _string_map(await _body(request), "The configuration patch")
        current = await self.call(self.herder.connector_config, name)
        for key, value in patch.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self._check_name(name, current)
        _created, info = await self.call(self.herder.put_connector_config, name, current, True, None)
        return _json(info)

    async def status(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.connector_status, request.match_info["name"]))

    async def topics(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.active_topics, request.match_info["name"]))

    async def topics_reset(self, request: web.Request) -> web.Response:
        await self.call(self.herder.connector_config, request.match_info["name"])
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        def flag(key: str) -> bool:
            return request.query.get(key, "false").strip().lower() == "true"

        result = await self.call(
            self.herder.restart, request.match_info["name"], flag("includeTasks"), flag("onlyFailed")
        )
        if result is None:
            return web.Response(status=204)
        return _json(result, 202)

    async def pause(self, request: web.Request) -> web.Response:
        await self.call(self.herder.set_target_state, request.match_info["name"], "PAUSED")
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self.call(self.herder.set_target_state, request.match_info["name"], "STARTED")
        return web.Response(status=202)

    async def stop(self, request: web.Request) -> web.Response:
        await self.call(self.herder.set_target_state, request.match_info["name"], "STOPPED")
        return web.Response(status=204)

    async def tasks(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.task_infos, request.match_info["name"]))

    async def tasks_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        infos = await self.call(self.herder.task_infos, name)
        return _json({f"{name}-{info['id']['task']}": info["config"] for info in infos})

    @staticmethod
    def _task(request: web.Request) -> int:
        try:
            return int(request.match_info["task"])
        except ValueError:
            raise web.HTTPNotFound() from None

    async def task_status(self, request: web.Request) -> web.Response:
        return _json(
            await self.call(self.herder.task_status, request.match_info["name"], self._task(request))
        )

    async def task_restart(self, request: web.Request) -> web.Response:
        await self.call(self.herder.restart_task, request.match_info["name"], self._task(request))
        return web.Response(status=204)

    # -- offsets -----------------------------------------------------------------------------------

    async def get_offsets(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.connector_offsets, request.match_info["name"]))

    async def alter_offsets(self, request: web.Request) -> web.Response:
        body = await _body(request)
        offsets = body.get("offsets") if isinstance(body, dict) else None
        if not offsets or not isinstance(offsets, list):
            raise BadRequest("Partitions / offsets need to be provided for an alter offsets request")
        return _json(await self.call(self.herder.alter_offsets, request.match_info["name"], offsets))

    async def reset_offsets(self, request: web.Request) -> web.Response:
        return _json(await self.call(self.herder.reset_offsets, request.match_info["name"]))

    # -- plugins -----------------------------------------------------------------------------------

    async def plugins(self, request: web.Request) -> web.Response:
        only = request.query.get("connectorsOnly", "true").strip().lower() != "false"
        return _json(plugins.plugin_list(connectors_only=only))

    async def plugin_config(self, request: web.Request) -> web.Response:
        from kcli.connect.connector_config import _definition

        name = request.match_info["plugin"]
        try:
            cls = plugins.connector_class(name)
        except ConnectError:
            raise NotFound(f"Unknown plugin {name}.") from None
        definition = cls().config_def()
        return _json([_definition(key, i) for i, key in enumerate(definition.keys.values(), start=1)])

    async def validate(self, request: web.Request) -> web.Response:
        plugin = request.match_info["plugin"]
        config = _string_map(await _body(request), "The connector configuration")
        included = config.get("connector.class")
        if included is not None and not _normalized(included).endswith(_normalized(plugin)):
            raise BadRequest(f"Included connector type {included} does not match request type {plugin}")
        config["connector.class"] = plugin
        return _json(await self.call(self.herder.validate, config))


def _normalized(name: str) -> str:
    return name[: -len("Connector")] if name.endswith("Connector") else name


async def serve(herder: Herder, host: str, port: int) -> web.AppRunner:
    """Start the REST server; returns the runner (``await runner.cleanup()`` stops it)."""
    runner = web.AppRunner(ConnectRest(herder).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port, reuse_address=True)
    await site.start()
    return runner
