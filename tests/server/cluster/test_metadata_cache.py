"""Cached Metadata responses follow the cluster: after new partitions, a topic's deletion and a
leader change, real clients asking any broker see the new metadata (each broker's cache was
warmed by the same requests first, so a missed invalidation would serve the old answer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kafka import KafkaAdminClient

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(Path(tmp_path_factory.mktemp("metadata-cache")), 3, mode="kraft",
                overrides={"auto.create.topics.enable": "false"})  # fmt: skip
    c.start()
    yield c
    c.stop()


def _all_topics(cluster: Cluster, via: int) -> dict:
    """Metadata for every topic (librdkafka), asked of broker ``via`` alone."""
    return AdminClient({"bootstrap.servers": cluster.brokers[via].bootstrap}).list_topics(timeout=10).topics


def _described(cluster: Cluster, via: int, topic: str) -> list[dict]:
    """kafka-python's view of ``topic``'s partitions (another client, another Metadata version)."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.brokers[via].bootstrap, request_timeout_ms=10_000)
    try:
        (found,) = admin.describe_topics([topic])
        return sorted(found["partitions"], key=lambda p: p["partition_index"])
    finally:
        admin.close()


def _warm(cluster: Cluster, brokers: range, topic: str) -> None:
    for via in brokers:
        assert topic in _all_topics(cluster, via)
        assert _described(cluster, via, topic)


def test_new_partitions_are_seen_by_every_client(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("grows", 2, replication_factor=3)])["grows"].result(30)
    assert wait_until(lambda: all("grows" in _all_topics(cluster, v) for v in range(3)))
    _warm(cluster, range(3), "grows")
    admin.create_partitions([NewPartitions("grows", 5)])["grows"].result(30)
    for via in range(3):
        assert wait_until(lambda via=via: len(_all_topics(cluster, via)["grows"].partitions) == 5)
        parts = _described(cluster, via, "grows")
        assert [p["partition_index"] for p in parts] == [0, 1, 2, 3, 4]
        assert all(p["leader_id"] >= 0 and len(p["replica_nodes"]) == 3 for p in parts)


def test_a_deleted_topic_is_gone_for_every_client(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("doomed", 1, replication_factor=3)])["doomed"].result(30)
    assert wait_until(lambda: all("doomed" in _all_topics(cluster, v) for v in range(3)))
    _warm(cluster, range(3), "doomed")
    admin.delete_topics(["doomed"])["doomed"].result(30)
    for via in range(3):
        assert wait_until(lambda via=via: "doomed" not in _all_topics(cluster, via))
        named = AdminClient({"bootstrap.servers": cluster.brokers[via].bootstrap}).list_topics(
            "doomed", timeout=10
        )
        assert named.topics["doomed"].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_a_leader_change_and_an_offline_replica_are_seen_by_every_client(cluster: Cluster) -> None:
    """Runs last: it stops a broker for good."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("moves", 1, replica_assignment=[[2, 0, 1]])])["moves"].result(30)
    assert wait_until(lambda: all("moves" in _all_topics(cluster, v) for v in range(3)))
    assert wait_until(lambda: _all_topics(cluster, 0)["moves"].partitions[0].leader == 2)
    _warm(cluster, range(3), "moves")
    cluster.brokers[2].stop()
    for via in range(2):
        assert wait_until(lambda via=via: _all_topics(cluster, via)["moves"].partitions[0].leader == 0)
        (part,) = _described(cluster, via, "moves")
        assert part["leader_id"] == 0 and 2 not in part["isr_nodes"] and part["offline_replicas"] == [2]
        assert 2 not in {b.id for b in AdminClient(
            {"bootstrap.servers": cluster.brokers[via].bootstrap}).list_topics(timeout=10).brokers.values()}  # fmt: skip
