"""Registry test helpers: an in-process registry on a memory store, a registry subprocess, HTTP calls."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.broker_process import ServiceProcess, free_port, start_and_wait

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
STARTED_MARKER = "Server started, listening for requests"


@dataclass
class Reply:
    status: int
    content_type: str
    body: Any


def call(base: str, method: str, path: str, body: Any = None) -> Reply:
    """One HTTP request; the JSON body (or text if not JSON) and the status, errors included."""
    data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": CONTENT_TYPE}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, ctype = response.read(), response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raw, status, ctype = exc.read(), exc.code, exc.headers.get("Content-Type", "")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = raw.decode()
    return Reply(status, ctype.split(";")[0], parsed)


class MemoryRegistry:
    """The REST app on a :class:`MemoryStore`, served by aiohttp in a background thread."""

    def __init__(self) -> None:
        from kcli.schema_registry.registry import Registry
        from kcli.schema_registry.store import MemoryStore

        self.store = MemoryStore()
        self.registry = Registry(self.store)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        from kcli.schema_registry.rest import build_app

        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(build_app(self.registry), access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def start(self) -> MemoryRegistry:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __call__(self, method: str, path: str, body: Any = None) -> Reply:
        return call(self.url, method, path, body)


class RegistryProcess(ServiceProcess):
    """``python -m kcli.schema_registry.start`` on a free port against a broker."""

    def __init__(self, workdir: Path, bootstrap: str, topic: str = "_schemas", port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.properties = workdir / "schema-registry.properties"
        self.properties.write_text(
            f"listeners=http://127.0.0.1:{self.port}\n"
            f"kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}\n"
            f"kafkastore.topic={topic}\n"
            "kafkastore.init.timeout.ms=20000\n"
        )
        self.home = workdir / "kcli-home"
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONUNBUFFERED="1", KCLI_HOME=str(self.home))

    def start(self, timeout: float = 40.0) -> RegistryProcess:
        self.output = []
        args = [sys.executable, "-m", "kcli.schema_registry.start", str(self.properties)]
        self.proc = start_and_wait(args, self.workdir, STARTED_MARKER, self.output, timeout, self.env)
        return self

    def __call__(self, method: str, path: str, body: Any = None) -> Reply:
        return call(self.url, method, path, body)
