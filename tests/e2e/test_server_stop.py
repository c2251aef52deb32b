"""``kafka-server-stop --node-id=N`` / ``--process-role=ROLE`` stop only the matching servers (Kafka 3.7+)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kcli.paths import pid_alive
from tests.e2e.helpers import Server, free_ports, wait_port, wait_until


def start_daemon(env: dict[str, str], workdir: Path, node_id: int, port: int) -> None:
    props = workdir / f"server-{node_id}.properties"
    props.write_text(
        f"process.roles=broker,controller\nnode.id={node_id}\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"
        f"log.dirs={workdir / f'logs-{node_id}'}\noffsets.topic.replication.factor=1\n"
    )
    # a relative properties path, as typed in the quickstart: kcli resolves it in the server's directory
    started = subprocess.run(
        [sys.executable, "-m", "kcli.server.start", "-daemon", props.name], env=env, cwd=workdir, timeout=60
    )
    assert started.returncode == 0
    assert wait_port(port, 60)


def pid_of(env: dict[str, str], port: int) -> int:
    return int((Path(env["KCLI_HOME"]) / "run" / f"kafka-server-{port}.pid").read_text())


def stop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.server.stop", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_stop_by_node_id_then_by_process_role(
    env: dict[str, str], servers: list[Server], tmp_path: Path
) -> None:
    one, two = free_ports(2)
    start_daemon(env, tmp_path, 1, one)
    start_daemon(env, tmp_path, 2, two)
    first, second = pid_of(env, one), pid_of(env, two)

    missing = stop(env, "--node-id=9")
    assert (missing.returncode, missing.stderr.strip()) == (1, "No kafka server to stop with node.id=9")
    assert pid_alive(first) and pid_alive(second)

    only_two = stop(env, "--node-id=2")
    assert only_two.returncode == 0, only_two.stderr
    assert wait_until(lambda: not pid_alive(second), 30)
    assert pid_alive(first)

    wrong_role = stop(env, "--process-role=broker")
    assert wrong_role.returncode == 1
    assert pid_alive(first)
    both = stop(env, "--process-role=broker,controller", "--node-id=1")
    assert both.stdout.strip() == (
        "When both node-id and process-role are provided, the value for node-id will take precedence"
    )
    assert wait_until(lambda: not pid_alive(first), 30)
