"""kafka-topics' partition reports on a three-broker cluster with one broker killed: which
partitions are under-replicated, unavailable, under or at min ISR - as TopicCommand selects them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.tools.helpers import run_tool


@pytest.fixture(scope="module")
def degraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Topic u: 2 partitions on all three brokers; topic v: one partition on broker 2, one on 0."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), 3)
    c.start()
    try:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        futures = admin.create_topics(
            [
                NewTopic("u", 2, replica_assignment=[[0, 1, 2], [2, 1, 0]]),
                NewTopic("v", 2, replica_assignment=[[2], [0]]),
            ]
        )
        for future in futures.values():
            future.result(30)
        c.brokers[2].kill()
        survivor = AdminClient({"bootstrap.servers": c.brokers[0].bootstrap})

        def settled() -> bool:
            parts = survivor.list_topics("u", timeout=10).topics["u"].partitions
            return all(2 not in p.isrs for p in parts.values())

        assert wait_until(settled, 30)
        yield c
    finally:
        c.stop()


def report(cluster: Cluster, flag: str) -> list[str]:
    result = run_tool(
        "topics", ["--describe", flag, "--topic", "u|v", "--bootstrap-server", cluster.brokers[0].bootstrap]
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\tLeader")[0].strip() for line in result.stdout.splitlines()]


def test_under_replicated_partitions(degraded: Cluster) -> None:
    assert report(degraded, "--under-replicated-partitions") == [
        "Topic: u\tPartition: 0",
        "Topic: u\tPartition: 1",
    ]


def test_unavailable_partitions(degraded: Cluster) -> None:
    assert report(degraded, "--unavailable-partitions") == ["Topic: v\tPartition: 0"]


def test_under_min_isr_partitions(degraded: Cluster) -> None:
    assert report(degraded, "--under-min-isr-partitions") == ["Topic: v\tPartition: 0"]


def test_at_min_isr_partitions(degraded: Cluster) -> None:
    assert report(degraded, "--at-min-isr-partitions") == ["Topic: v\tPartition: 0", "Topic: v\tPartition: 1"]


def test_describe_shows_no_leader_and_the_shrunk_isr(degraded: Cluster) -> None:
    result = run_tool(
        "topics", ["--describe", "--topic", "v", "--bootstrap-server", degraded.brokers[0].bootstrap]
    )
    assert "\tTopic: v\tPartition: 0\tLeader: none\tReplicas: 2\tIsr: 2\t" in result.stdout
    result = run_tool(
        "topics", ["--describe", "--topic", "u", "--bootstrap-server", degraded.brokers[0].bootstrap]
    )
    assert "\tTopic: u\tPartition: 1\tLeader: 1\tReplicas: 2,1,0\tIsr: 1,0\t" in result.stdout
