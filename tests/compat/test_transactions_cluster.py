"""Transactions on a 3-broker cluster with confluent-kafka: the broker coordinating the
transaction (leader of its ``__transaction_state`` partition, and of some data partitions) is
killed with -9 in the middle of a transaction; its partitions fail over, the new coordinator
loads the transaction and completes it, markers go to whichever brokers lead the partitions now.
read_committed shows exactly what was committed, also after the killed broker came back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kcli.tools.transactions_admin import Cluster as AdminCluster
from kcli.tools.transactions_admin import describe_transaction
from tests.cluster_process import Cluster
from tests.compat.txn_helpers import new_topic, read_all


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 3, mode="kraft")
    c.start()
    try:
        yield c
    finally:
        c.stop()


def coordinator_of(bootstrap: str, txn_id: str) -> int:
    admin = AdminCluster(bootstrap)
    try:
        return int(describe_transaction(admin, txn_id)["coordinator_id"])
    finally:
        admin.close()


def test_kill_9_of_the_coordinator_mid_transaction(cluster: Cluster) -> None:
    topic = new_topic(cluster.bootstrap, "ctx", partitions=3, rf=3)
    txn_id = f"cluster-tx-{uuid.uuid4().hex[:6]}"
    p = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "transactional.id": txn_id,
            "transaction.timeout.ms": 120_000,
            "message.timeout.ms": 120_000,
            "linger.ms": 5,
        }
    )
    p.init_transactions(60)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, value=b"first-%d" % i, partition=i % 3)
    p.commit_transaction(60)

    # A transaction in flight when its coordinator dies: committed through the new coordinator.
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, value=b"second-%d" % i, partition=i % 3)
    assert p.flush(60) == 0
    first_coordinator = coordinator_of(cluster.bootstrap, txn_id)
    cluster.brokers[first_coordinator].kill()
    p.commit_transaction(120)
    survivors = ",".join(b.bootstrap for i, b in enumerate(cluster.brokers) if i != first_coordinator)
    assert coordinator_of(survivors, txn_id) != first_coordinator

    # Another one aborted after the second coordinator dies too (one broker left of three).
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=b"aborted-%d" % i, partition=i)
    assert p.flush(60) == 0
    second_coordinator = coordinator_of(survivors, txn_id)
    cluster.brokers[first_coordinator].start()  # back as a follower first
    cluster.brokers[second_coordinator].kill()
    p.abort_transaction(120)
    cluster.brokers[second_coordinator].start()

    committed = sorted([b"first-%d" % i for i in range(6)] + [b"second-%d" % i for i in range(6)])
    assert sorted(read_all(cluster.bootstrap, topic, 3, "read_committed", timeout_s=120)) == committed
    everything = read_all(cluster.bootstrap, topic, 3, "read_uncommitted", timeout_s=120)
    assert sorted(everything) == sorted(committed + [b"aborted-%d" % i for i in range(3)])
