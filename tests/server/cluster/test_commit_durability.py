"""Offset commits are as safe as acks=all produce (issue 12): on a three-broker cluster an
OffsetCommit is acknowledged only once the ``__consumer_offsets`` record is on every in-sync
replica and the ISR satisfies ``min.insync.replicas``; a commit that cannot be secured answers
COORDINATOR_NOT_AVAILABLE, and after the coordinator is killed no acknowledged commit goes back."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until

OFFSETS = "__consumer_offsets"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(
        tmp_path,
        3,
        overrides={
            "offsets.topic.replication.factor": "3",
            "offsets.topic.num.partitions": "1",
            "offsets.commit.timeout.ms": "1500",
            "min.insync.replicas": "2",
        },
    )
    c.start()
    yield c
    for broker in c.brokers:  # never leave a stopped process behind
        if broker.proc is not None and broker.proc.poll() is None:
            os.kill(broker.pid, signal.SIGCONT)
    c.stop()


def offsets_partition(bootstrap: str) -> tuple[int, list[int]]:
    """Leader and ISR of ``__consumer_offsets``-0 as the broker at ``bootstrap`` sees them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partition = admin.list_topics(OFFSETS, timeout=10).topics[OFFSETS].partitions[0]
    return partition.leader, sorted(partition.isrs)


def commit(bootstrap: str, offset: int) -> KafkaError | None:
    """Commit ``offset`` for t-0 in group g; the error, or None when acknowledged."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition("t", 0, offset)], asynchronous=False)
        return None
    except KafkaException as exc:
        return exc.args[0]
    finally:
        consumer.close()


def committed(bootstrap: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False})
    try:
        (tp,) = consumer.committed([TopicPartition("t", 0)], timeout=30)
        return tp.offset
    finally:
        consumer.close()


def test_a_commit_is_acknowledged_only_when_the_in_sync_replicas_have_it(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("t", 1, 3)])["t"].result(30)
    acknowledged = []
    assert commit(cluster.bootstrap, 5) is None
    acknowledged.append(5)
    coordinator, isr = offsets_partition(cluster.bootstrap)
    assert isr == [0, 1, 2]
    followers = [b for i, b in enumerate(cluster.brokers) if i != coordinator]
    coordinator_bootstrap = cluster.brokers[coordinator].bootstrap

    # Both followers stopped (alive for the controller, silent for the leader): the record
    # cannot reach them, so the commit must not be acknowledged.
    for broker in followers:
        os.kill(broker.pid, signal.SIGSTOP)
    try:
        refused = commit(coordinator_bootstrap, 15)
        if refused is None:
            acknowledged.append(15)
        assert refused is not None, "a commit the followers never received was acknowledged"
        assert refused.code() in (KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.NOT_COORDINATOR), refused
        cluster.brokers[coordinator].kill()
    finally:
        for broker in followers:
            os.kill(broker.pid, signal.SIGCONT)

    survivors = ",".join(b.bootstrap for b in followers)
    assert wait_until(lambda: offsets_partition(survivors)[0] not in (-1, coordinator), 30)
    assert committed(survivors) >= max(acknowledged)

    # min.insync.replicas=2 with one in-sync replica left: refused at once, nothing acknowledged.
    leader, _ = offsets_partition(survivors)
    other = next(b for b in followers if b is not cluster.brokers[leader])
    other.kill()
    assert wait_until(lambda: offsets_partition(cluster.brokers[leader].bootstrap)[1] == [leader], 30)
    refused = commit(cluster.brokers[leader].bootstrap, 25)
    assert refused is not None and refused.code() == KafkaError.COORDINATOR_NOT_AVAILABLE, refused
    # 15 may have reached the followers before they stopped (unacknowledged, but not lost);
    # 25 was refused before it was written (NOT_ENOUGH_REPLICAS is checked before appending).
    assert max(acknowledged) <= committed(cluster.brokers[leader].bootstrap) < 25
