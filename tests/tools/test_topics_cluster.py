"""kafka-topics' partition reports on a three-broker cluster with one broker killed: which
partitions are under-replicated, unavailable, under or at min ISR - as TopicCommand selects them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.tools.helpers import run_tool


@pytest.fixture(scope="module", params=["zookeeper", "kraft"])
def degraded(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """Topics u and w (min.insync.replicas=2): 2 partitions on all three brokers; topic v: one
    partition on broker 2, one on 0."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), 3, mode=request.param)
    c.start()
    try:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        futures = admin.create_topics(
            [
                NewTopic("u", 2, replica_assignment=[[0, 1, 2], [2, 1, 0]]),
                NewTopic("v", 2, replica_assignment=[[2], [0]]),
                NewTopic(
                    "w", 2, replica_assignment=[[0, 1, 2], [1, 2, 0]], config={"min.insync.replicas": "2"}
                ),
            ]
        )
        for future in futures.values():
            future.result(30)
        c.brokers[2].kill()
        survivor = AdminClient({"bootstrap.servers": c.brokers[0].bootstrap})

        def settled() -> bool:
            topics = survivor.list_topics(timeout=10).topics
            return all(2 not in p.isrs for t in ("u", "w") for p in topics[t].partitions.values())

        assert wait_until(settled, 30)
        yield c
    finally:
        c.stop()


def report(cluster: Cluster, flag: str, topics: str = "u|v") -> list[str]:
    result = run_tool(
        "topics", ["--describe", flag, "--topic", topics, "--bootstrap-server", cluster.brokers[0].bootstrap]
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


def test_min_isr_reports_use_the_topics_min_insync_replicas(degraded: Cluster) -> None:
    """w keeps two of its three replicas in sync: at its min.insync.replicas=2, not under it."""
    assert report(degraded, "--at-min-isr-partitions", "w") == [
        "Topic: w\tPartition: 0",
        "Topic: w\tPartition: 1",
    ]
    assert report(degraded, "--under-min-isr-partitions", "w") == []
    assert report(degraded, "--unavailable-partitions", "w") == []


def test_describe_shows_no_leader_and_the_shrunk_isr(degraded: Cluster) -> None:
    result = run_tool(
        "topics", ["--describe", "--topic", "v", "--bootstrap-server", degraded.brokers[0].bootstrap]
    )
    assert "\tTopic: v\tPartition: 0\tLeader: none\tReplicas: 2\tIsr: 2\t" in result.stdout
    result = run_tool(
        "topics", ["--describe", "--topic", "u", "--bootstrap-server", degraded.brokers[0].bootstrap]
    )
    assert "\tTopic: u\tPartition: 1\tLeader: 1\tReplicas: 2,1,0\tIsr: 1,0\t" in result.stdout
