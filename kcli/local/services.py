"""The processes of ``kcli local``: start one detached, record it, find it again, stop it.

What runs is recorded in ``$KCLI_HOME/run/local.json`` (service -> pid, port, config, log), so
``status``/``stop`` need no guessing and a pid file left behind by a crash is recognised as stale
rather than trusted; a broker restarted by hand is found through the pid file it writes for its
port. ``kcli confluent local`` launches the REST Proxy with the same functions.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kcli.paths import kcli_home, pid_alive, process_cmdline, run_dir

START_TIMEOUT_S = 60.0

STOP_TIMEOUT_S = 20.0


class LocalError(Exception):
    """A one-line reason why a ``kcli local`` command cannot go on (exit status 1)."""


#: What a kcli service's command line holds, however it was started (``python -m``, a console
#: script, a ``$CONFLUENT_HOME/bin`` script): a reused pid of another program holds none of these.
_MARKERS = {
    "kcli.server.start": ("kcli.server", "kafka-server-start"),
    "kcli.schema_registry.start": ("kcli.schema_registry", "schema-registry-start"),
}


@dataclass
class Service:
    name: str
    module: str
    pid: int
    port: int
    log: str
    #: The properties file it runs with (older state files lack it: see :meth:`config_path`).
    config: str = ""
    #: The broker's node.id (None for the controller node and the schema registry).
    node_id: int | None = None

    def alive(self) -> bool:
        """Running, and really ours (a reused pid of another program is not)."""
        return is_ours(self.pid, self.module)

    def live_pid(self) -> int | None:
        """The pid serving this service now: the recorded one, or the one in the pid file the broker
        writes for its port when it was started again by hand."""
        if self.alive():
            return self.pid
        if self.module != "kcli.server.start":
            return None
        try:
            pid = int((run_dir() / f"kafka-server-{self.port}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if is_ours(pid, self.module) else None

    def config_path(self) -> Path:
        if self.config:
            return Path(self.config)
        etc = local_dir() / "etc"
        if self.name == "kafka":
            return etc / "server.properties"
        if self.name == "schema-registry":
            return etc / "schema-registry.properties"
        if self.name == "controller":
            return etc / "controller.properties"
        return etc / f"server-{self.name.removeprefix('kafka-')}.properties"


def is_ours(pid: int, module: str) -> bool:
    if not pid_alive(pid):
        return False
    cmdline = process_cmdline(pid).replace("-", "_")
    return any(m.replace("-", "_") in cmdline for m in _MARKERS.get(module, (module,)))


def local_dir() -> Path:
    return kcli_home() / "local"


def state_file() -> Path:
    return run_dir() / "local.json"


def load_state() -> list[Service]:
    try:
        data = json.loads(state_file().read_text())
        return [Service(**item) for item in data["services"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def save_state(services: list[Service]) -> None:
    path = state_file()
    if not services:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"services": [asdict(s) for s in services]}, indent=2))
    os.replace(tmp, path)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``port`` (or it cannot be bound)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def wait_for_port(proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> bool:
    """Wait until ``port`` accepts connections; False if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)  # polling an observable state (the port), not synchronising by sleep
    return False


def launch(
    name: str,
    module: str,
    config: Path,
    port: int,
    log: Path,
    node_id: int | None = None,
    env: dict[str, str] | None = None,
) -> Service:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})),
        )
    if not wait_for_port(proc, port, START_TIMEOUT_S):
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT_S)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:]
        raise LocalError(
            f"{name} did not start on port {port}" + (f": {tail[0]}" if tail else "") + f" (log: {log})"
        )
    return Service(name, module, proc.pid, port, str(log), str(config), node_id)


def adopt(services: list[Service], save: bool = True) -> list[Service]:
    """Record the pid of a service started again by hand (found by its port's pid file)."""
    changed = False
    for s in services:
        pid = s.live_pid()
        if pid is not None and pid != s.pid:
            s.pid = pid
            changed = True
    if changed and save:
        save_state(services)
    return services


def stop_services(services: list[Service]) -> list[str]:
    """SIGTERM in reverse start order, wait for each to exit (SIGKILL after STOP_TIMEOUT_S)."""
    lines = []
    for s in reversed(adopt(services, save=False)):
        if not s.alive():
            lines.append(f"{s.name} was not running (stale pid {s.pid})")
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(s.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while s.alive() and time.monotonic() < deadline:
            reap(s.pid)
            time.sleep(0.05)  # polling the process table for the exit
        if s.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(s.pid, signal.SIGKILL)
            lines.append(f"{s.name} did not stop within {STOP_TIMEOUT_S:.0f}s and was killed")
        else:
            lines.append(f"{s.name} is [DOWN]")
        reap(s.pid)
    return lines


def reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie (alive to kill -0)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
