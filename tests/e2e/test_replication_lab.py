"""The multi-broker lab of the lecture, as typed: three brokers, a topic replicated three times,
the leader killed mid-stream, a new leader, no acknowledged record lost, the old leader back in
the ISR and - after ``kafka-leader-election`` - leading again.

ZooKeeper mode runs exactly the lab's steps through ``$CONFLUENT_HOME`` (copy server.properties,
change broker.id, port and log.dirs); KRaft mode runs the same checks on a controller-only node
and three broker-only nodes.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.cluster_process import Cluster
from tests.e2e.helpers import Server, free_ports, set_properties, sh, wait_until

TOPIC = "my-replicated-topic"
RECORDS = 3000
KILL_AFTER = 1000
STARTED = "started (kafka.server.KafkaServer)"
DESCRIBE_LINE = re.compile(r"Partition: 0\tLeader: (-?\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]*)")


@dataclass
class LabCluster:
    """What the lab needs from a running cluster, whichever mode started it."""

    bootstrap: Callable[[int], str]  # one broker's address
    kill: Callable[[int], None]  # SIGKILL
    restart: Callable[[int], None]  # start again, returning once it serves
    run: Callable[[str], tuple[int, str]]  # a command line -> (exit code, stdout + stderr)
    ids: list[int] = field(default_factory=lambda: [0, 1, 2])


def describe(lab: LabCluster, via: int) -> tuple[int, list[int], list[int]]:
    code, out = lab.run(f"kafka-topics --describe --topic {TOPIC} --bootstrap-server {lab.bootstrap(via)}")
    assert code == 0, out
    match = DESCRIBE_LINE.search(out)
    assert match, out
    leader, replicas, isr = match.groups()
    return int(leader), [int(x) for x in replicas.split(",")], [int(x) for x in isr.split(",") if x]


def produce_killing_leader(lab: LabCluster, leader: int, survivor: int) -> dict[int, bytes]:
    """acks=all stream; the leader is SIGKILLed after KILL_AFTER acknowledgements."""
    acked: dict[int, bytes] = {}
    failed: list[str] = []
    killed = threading.Event()
    producer = Producer(
        {
            "bootstrap.servers": ",".join(lab.bootstrap(i) for i in lab.ids),
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.timeout.ms": 60000,
        }
    )

    def delivered(err, msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            failed.append(str(err))
            return
        acked[msg.offset()] = msg.value()
        if len(acked) >= KILL_AFTER and not killed.is_set():
            killed.set()
            lab.kill(leader)

    for i in range(RECORDS):
        producer.produce(TOPIC, value=f"record-{i}".encode(), on_delivery=delivered)
        producer.poll(0)
        if i % 200 == 0:
            producer.flush(30)  # keep the stream going across the kill, batch by batch
    assert producer.flush(90) == 0
    assert killed.is_set()
    assert not failed, failed[:5]
    return acked


def read_all(bootstrap: str) -> dict[int, bytes]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "lab-check", "enable.auto.commit": False}
    )
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=30)
        consumer.assign([TopicPartition(TOPIC, 0, low)])
        seen: dict[int, bytes] = {}
        while len(seen) < high - low:
            msg = consumer.poll(10)
            assert msg is not None, f"read {len(seen)} of {high - low}"
            assert msg.error() is None, msg.error()
            seen[msg.offset()] = msg.value()
        return seen
    finally:
        consumer.close()


def run_lab(lab: LabCluster) -> None:
    code, out = lab.run(
        f"kafka-topics --create --topic {TOPIC} --partitions 1 --replication-factor 3 "
        f"--bootstrap-server {lab.bootstrap(0)}"
    )
    assert code == 0 and f"Created topic {TOPIC}." in out, out
    leader, replicas, isr = describe(lab, 0)
    assert sorted(replicas) == lab.ids and sorted(isr) == lab.ids and leader == replicas[0]
    survivor = next(i for i in lab.ids if i != leader)

    acked = produce_killing_leader(lab, leader, survivor)

    new_leader, _, isr_after = describe(lab, survivor)
    assert new_leader not in (leader, -1) and leader not in isr_after, (new_leader, isr_after)
    stored = read_all(lab.bootstrap(survivor))
    lost = {o: v for o, v in acked.items() if stored.get(o) != v}
    assert not lost, f"{len(lost)} acknowledged records lost or moved, e.g. {list(lost.items())[:3]}"
    values = list(stored.values())
    assert len(values) == len(set(values)) == RECORDS  # the idempotent producer left no duplicate

    lab.restart(leader)
    assert wait_until(lambda: leader in describe(lab, survivor)[2], 60), describe(lab, survivor)
    code, out = lab.run(
        f"kafka-leader-election --bootstrap-server {lab.bootstrap(survivor)} --election-type PREFERRED "
        f"--topic {TOPIC} --partition 0"
    )
    assert code == 0, out
    assert f"Successfully completed leader election (PREFERRED) for partitions {TOPIC}-0" in out
    assert describe(lab, survivor)[0] == replicas[0]
    assert read_all(lab.bootstrap(leader)) == stored  # the returning broker serves the same log


def test_lab_in_zookeeper_mode_as_typed(env: dict[str, str], servers: list[Server], tmp_path: Path) -> None:
    zk_port, *ports = free_ports(4)
    home = Path(sh("echo $CONFLUENT_HOME", env).stdout.strip())
    etc = home / "etc/kafka"
    set_properties(
        etc / "zookeeper.properties", {"clientPort": str(zk_port), "dataDir": str(tmp_path / "zk")}
    )
    set_properties(
        etc / "server.properties",
        {
            "listeners": f"PLAINTEXT://localhost:{ports[0]}",
            "log.dirs": str(tmp_path / "kafka-logs"),
            "zookeeper.connect": f"localhost:{zk_port}",
            "group.initial.rebalance.delay.ms": "0",
        },
    )
    for i in (1, 2):  # the lab: copy the file, change the id, the port and the log directory
        shutil.copy(etc / "server.properties", etc / f"server-{i}.properties")
        set_properties(
            etc / f"server-{i}.properties",
            {
                "broker.id": str(i),
                "listeners": f"PLAINTEXT://localhost:{ports[i]}",
                "log.dirs": str(tmp_path / f"kafka-logs-{i}"),
            },
        )
    files = ["server.properties", "server-1.properties", "server-2.properties"]
    zookeeper = Server("zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties", env)
    servers.append(zookeeper)
    assert zookeeper.wait_for("binding to port"), zookeeper.text()
    brokers: dict[int, Server] = {}

    def start(i: int) -> None:
        brokers[i] = Server(f"kafka-server-start $CONFLUENT_HOME/etc/kafka/{files[i]}", env)
        servers.append(brokers[i])
        assert brokers[i].wait_for(STARTED), brokers[i].text()

    for i in range(3):
        start(i)

    def kill(i: int) -> None:
        brokers[i].proc.kill()
        brokers[i].proc.wait()

    def run(command: str) -> tuple[int, str]:
        result = sh(command, env)
        return result.returncode, result.stdout + result.stderr

    run_lab(LabCluster(lambda i: f"localhost:{ports[i]}", kill, start, run))


@pytest.fixture
def kraft_cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, brokers=3, mode="kraft")
    cluster.start()
    yield cluster
    cluster.stop()


def test_lab_in_kraft_mode(kraft_cluster: Cluster) -> None:
    import subprocess

    def run(command: str) -> tuple[int, str]:
        result = subprocess.run(command.split(), capture_output=True, text=True, timeout=90)
        return result.returncode, result.stdout + result.stderr

    def restart(i: int) -> None:
        kraft_cluster.brokers[i].start()

    lab = LabCluster(
        lambda i: kraft_cluster.brokers[i].bootstrap, lambda i: kraft_cluster.brokers[i].kill(), restart, run
    )
    run_lab(lab)
