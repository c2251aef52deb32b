"""Start the real kcli broker as a subprocess on a free port, for tests and benchmarks.

Tests never fake the broker: they start ``python -m kcli.server.start`` with a properties file
in a temporary directory and wait for Kafka's own "started" log line (no sleeps), then talk to
it with real clients. Every process started here is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

STARTED_MARKER = "started (kafka.server.KafkaServer)"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_refused(workdir: Path, setting: str) -> list[str]:
    """Start a lone broker in ``workdir`` with one extra ``setting`` line that it must refuse:
    the lines it printed, after asserting it exited 1 with exactly one (no traceback)."""
    properties = workdir / "server.properties"
    properties.write_text(
        f"node.id=0\nprocess.roles=broker,controller\nlisteners=PLAINTEXT://127.0.0.1:{free_port()}\n"
        f"log.dirs={workdir / 'logs'}\n{setting}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "kcli.server.start", str(properties)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines


def start_and_wait(
    args: list[str],
    cwd: Path,
    marker: str,
    output: list[str],
    timeout: float,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start ``args`` with its output collected in ``output``; return once a line holds ``marker``.

    Raises RuntimeError with the output's tail (after killing the process) if it exits first or
    ``timeout`` passes.
    """
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or dict(os.environ, PYTHONUNBUFFERED="1"),
        cwd=cwd,
    )
    started = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if marker in line:
                started.set()
        started.set()  # process ended: unblock the waiter, which then reports the failure

    threading.Thread(target=pump, daemon=True).start()
    if not started.wait(timeout) or proc.poll() is not None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise RuntimeError(f"{args[2]} did not start:\n" + "".join(output[-40:]))
    return proc


class ServiceProcess:
    """A started service subprocess (broker, ZooKeeper, registry): stopped with SIGTERM as a
    user would, SIGKILLed as a crash would, and always reaped."""

    proc: subprocess.Popen[str] | None = None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (clean shutdown) and wait, SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class BrokerProcess(ServiceProcess):
    """One broker subprocess with its own log directory and port."""

    def __init__(
        self,
        workdir: Path,
        overrides: dict[str, str | None] | None = None,
        port: int | None = None,
        marker: str = STARTED_MARKER,
    ):
        """``overrides`` replace the single-node KRaft defaults; a None value removes a key."""
        self.workdir = workdir
        self.marker = marker
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_dirs = workdir / "kafka-logs"
        self.properties = workdir / "server.properties"
        settings = {
            "node.id": "0",
            "process.roles": "broker,controller",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dirs),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        settings.update(overrides or {})
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in settings.items() if v is not None))
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, extra_args: Iterable[str] = ()) -> BrokerProcess:
        """Start the broker and return once it logged that it is serving."""
        args = [sys.executable, "-m", "kcli.server.start", str(self.properties), *extra_args]
        self.proc = start_and_wait(args, self.workdir, self.marker, self.output, timeout)
        return self

    def restart(self) -> BrokerProcess:
        self.stop()
        return self.start()
