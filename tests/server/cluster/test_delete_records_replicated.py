"""DeleteRecords on a replicated topic (issue 12): the follower applies the leader's new log start
offset as Kafka's follower does, the other partitions it fetches from the same leader keep
flowing, and after the leader is killed the deleted records do not come back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 2)
    c.start()
    yield c
    c.stop()


def produce(bootstrap: str, topic: str, count: int) -> int:
    """Produce ``count`` records with acks=all and a 5 s delivery timeout; how many were acked."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 5000, "linger.ms": 0}
    )
    acked = []
    for i in range(count):
        producer.produce(topic, str(i).encode(), on_delivery=lambda err, _m: acked.append(err is None))
    producer.flush(30)
    return sum(acked)


def watermarks(bootstrap: str, topic: str) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()


def leader_of(bootstrap: str, topic: str) -> int:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader


def test_deleted_records_stay_deleted_after_failover_and_other_partitions_keep_replicating(
    cluster: Cluster,
) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics(
        [NewTopic("d", 1, replica_assignment=[[0, 1]]), NewTopic("other", 1, replica_assignment=[[0, 1]])]
    )
    for future in futures.values():
        future.result(30)
    assert produce(cluster.bootstrap, "d", 200) == 200

    (result,) = admin.delete_records([TopicPartition("d", 0, 100)]).values()
    assert result.result(30).low_watermark == 100

    # The follower fetches "other" from the same leader in the same requests: it must not stall.
    assert produce(cluster.bootstrap, "other", 20) == 20

    cluster.brokers[0].kill()
    follower = cluster.brokers[1].bootstrap
    assert wait_until(lambda: leader_of(follower, "d") == 1, 30)
    assert watermarks(follower, "d") == (100, 200)
