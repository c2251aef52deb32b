"""Running the lecture's commands through a real shell, in a throw-away home, on free ports.

Every command goes through ``bash -c`` after ``eval "$(kcli env)"``, so ``$CONFLUENT_HOME/bin/...``
and ``bin/*.sh`` are resolved exactly as on a student's laptop. Long-running servers are
``Server`` objects: started with a marker line to wait for, always stopped by the fixture.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from kcli.paths import pid_alive
from tests.waiting import wait_until as wait_until  # the e2e tests import it from here

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = f'eval "$({sys.executable} -m kcli.cli.main env)"\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together while choosing, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def isolated_env(root: Path) -> dict[str, str]:
    """HOME, KCLI_HOME and CONFLUENT home inside ``root``: nothing touches the real home."""
    env = dict(os.environ)
    env.update(
        HOME=str(root / "home"),
        KCLI_HOME=str(root / "kcli-home"),
        KCLI_CONFLUENT_HOME=str(root / "confluent"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("LOG_DIR", None)
    # The generated bin/ scripts import kcli: make this checkout importable from any directory.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    (root / "home").mkdir(parents=True, exist_ok=True)
    return env


def sh(
    command: str, env: dict[str, str], cwd: Path | None = None, stdin: str = "", timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in bash after ``eval "$(kcli env)"``; text output."""
    return subprocess.run(
        ["bash", "-c", ENV_PREFIX + command],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def wait_port(port: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class Server:
    """A foreground server command (``exec``'d by bash so its pid is the server's own)."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path | None = None):
        self.command = command
        self.output: list[str] = []
        self._lines = threading.Condition()
        self._done = False
        self.proc = subprocess.Popen(
            ["bash", "-c", ENV_PREFIX + "exec " + command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lines:
                self.output.append(line)
                self._lines.notify_all()
        with self._lines:
            self._done = True
            self._lines.notify_all()

    def wait_for(self, marker: str, timeout_s: float = 60.0) -> bool:
        """Wait until a line containing ``marker`` was printed (False if it exits or time runs out)."""
        deadline = time.monotonic() + timeout_s
        with self._lines:
            while not any(marker in line for line in self.output):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._done:
                    return False
                self._lines.wait(min(remaining, 0.5))
            return True

    def text(self) -> str:
        with self._lines:
            return "".join(self.output)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait (SIGKILL if it does not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def set_properties(path: Path, changes: dict[str, str]) -> None:
    """Replace (or append) ``key=value`` lines, keeping the rest of the shipped file as it is."""
    lines = path.read_text().splitlines()
    remaining = dict(changes)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip().lstrip("#").strip()
        if "=" in line and key in remaining:
            out.append(f"{key}={remaining.pop(key)}")
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in remaining.items()]
    path.write_text("\n".join(out) + "\n")


def live_pid_files(kcli_home: Path) -> list[str]:
    """Pid files under ``$KCLI_HOME/run`` whose process still runs (must be none after a test)."""
    run = kcli_home / "run"
    alive = []
    for path in sorted(run.glob("*.pid")) if run.exists() else []:
        try:
            pid = int(path.read_text().strip())
        except (ValueError, OSError):
            continue
        if pid_alive(pid):  # a SIGKILLed broker leaves its pid file, and may linger as a zombie
            alive.append(f"{path.name}: {pid}")
    return alive


def terminate_recorded(kcli_home: Path, timeout_s: float = 30.0) -> None:
    """SIGTERM every live process with a pid file in this (test-only) ``KCLI_HOME`` and wait for it."""
    pids = [int(entry.split(": ")[1]) for entry in live_pid_files(kcli_home)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
    deadline = time.monotonic() + timeout_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
