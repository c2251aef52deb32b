"""KIP-853's bootstrap of a controller quorum (Kafka 3.9+): three controllers configured with
``controller.quorum.bootstrap.servers`` (no ``controller.quorum.voters``), each formatted with the
same ``kafka-storage format --initial-controllers``, take their voter set from the metadata log's
bootstrap snapshot; a broker finds the active one through the bootstrap servers, and kill -9 of the
active controller elects another. (Adding and removing voters later: test_controller_add_remove.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.protocol.uuids import encode_cluster_id, random_uuid
from kcli.server.cluster.raft_voters import read_bootstrap_voters
from tests.broker_process import BrokerProcess, free_port
from tests.e2e.helpers import wait_until
from tests.server.cluster.dynamic_quorum import bootstrap_servers, storage
from tests.server.cluster.dynamic_quorum import broker as quorum_broker
from tests.server.cluster.dynamic_quorum import controller as quorum_controller

CLUSTER_ID = "q1Sh-9_ISia_zwGINzRvyQ"


@pytest.fixture(scope="module")
def quorum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[BrokerProcess], BrokerProcess]]:
    root = tmp_path_factory.mktemp("bootstrap")
    ports = {10 + i: free_port() for i in range(3)}
    dirs = {node: encode_cluster_id(random_uuid()) for node in ports}
    initial = ",".join(f"{node}@127.0.0.1:{port}:{dirs[node]}" for node, port in ports.items())
    bootstrap = bootstrap_servers(ports)
    controllers = [quorum_controller(root, node, port, bootstrap) for node, port in ports.items()]
    broker = quorum_broker(root, bootstrap)
    for controller in controllers:
        out = storage(
            "format", "-t", CLUSTER_ID, "-c", str(controller.properties), "--initial-controllers", initial
        )
        assert out.returncode == 0, out.stderr
        assert f"Formatting dynamic metadata voter directory {controller.log_dirs}" in out.stdout
    out = storage("format", "-t", CLUSTER_ID, "-c", str(broker.properties), "--no-initial-controllers")
    assert out.returncode == 0, out.stderr
    assert f"Formatting metadata directory {broker.log_dirs}" in out.stdout
    started: list[BrokerProcess] = []
    try:
        for process in [*controllers, broker]:
            process.start()
            started.append(process)
        yield controllers, broker
    finally:
        for process in reversed(started):
            process.stop()


def describe_status(bootstrap: str) -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.metadata_quorum",
            "--bootstrap-server",
            bootstrap,
            "describe",
            "--status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode:
        return {}
    return {
        k.strip(): v.strip()
        for k, v in (line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    }


def test_the_voter_set_comes_from_the_bootstrap_snapshot(quorum):
    controllers, broker = quorum
    for controller in controllers:
        voters = read_bootstrap_voters(controller.log_dirs)
        assert [v.node_id for v in voters or []] == [10, 11, 12]
        meta = (controller.log_dirs / "meta.properties").read_text()
        node = int(controller.properties.read_text().split("node.id=")[1].split("\n")[0])
        assert f"directory.id={next(v.directory_id for v in voters if v.node_id == node)}" in meta
    assert wait_until(lambda: describe_status(broker.bootstrap).get("LeaderId", "") != "", 30)
    status = describe_status(broker.bootstrap)
    # Kafka's format for a KIP-853 voter set: each voter with its directory id
    expected = ", ".join(
        f'{{"id": {v.node_id}, "directoryId": "{v.directory_id}", "endpoints": ["CONTROLLER://127.0.0.1:{c.port}"]}}'
        for v, c in zip(read_bootstrap_voters(controllers[0].log_dirs) or [], controllers, strict=True)
    )
    assert status["CurrentVoters"] == f"[{expected}]"
    assert int(status["LeaderId"]) in (10, 11, 12)


def test_kill_the_active_controller_of_a_bootstrapped_quorum(quorum):
    controllers, broker = quorum
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("before", 1, 1)])["before"].result(30)
    assert wait_until(lambda: describe_status(broker.bootstrap).get("LeaderId", "") != "", 30)
    old = int(describe_status(broker.bootstrap)["LeaderId"])
    victim = controllers[old - 10]
    os.kill(victim.pid, signal.SIGKILL)
    victim.proc.wait()

    def new_leader() -> bool:
        found = describe_status(broker.bootstrap).get("LeaderId", "")
        return found not in ("", str(old))

    assert wait_until(new_leader, 20), "no new leader"
    admin.create_topics([NewTopic("after", 1, 1)])["after"].result(30)
    assert wait_until(lambda: {"before", "after"} <= set(admin.list_topics(timeout=10).topics), 30)
