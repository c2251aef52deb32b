"""The REST Proxy as a process (``python -m kcli.rest_proxy.start``) on a free port, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.broker_process import ServiceProcess, free_port, start_and_wait

STARTED_MARKER = "Server started, listening for requests"


class RestProxyProcess(ServiceProcess):
    def __init__(
        self, workdir: Path, bootstrap: str, registry_url: str | None = None, port: int | None = None
    ):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.properties = workdir / "kafka-rest.properties"
        lines = [f"listeners=http://127.0.0.1:{self.port}", f"bootstrap.servers=PLAINTEXT://{bootstrap}"]
        if registry_url:
            lines.append(f"schema.registry.url={registry_url}")
        self.properties.write_text("\n".join(lines) + "\n")
        self.home = workdir / "kcli-home"
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 60.0) -> RestProxyProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1", KCLI_HOME=str(self.home))
        args = [sys.executable, "-m", "kcli.rest_proxy.start", str(self.properties)]
        self.proc = start_and_wait(args, self.workdir, STARTED_MARKER, self.output, timeout, env)
        return self
