"""``kafka-rest-start -daemon`` detaches and ``kafka-rest-stop`` stops it by its pid file; a missing
properties file and an http-less listener are one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.broker_process import free_port
from tests.e2e.helpers import live_pid_files, terminate_recorded, wait_port
from tests.rest_proxy.conftest import Stack


def tool(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_daemon_start_and_stop(stack: Stack, tmp_path: Path) -> None:
    env = dict(os.environ, KCLI_HOME=str(tmp_path / "home"))
    port = free_port()
    props = tmp_path / "kafka-rest.properties"
    props.write_text(f"listeners=http://127.0.0.1:{port}\nbootstrap.servers={stack.broker.bootstrap}\n")
    try:
        started = tool("kcli.rest_proxy.start", "-daemon", str(props), env=env)
        assert started.returncode == 0 and "kafka-rest started in the background (pid " in started.stdout
        assert wait_port(port, 60)
        deadline = time.monotonic() + 30
        while not live_pid_files(tmp_path / "home") and time.monotonic() < deadline:
            time.sleep(0.05)  # the pid file is written just after the port opens
        assert live_pid_files(tmp_path / "home")
        assert tool("kcli.rest_proxy.stop", env=env).returncode == 0
        deadline = time.monotonic() + 30
        while live_pid_files(tmp_path / "home") and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the process to exit
        assert live_pid_files(tmp_path / "home") == []
        again = tool("kcli.rest_proxy.stop", env=env)
        assert again.returncode == 1 and again.stderr == "No kafka-rest to stop\n"
    finally:
        terminate_recorded(tmp_path / "home")


def test_bad_start_arguments(tmp_path: Path) -> None:
    env = dict(os.environ, KCLI_HOME=str(tmp_path / "home"))
    missing = tool("kcli.rest_proxy.start", str(tmp_path / "nope.properties"), env=env)
    assert missing.returncode == 1 and missing.stderr.startswith("ERROR: properties file ")
    props = tmp_path / "kafka-rest.properties"
    props.write_text("listeners=https://0.0.0.0:8443\n")
    refused = tool("kcli.rest_proxy.start", str(props), env=env)
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        == "ERROR: listeners=https://0.0.0.0:8443: kcli's REST Proxy serves http:// only"
    )
    usage = tool("kcli.rest_proxy.start", env=env)
    assert usage.returncode == 1 and usage.stderr.startswith("USAGE: kafka-rest-start")
