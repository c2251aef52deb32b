"""Connect worker subprocesses and REST calls for the Connect tests."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.broker_process import ServiceProcess, free_port, start_and_wait


@dataclass
class Reply:
    status: int
    body: Any


def rest(port: int, method: str, path: str, body: Any = None, timeout: float = 60) -> Reply:
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return Reply(response.status, orjson.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return Reply(exc.code, orjson.loads(raw) if raw else None)


class WorkerProcess(ServiceProcess):
    """``connect-standalone``/``connect-distributed`` as a subprocess with its own REST port."""

    def __init__(
        self, workdir: Path, bootstrap: str, mode: str, settings: dict[str, str], connectors: list[Path] = ()
    ):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.mode = mode
        self.properties = workdir / f"worker-{self.port}.properties"
        base = {
            "bootstrap.servers": bootstrap,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "offset.flush.interval.ms": "500",
            "listeners": f"http://127.0.0.1:{self.port}",
        }
        base.update(settings)
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in base.items()))
        self.connectors = [str(c) for c in connectors]
        self.output: list[str] = []
        self.proc = None

    @property
    def worker_id(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        self.output = []
        args = [sys.executable, "-m", f"kcli.connect.{self.mode}", str(self.properties), *self.connectors]
        self.proc = start_and_wait(args, self.workdir, "Kafka Connect started", self.output, timeout)
        return self

    def text(self) -> str:
        return "".join(self.output)
