"""A broker restarted right after kill -9 while the controller still holds its old session.

The controller notices a killed broker's session only when it next reads that connection (after
the long poll in progress); a broker restarted before that finds its id still registered
(NodeExists). Kafka's broker retries DUPLICATE_BROKER_REGISTRATION; kcli's used to exit with
"Another broker is registered". Here the test itself holds a session registered under the
broker's id (the "previous incarnation"), starts the broker, waits until it says it is
retrying, then closes that session: the broker must then register and start.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until


def test_restarted_broker_retries_until_its_old_session_ends(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 1, mode="kraft")
    controller = cluster.controller
    assert controller is not None
    controller.start()
    broker = cluster.brokers[0]
    held = socket.create_connection(("127.0.0.1", controller.port), timeout=10)
    errors: list[BaseException] = []
    try:
        lines = held.makefile("rwb")

        def ask(request: dict) -> dict:
            lines.write(json.dumps(request).encode() + b"\n")
            lines.flush()
            return json.loads(lines.readline())

        assert ask({"op": "hello", "timeout_ms": 6000})["ok"]
        registered = ask({"op": "ctl_register", "id": 0, "host": "127.0.0.1", "port": broker.port,
                          "rack": None, "incarnation": None, "endpoints": []})  # fmt: skip
        assert registered["ok"], registered

        def start() -> None:
            try:
                broker.start(timeout=60)
            except BaseException as exc:  # reported below
                errors.append(exc)

        starting = threading.Thread(target=start)
        starting.start()
        assert wait_until(lambda: any("still registered" in line for line in broker.output), 30), (
            broker.output
        )
        assert starting.is_alive(), f"the broker gave up on NodeExists: {errors}"
        lines.close()
        held.close()  # the old incarnation's connection closes, as a killed process's does
        starting.join(90)
        assert not errors, errors
        assert any("started (kafka.server.KafkaServer)" in line for line in broker.output)
    finally:
        held.close()
        cluster.stop()
