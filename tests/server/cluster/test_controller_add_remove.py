"""KIP-853's voter changes on real processes: a quorum grown from one ``--standalone`` controller to
three by ``kafka-metadata-quorum add-controller`` (the new controllers start as observers,
formatted with ``--no-initial-controllers``), the first one killed -9 (the two it added elect a
leader and the broker still creates topics), then ``remove-controller`` of the dead one.

One module-wide cluster; each step is a test that builds on the one before, in file order."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.server.cluster.raft_voters import read_bootstrap_voters
from tests.broker_process import BrokerProcess, free_port
from tests.e2e.helpers import wait_until
from tests.server.cluster.dynamic_quorum import bootstrap_servers, storage
from tests.server.cluster.dynamic_quorum import broker as quorum_broker
from tests.server.cluster.dynamic_quorum import controller as quorum_controller

CLUSTER_ID = "vK3x-9_ISia_zwGINzRvyQ"
NODES = (1, 2, 3)


def quorum_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.tools.metadata_quorum", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def status(bootstrap_controller: str) -> dict[str, str]:
    out = quorum_tool("--bootstrap-controller", bootstrap_controller, "describe", "--status")
    if out.returncode:
        return {}
    return {
        k.strip(): v.strip()
        for k, v in (line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    }


def voter_ids(found: dict[str, str]) -> list[int]:
    text = found.get("CurrentVoters", "")
    return sorted(int(part.split(",")[0]) for part in text.split('"id": ')[1:])


def directory_id(controller: BrokerProcess) -> str:
    meta = (controller.log_dirs / "meta.properties").read_text()
    return meta.split("directory.id=")[1].split("\n")[0].strip()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("voters")
    ports = {node: free_port() for node in NODES}
    bootstrap = bootstrap_servers(ports)
    controllers = {node: quorum_controller(root, node, port, bootstrap) for node, port in ports.items()}
    broker = quorum_broker(root, bootstrap)
    out = storage("format", "-t", CLUSTER_ID, "-c", str(controllers[1].properties), "--standalone")
    assert out.returncode == 0, out.stderr
    for node in (2, 3):
        out = storage(
            "format", "-t", CLUSTER_ID, "-c", str(controllers[node].properties), "--no-initial-controllers"
        )
        assert out.returncode == 0, out.stderr
    out = storage("format", "-t", CLUSTER_ID, "-c", str(broker.properties), "--no-initial-controllers")
    assert out.returncode == 0, out.stderr
    started: list[BrokerProcess] = []
    try:
        for process in [controllers[1], broker]:
            process.start()
            started.append(process)
        yield {"controllers": controllers, "broker": broker, "started": started, "bootstrap": bootstrap}
    finally:
        for process in reversed(started):
            process.stop()


def test_standalone_controller_leads_alone(lab):
    c1 = lab["controllers"][1]
    assert [v.node_id for v in read_bootstrap_voters(c1.log_dirs) or []] == [1]
    assert wait_until(lambda: status(f"127.0.0.1:{c1.port}").get("LeaderId") == "1", 30)
    assert voter_ids(status(lab["bootstrap"])) == [1]


def test_add_two_observers_one_by_one(lab):
    """Controller 2 is added through the controllers (--bootstrap-controller), controller 3
    through the broker (--bootstrap-server: AddRaftVoter in Kafka's protocol, forwarded)."""
    controllers = lab["controllers"]
    first = f"127.0.0.1:{controllers[1].port}"
    for node in (2, 3):
        controllers[node].start()
        lab["started"].append(controllers[node])
        # an observer first: DescribeQuorum lists it among the observers once it fetches
        assert wait_until(lambda n=node: f'"id": {n}' in status(first).get("CurrentObservers", ""), 30)
        via = (
            ["--bootstrap-controller", first]
            if node == 2
            else ["--bootstrap-server", lab["broker"].bootstrap]
        )
        out = quorum_tool(
            *via,
            "add-controller",
            "--command-config",
            str(controllers[node].properties),
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == (
            f"Added controller {node} with directory id {directory_id(controllers[node])} "
            f"and endpoints: CONTROLLER://127.0.0.1:{controllers[node].port}"
        )
        assert voter_ids(status(first)) == list(range(1, node + 1))
    found = status(lab["bootstrap"])
    assert voter_ids(found) == [1, 2, 3]
    assert '"id": 2' not in found["CurrentObservers"] and '"id": 3' not in found["CurrentObservers"]
    # adding a voter twice is refused with Kafka's error
    for via in (["--bootstrap-controller", first], ["--bootstrap-server", lab["broker"].bootstrap]):
        out = quorum_tool(*via, "add-controller", "--command-config", str(controllers[3].properties))
        assert out.returncode != 0, out.stderr
        assert out.stderr.startswith(
            "org.apache.kafka.common.errors.DuplicateVoterException: The voter id 3 is already"
        ), out.stderr


def test_kill_the_first_controller_and_remove_it(lab):
    controllers, broker = lab["controllers"], lab["broker"]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("before", 1, 1)])["before"].result(30)
    survivors = f"127.0.0.1:{controllers[2].port},127.0.0.1:{controllers[3].port}"
    assert wait_until(lambda: status(lab["bootstrap"]).get("LeaderId") == "1", 30)
    controllers[1].kill()
    controllers[1].proc.wait()
    assert wait_until(lambda: status(survivors).get("LeaderId") in ("2", "3"), 30), "no new leader"
    admin.create_topics([NewTopic("after", 1, 1)])["after"].result(30)
    assert wait_until(lambda: {"before", "after"} <= set(admin.list_topics(timeout=10).topics), 30)
    out = quorum_tool(
        "--bootstrap-controller",
        survivors,
        "remove-controller",
        "--controller-id",
        "1",
        "--controller-directory-id",
        directory_id(controllers[1]),
    )
    assert out.returncode == 0, out.stderr
    assert (
        out.stdout.strip() == f"Removed KRaft controller 1 with directory id {directory_id(controllers[1])}"
    )
    assert voter_ids(status(survivors)) == [2, 3]
    admin.create_topics([NewTopic("removed", 1, 1)])["removed"].result(30)


def test_restarted_voters_keep_the_changed_set(lab):
    """The voter set lives in the log now, not in the bootstrap snapshot (controllers 2 and 3 have
    none): both stopped and started again elect a leader between them - they could not if either
    came back an observer - and the quorum goes on."""
    controllers = lab["controllers"]
    survivors = f"127.0.0.1:{controllers[2].port},127.0.0.1:{controllers[3].port}"
    assert read_bootstrap_voters(controllers[3].log_dirs) is None
    for node in (2, 3):
        controllers[node].stop()
    for node in (2, 3):
        controllers[node].start()
    assert wait_until(lambda: status(survivors).get("LeaderId") in ("2", "3"), 30)
    assert voter_ids(status(survivors)) == [2, 3]
    admin = AdminClient({"bootstrap.servers": lab["broker"].bootstrap})
    admin.create_topics([NewTopic("restarted", 1, 1)])["restarted"].result(30)


def test_removing_the_leader_hands_over(lab):
    """remove-controller of the leader itself: it commits the change, resigns, and the one voter
    left leads; the removed controller goes on as an observer."""
    controllers = lab["controllers"]
    survivors = f"127.0.0.1:{controllers[2].port},127.0.0.1:{controllers[3].port}"
    assert wait_until(lambda: status(survivors).get("LeaderId") in ("2", "3"), 30)
    leader = int(status(survivors)["LeaderId"])
    other = 5 - leader
    out = quorum_tool(
        "--bootstrap-controller",
        survivors,
        "remove-controller",
        "--controller-id",
        str(leader),
        "--controller-directory-id",
        directory_id(controllers[leader]),
    )
    assert out.returncode == 0, out.stderr
    assert wait_until(lambda: status(survivors).get("LeaderId") == str(other), 30)
    found = status(survivors)
    assert voter_ids(found) == [other]
    assert wait_until(lambda: f'"id": {leader}' in status(survivors).get("CurrentObservers", ""), 30)
    admin = AdminClient({"bootstrap.servers": lab["broker"].bootstrap})
    admin.create_topics([NewTopic("handed-over", 1, 1)])["handed-over"].result(30)
