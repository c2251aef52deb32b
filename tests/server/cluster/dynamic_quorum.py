"""The processes of a KIP-853 (dynamic) quorum for tests: controllers and a broker that find each
other through ``controller.quorum.bootstrap.servers``, and ``kafka-storage`` to format them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.broker_process import BrokerProcess
from tests.cluster_process import CONTROLLER_MARKER


def storage(*args: str) -> subprocess.CompletedProcess[str]:
    """``kafka-storage`` with ``args``."""
    return subprocess.run(
        [sys.executable, "-m", "kcli.server.storage_tool", *args], capture_output=True, text=True, timeout=60
    )


def bootstrap_servers(ports: dict[int, int]) -> str:
    return ",".join(f"127.0.0.1:{port}" for port in ports.values())


def controller(root: Path, node: int, port: int, bootstrap: str) -> BrokerProcess:
    """Controller ``node`` listening on ``port`` (not started, not formatted)."""
    return BrokerProcess(
        root / f"controller-{node}",
        {
            "node.id": str(node),
            "process.roles": "controller",
            "listeners": f"CONTROLLER://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.bootstrap.servers": bootstrap,
        },
        port=port,
        marker=CONTROLLER_MARKER,
    )


def broker(root: Path, bootstrap: str) -> BrokerProcess:
    """Broker 0 of the quorum (not started, not formatted)."""
    return BrokerProcess(
        root / "broker-0",
        {
            "node.id": "0",
            "process.roles": "broker",
            "controller.quorum.bootstrap.servers": bootstrap,
            "controller.listener.names": "CONTROLLER",
        },
    )
