"""Partition reassignment (KIP-455) on a real 4-broker KRaft cluster, driven by the drop-in
``kafka-reassign-partitions`` and checked with ``kafka-log-dirs``: a move from brokers {0,1,2}
to {1,2,3} while an idempotent acks=all producer runs loses and duplicates nothing, ``--verify``
reports completion and broker 0 deletes its old replicas; a reassignment that cannot finish is
listed and cancelled. Outputs are compared with Kafka's text. One cluster for the module."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.tools.cluster_wire import ClusterView
from kcli.tools.reassignment_calls import alter_reassignments
from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.tools.helpers import run_tool

MOVING = "moving"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("reassign"), 4, mode="kraft")
    c.start()
    yield c
    c.stop()


def create(cluster: Cluster, name: str, assignment: list[list[int]], configs: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, len(assignment), replica_assignment=assignment, config=configs)])[
        name
    ].result(30)


def reassign(cluster: Cluster, *args: str) -> tuple[int, str]:
    result = run_tool("reassign_partitions", ["--bootstrap-server", cluster.bootstrap, *args])
    return result.returncode, result.stdout + result.stderr


def plan(path: Path, moves: dict[tuple[str, int], list[int]]) -> str:
    partitions = [{"topic": t, "partition": p, "replicas": r} for (t, p), r in moves.items()]
    path.write_text(json.dumps({"version": 1, "partitions": partitions}))
    return str(path)


def read_partition(bootstrap: str, topic: str, partition: int) -> list[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False})
    try:
        tp = TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=30)
        consumer.assign([TopicPartition(topic, partition, low)])
        values: list[str] = []
        while len(values) < high - low:
            msg = consumer.poll(10)
            assert msg is not None and msg.error() is None, msg and msg.error()
            values.append(msg.value().decode())
        return values
    finally:
        consumer.close()


class LoadProducer:
    """An idempotent acks=all producer writing numbered records round the partitions until
    stopped; remembers what was acknowledged, per partition, in acknowledgement order."""

    def __init__(self, bootstrap: str, topic: str, partitions: int):
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
        )
        self.topic, self.partitions = topic, partitions
        self.acked: dict[int, list[str]] = {p: [] for p in range(partitions)}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, err: object, msg: object) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            self.acked[msg.partition()].append(msg.value().decode())  # type: ignore[attr-defined]

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            p = i % self.partitions
            self.producer.produce(self.topic, f"{p}:{i}".encode(), partition=p, on_delivery=self._delivered)
            self.producer.poll(0.002)
            i += 1
        self.producer.flush(60)

    def count(self) -> int:
        return sum(len(v) for v in self.acked.values())


def test_reassignment_under_load_keeps_every_record_and_removes_the_old_replicas(
    cluster: Cluster, tmp_path: Path
) -> None:
    create(cluster, MOVING, [[0, 1, 2], [1, 2, 0], [2, 0, 1]], {"min.insync.replicas": "2"})
    load = LoadProducer(cluster.bootstrap, MOVING, 3)
    load.thread.start()
    try:
        assert wait_until(lambda: load.count() >= 300, 60)
        target = {(MOVING, 0): [1, 2, 3], (MOVING, 1): [2, 3, 1], (MOVING, 2): [3, 1, 2]}
        path = plan(tmp_path / "move.json", target)
        code, out = reassign(cluster, "--execute", "--reassignment-json-file", path)
        assert code == 0, out
        current = (
            '{"version":1,"partitions":['
            '{"topic":"moving","partition":0,"replicas":[0,1,2],"log_dirs":["any","any","any"]},'
            '{"topic":"moving","partition":1,"replicas":[1,2,0],"log_dirs":["any","any","any"]},'
            '{"topic":"moving","partition":2,"replicas":[2,0,1],"log_dirs":["any","any","any"]}]}'
        )
        assert out == (
            f"Current partition replica assignment\n\n{current}\n\n"
            "Save this to use as the --reassignment-json-file option during rollback\n"
            "Successfully started partition reassignments for moving-0,moving-1,moving-2\n"
        )

        def verified() -> bool:
            return (
                "is still in progress"
                not in reassign(cluster, "--verify", "--reassignment-json-file", path)[1]
            )

        assert wait_until(verified, 90)
        mark = load.count()
        assert wait_until(lambda: load.count() >= mark + 300, 60)  # the moved partitions take writes
    finally:
        load.stop.set()
        load.thread.join(90)
    assert load.errors == []
    code, out = reassign(cluster, "--verify", "--reassignment-json-file", path)
    assert code == 0
    assert out == (
        "Status of partition reassignment:\n"
        "Reassignment of partition moving-0 is completed.\n"
        "Reassignment of partition moving-1 is completed.\n"
        "Reassignment of partition moving-2 is completed.\n"
        "\n"
        "Clearing broker-level throttles on brokers 0,1,2,3\n"
        "Clearing topic-level throttles on topic moving\n"
    )
    for p in range(3):
        # every acknowledged record exactly once, in order: the partition's log is what was acked
        assert read_partition(cluster.bootstrap, MOVING, p) == load.acked[p]
    old = cluster.brokers[0].log_dirs
    assert wait_until(lambda: not any((old / f"{MOVING}-{p}").exists() for p in range(3)), 30)
    assert all((cluster.brokers[3].log_dirs / f"{MOVING}-{p}").is_dir() for p in range(3))

    result = run_tool(
        "log_dirs",
        [
            "--bootstrap-server",
            cluster.bootstrap,
            "--describe",
            "--topic-list",
            MOVING,
            "--broker-list",
            "0,3",
        ],
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "Querying brokers for log directories information",
        "Received log directory information from brokers 0,3",
    ]
    assert lines[2].startswith('{"brokers":[{"broker":0,"logDirs":[{"partitions":[],"error":null,"logDir":')
    assert lines[2].endswith('"version":1}')
    data = json.loads(lines[2])
    (dir3,) = data["brokers"][1]["logDirs"]
    assert dir3["logDir"] == str(cluster.brokers[3].log_dirs)
    assert sorted(p["partition"] for p in dir3["partitions"]) == ["moving-0", "moving-1", "moving-2"]
    assert all(p["size"] > 0 and p["offsetLag"] == 0 and p["isFuture"] is False for p in dir3["partitions"])
    assert list(dir3["partitions"][0]) == ["partition", "size", "offsetLag", "isFuture"]


def test_generate_proposes_kafkas_json_over_the_given_brokers(cluster: Cluster, tmp_path: Path) -> None:
    create(cluster, "gen", [[0, 1], [1, 2]], {})
    topics = tmp_path / "topics.json"
    topics.write_text('{"topics": [{"topic": "gen"}], "version": 1}')
    code, out = reassign(
        cluster, "--generate", "--topics-to-move-json-file", str(topics), "--broker-list", "2,3"
    )
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "Current partition replica assignment"
    assert lines[1] == (
        '{"version":1,"partitions":[{"topic":"gen","partition":0,"replicas":[0,1],"log_dirs":["any","any"]},'
        '{"topic":"gen","partition":1,"replicas":[1,2],"log_dirs":["any","any"]}]}'
    )
    assert lines[2:4] == ["", "Proposed partition reassignment configuration"]
    proposed = json.loads(lines[4])
    assert [(p["topic"], p["partition"]) for p in proposed["partitions"]] == [("gen", 0), ("gen", 1)]
    assert all(
        sorted(p["replicas"]) == [2, 3] and p["log_dirs"] == ["any", "any"] for p in proposed["partitions"]
    )
    code, out = reassign(
        cluster, "--generate", "--topics-to-move-json-file", str(topics), "--broker-list", "2,2"
    )
    assert (code, out) == (1, "Error: Broker list contains duplicate entries: [2]\n")


def test_a_reassignment_that_cannot_finish_is_listed_and_cancelled(cluster: Cluster, tmp_path: Path) -> None:
    create(cluster, "stuck", [[0, 1]], {})
    assert reassign(cluster, "--list") == (0, "No partition reassignments found.\n")
    cluster.brokers[3].stop()  # registered but fenced: it cannot catch up, the move stays running
    try:
        path = plan(tmp_path / "stuck.json", {("stuck", 0): [0, 3]})
        # The tool refuses a broker that is not live, as Kafka's does; the API takes any registered
        # broker, so the request is sent directly (the tool's own execute is tested above).
        code, out = reassign(cluster, "--execute", "--reassignment-json-file", path)
        assert (code, out) == (1, "Error: Unknown broker id 3\n")
        view = ClusterView(cluster.bootstrap).load([])
        try:
            assert alter_reassignments(view, {("stuck", 0): [0, 3]}) == {}
        finally:
            view.close()
        assert reassign(cluster, "--list") == (
            0,
            "Current partition reassignments:\nstuck-0: replicas: 0,3,1. adding: 3. removing: 1.\n",
        )
        code, out = reassign(cluster, "--execute", "--reassignment-json-file", path)
        assert code == 1 and out.startswith(
            "Cannot execute because there is an existing partition assignment."
        )
        code, out = reassign(cluster, "--verify", "--reassignment-json-file", path)
        assert (code, out) == (
            0,
            "Status of partition reassignment:\nReassignment of partition stuck-0 is still in progress.\n\n",
        )
        code, out = reassign(cluster, "--cancel", "--reassignment-json-file", path)
        assert (code, out) == (
            0,
            "Successfully cancelled partition reassignment for: stuck-0\n"
            "None of the specified partition moves are active.Clearing broker-level throttles on brokers "
            "0,1,2,3\nClearing topic-level throttles on topic stuck\n",
        )
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        partition = admin.list_topics("stuck", timeout=10).topics["stuck"].partitions[0]
        assert (partition.replicas, sorted(partition.isrs)) == ([0, 1], [0, 1])
        assert reassign(cluster, "--list") == (0, "No partition reassignments found.\n")
        code, out = reassign(cluster, "--cancel", "--reassignment-json-file", path)
        assert out.startswith("None of the specified partition reassignments are active.\n")
    finally:
        cluster.brokers[3].start()


def test_option_errors_are_kafkas() -> None:
    result = run_tool("reassign_partitions", ["--bootstrap-server", "127.0.0.1:1", "--verify", "--list"])
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
    )
    result = run_tool("reassign_partitions", ["--bootstrap-server", "127.0.0.1:1", "--verify"])
    assert result.stderr.splitlines()[0] == 'Missing required argument "[reassignment-json-file]"'
    result = run_tool(
        "reassign_partitions",
        ["--bootstrap-server", "127.0.0.1:1", "--list", "--throttle", "10"],
    )
    assert result.stderr.splitlines()[0] == 'Option "[throttle]" can\'t be used with action "[list]"'
