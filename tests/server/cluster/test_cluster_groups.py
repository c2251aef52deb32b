"""Consumer groups on a three-broker cluster: the coordinator is the leader of the group's
``__consumer_offsets`` partition, and when its broker dies the group's committed offsets move
with leadership to a replica, so the group resumes where it committed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(
        tmp_path, 3, overrides={"offsets.topic.replication.factor": "3", "offsets.topic.num.partitions": "3"}
    )
    c.start()
    yield c
    c.stop()


def produce(bootstrap: str, values: range) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in values:
        producer.produce("t", str(i).encode())
    assert producer.flush(30) == 0


def consume(bootstrap: str, expected: int) -> list[int]:
    """Read ``expected`` records in group "g", commit them, and check nothing more arrives."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "g",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["t"])
    seen: list[int] = []
    try:
        while len(seen) < expected:
            msg = consumer.poll(30)
            assert msg is not None, f"got {len(seen)} of {expected}"
            assert msg.error() is None, msg.error()
            seen.append(int(msg.value()))
        consumer.commit(asynchronous=False)
        extra = consumer.poll(1)
        assert extra is None or extra.error() is not None, "a record beyond the expected ones arrived"
    finally:
        consumer.close()
    return seen


def test_group_resumes_from_its_commits_after_its_coordinator_dies(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("t", 3, 3)])["t"].result(30)
    produce(cluster.bootstrap, range(30))
    assert sorted(consume(cluster.bootstrap, 30)) == list(range(30))

    described = admin.describe_consumer_groups(["g"])["g"].result(30)
    coordinator = described.coordinator.id
    cluster.brokers[coordinator].kill()
    survivors = ",".join(b.bootstrap for i, b in enumerate(cluster.brokers) if i != coordinator)

    produce(survivors, range(30, 40))
    assert sorted(consume(survivors, 10)) == list(range(30, 40))  # nothing before the commit again
    survivors_admin = AdminClient({"bootstrap.servers": survivors})  # kept alive until its answer
    moved = survivors_admin.describe_consumer_groups(["g"])["g"].result(30)
    assert moved.coordinator.id != coordinator
