"""Running ``confluent`` as a user would, in a throw-away ``KCLI_HOME``/``CONFLUENT_HOME`` whose
service ports are free ones (set in the properties files, as a user would move a service)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.helpers import free_ports, isolated_env, live_pid_files, set_properties, terminate_recorded

CONFLUENT = [sys.executable, "-m", "kcli.confluent.main"]


@dataclass
class Stack:
    env: dict[str, str]
    root: Path
    zookeeper: int
    kafka: int
    registry: int
    rest: int

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.kafka}"

    @property
    def registry_url(self) -> str:
        return f"http://localhost:{self.registry}"

    def run(self, *args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CONFLUENT, *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def ok(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"confluent {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def consume(self, args: list[str], count: int, timeout_s: float = 60) -> list[str]:
        """Run a consume command until ``count`` lines came out, then Ctrl-C it (as a user would)."""
        return read_lines([*CONFLUENT, *args], self.env, count, timeout_s)

    def cleanup(self) -> list[str]:
        """Stop what a test left running; returns the pid files whose process was still alive."""
        subprocess.run(
            [*CONFLUENT, "local", "destroy"], capture_output=True, text=True, env=self.env, timeout=120
        )
        home = Path(self.env["KCLI_HOME"])
        leftovers = live_pid_files(home)
        terminate_recorded(home)
        return leftovers


def read_lines(command: list[str], env: dict[str, str], count: int, timeout_s: float) -> list[str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    done = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if len(lines) >= count:
                done.set()
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    done.wait(timeout_s)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert len(lines) >= count, f"got {lines}; stderr: {err}"
    return lines


def make_stack(root: Path) -> Stack:
    """A Confluent-style home with ZooKeeper, Kafka, Schema Registry and REST Proxy on free ports."""
    env = isolated_env(root)
    home = root / "confluent"
    env["CONFLUENT_HOME"] = str(home)
    env["CONFLUENT_CURRENT"] = str(root / "current")
    subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", "env", "--home", str(home)],
        env=env,
        check=True,
        capture_output=True,
    )
    zk, kafka, registry, rest = free_ports(4)
    etc = home / "etc"
    set_properties(etc / "kafka" / "zookeeper.properties", {"clientPort": str(zk)})
    set_properties(
        etc / "kafka" / "server.properties",
        {"listeners": f"PLAINTEXT://localhost:{kafka}", "zookeeper.connect": f"localhost:{zk}"},
    )
    set_properties(
        etc / "schema-registry" / "schema-registry.properties",
        {
            "listeners": f"http://0.0.0.0:{registry}",
            "kafkastore.bootstrap.servers": f"PLAINTEXT://localhost:{kafka}",
        },
    )
    set_properties(
        etc / "kafka-rest" / "kafka-rest.properties",
        {"listeners": f"http://0.0.0.0:{rest}", "bootstrap.servers": f"PLAINTEXT://localhost:{kafka}"},
    )
    for connect in (
        etc / "schema-registry" / "connect-avro-distributed.properties",
        etc / "kafka" / "connect-distributed.properties",
    ):
        if connect.exists():  # Connect, once this install has it, on a free port too
            (port,) = free_ports(1)
            set_properties(
                connect, {"listeners": f"http://0.0.0.0:{port}", "bootstrap.servers": f"localhost:{kafka}"}
            )
    return Stack(env, root, zk, kafka, registry, rest)


def wait_gone(pid: int, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.05)
    return False
