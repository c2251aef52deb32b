"""Replication rules on a real cluster: min.insync.replicas refuses acks=all when the ISR is too
small, and a returning broker cuts the tail it wrote as a deposed leader (OffsetForLeaderEpoch)
so the replicas never disagree."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, ElectionType, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 3)
    c.start()
    yield c
    c.stop()


def create(cluster: Cluster, name: str, assignment: list[list[int]], configs: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, len(assignment), replica_assignment=assignment, config=configs)])[
        name
    ].result(30)


def send(bootstrap: str, topic: str, values: list[str], acks: str) -> list[KafkaError | None]:
    """Produce without retries; the per-record delivery error (None when acknowledged)."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": acks, "retries": 0, "enable.idempotence": False}
    )
    results: list[KafkaError | None] = []
    for value in values:
        producer.produce(topic, value.encode(), on_delivery=lambda err, _msg: results.append(err))
    assert producer.flush(30) == 0
    return results


def leader_of(cluster: Cluster, topic: str, via: int) -> tuple[int, list[int]]:
    admin = AdminClient({"bootstrap.servers": cluster.brokers[via].bootstrap})
    partition = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
    return partition.leader, list(partition.isrs)


def read(bootstrap: str, topic: str) -> list[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        consumer.assign([TopicPartition(topic, 0, low)])
        values: list[str] = []
        while len(values) < high - low:
            msg = consumer.poll(10)
            assert msg is not None and msg.error() is None, msg and msg.error()
            values.append(msg.value().decode())
        return values
    finally:
        consumer.close()


def test_min_insync_replicas_refuses_acks_all_but_not_acks_1(cluster: Cluster) -> None:
    create(cluster, "m", [[0, 1, 2]], {"min.insync.replicas": "2"})
    assert send(cluster.bootstrap, "m", ["a"], "all") == [None]
    cluster.brokers[1].kill()
    cluster.brokers[2].kill()
    assert wait_until(lambda: leader_of(cluster, "m", 0)[1] == [0], 30)
    [refused] = send(cluster.brokers[0].bootstrap, "m", ["b"], "all")
    assert refused is not None and refused.code() == KafkaError.NOT_ENOUGH_REPLICAS
    assert send(cluster.brokers[0].bootstrap, "m", ["c"], "1") == [None]
    assert read(cluster.brokers[0].bootstrap, "m") == ["a", "c"]


def test_a_deposed_leader_truncates_its_unreplicated_tail_on_return(cluster: Cluster) -> None:
    create(cluster, "d", [[0, 1]], {"unclean.leader.election.enable": "true"})
    both = f"{cluster.brokers[0].bootstrap},{cluster.brokers[1].bootstrap}"
    assert send(both, "d", ["a0", "a1", "a2"], "all") == [None] * 3
    cluster.brokers[1].kill()
    assert wait_until(lambda: leader_of(cluster, "d", 0) == (0, [0]), 30)
    assert send(cluster.brokers[0].bootstrap, "d", ["x0", "x1"], "1") == [None] * 2  # only on broker 0
    cluster.brokers[0].kill()
    cluster.brokers[1].start()  # unclean: broker 1 leads without x0, x1
    assert wait_until(lambda: leader_of(cluster, "d", 1)[0] == 1, 30)
    assert send(cluster.brokers[1].bootstrap, "d", ["y0"], "all") == [None]
    cluster.brokers[0].start()
    assert wait_until(lambda: leader_of(cluster, "d", 1)[1] == [1, 0], 30)
    admin = AdminClient({"bootstrap.servers": cluster.brokers[1].bootstrap})
    admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition("d", 0)]).result(
        30
    )  # preferred: broker 0 leads again
    assert leader_of(cluster, "d", 1)[0] == 0
    assert read(cluster.brokers[0].bootstrap, "d") == ["a0", "a1", "a2", "y0"]


@pytest.fixture
def quick_lag_cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 3, overrides={"replica.lag.time.max.ms": "2000"})
    c.start()
    yield c
    for broker in c.brokers:  # never leave a stopped process behind
        if broker.proc is not None and broker.proc.poll() is None:
            os.kill(broker.pid, signal.SIGCONT)
    c.stop()


def test_a_stalled_follower_leaves_the_isr_and_rejoins_when_it_catches_up(quick_lag_cluster: Cluster) -> None:
    cluster = quick_lag_cluster
    create(cluster, "s", [[0, 1, 2]], {})
    os.kill(cluster.brokers[2].pid, signal.SIGSTOP)  # alive but silent: only lag reveals it
    assert send(cluster.brokers[0].bootstrap, "s", ["a"], "all") == [None]  # after the ISR shrank
    assert leader_of(cluster, "s", 0) == (0, [0, 1])
    os.kill(cluster.brokers[2].pid, signal.SIGCONT)
    assert wait_until(lambda: leader_of(cluster, "s", 0) == (0, [0, 1, 2]), 30)
    assert read(cluster.brokers[0].bootstrap, "s") == ["a"]
