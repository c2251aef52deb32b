"""A KIP-848 consumer group on a three-broker cluster whose group coordinator is killed with
``kill -9`` in the middle of a rebalance: the leader of the group's ``__consumer_offsets``
partition moves to a replica, which replays the group's records (epochs, target assignment,
members) and its committed offsets, so the group finishes the rebalance there and the members
resume from their commits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.compat.test_kip848_confluent import KIP848_SETTINGS, produce, uniform_and_stable, wait_for
from tests.group_member import MemberProcess
from tests.kafka_wire import Connection


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(
        tmp_path,
        3,
        overrides={
            "offsets.topic.replication.factor": "3",
            "offsets.topic.num.partitions": "3",
            **KIP848_SETTINGS,
        },
    )
    c.start()
    yield c
    c.stop()


def committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    answer = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(30)
    return {tp.partition: tp.offset for tp in answer.topic_partitions}


def test_group_recovers_on_the_new_coordinator_after_kill_9_mid_rebalance(cluster: Cluster) -> None:
    bootstrap = cluster.bootstrap
    topic, group = "t", f"g-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 6, 3)])[topic].result(30)
    produce(bootstrap, topic, range(0, 600), 6)
    members = [MemberProcess(bootstrap, group, topic, "consumer") for _ in range(2)]
    try:
        for m in members:
            m.wait(lambda m: len(m.assigned) == 3, 60, "three partitions each")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 2, 6), 30, "a stable group")
        members[0].wait(
            lambda _: set(members[0].values) | set(members[1].values) >= set(range(600)), 60, "all read"
        )
        before = committed(bootstrap, group)
        assert before == {p: 100 for p in range(6)}
        coordinator = admin.describe_consumer_groups([group])[group].result(30).coordinator.id

        # A third member starts a rebalance; the coordinator dies before it can finish.
        members.append(MemberProcess(bootstrap, group, topic, "consumer"))

        def rebalancing() -> str | None:
            with Connection(cluster.brokers[coordinator].bootstrap) as conn:
                d = conn.request(
                    69, 1, {"group_ids": [group], "include_authorized_operations": False}
                ).groups[0]
            return d.group_state if len(d.members) == 3 else None

        state = wait_for(rebalancing, 60, "the joiner in the group")
        marks = [len(m.lines) for m in members]
        cluster.brokers[coordinator].kill()
        assert state in ("Assigning", "Reconciling")  # killed mid-rebalance
        survivors = ",".join(b.bootstrap for i, b in enumerate(cluster.brokers) if i != coordinator)

        for m in members:
            m.wait(lambda m: len(m.assigned) == 2, 90, "two partitions each on the new coordinator")
        wait_for(
            lambda: uniform_and_stable(survivors, group, 3, 6), 60, "a stable group on the new coordinator"
        )
        moved = AdminClient({"bootstrap.servers": survivors})
        assert moved.describe_consumer_groups([group])[group].result(30).coordinator.id != coordinator
        # The commits survived: nothing below them is read again.
        again = [
            (int(p), int(o))
            for m, mark in zip(members, marks, strict=True)
            for line in m.lines[mark:]
            if (found := re.match(r"RECORD (\d+) (\d+) ", line))
            and (p := found.group(1))
            and (o := found.group(2))
        ]
        assert [(p, o) for p, o in again if o < before[p]] == []
        produce(survivors, topic, range(600, 900), 6)
        members[2].wait(
            lambda _: set().union(*(m.values for m in members)) >= set(range(900)),
            60,
            "records after the failover",
        )
        for m in members:
            m.close()
    finally:
        for m in members:
            m.kill()
    assert committed(survivors, group) == {p: 150 for p in range(6)}
