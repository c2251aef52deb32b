"""The TUI's topic screen shows the last stable offset beside the high watermark, and "open txn"
as the partition state, while a transaction is open (read from the real broker)."""

from __future__ import annotations

import uuid

from confluent_kafka import Producer

from kcli.cluster_view.kafka import KafkaSource
from kcli.tui.screens.topic import high_cell
from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import new_topic


def test_topic_detail_shows_the_lso_and_open_transactions(shared_broker: BrokerProcess) -> None:
    topic = new_topic(shared_broker.bootstrap, "tui-txn", partitions=2)
    feed = Producer({"bootstrap.servers": shared_broker.bootstrap})
    feed.produce(topic, b"plain", partition=0)
    assert feed.flush(30) == 0
    p = Producer(
        {"bootstrap.servers": shared_broker.bootstrap, "transactional.id": f"tui-{uuid.uuid4().hex[:6]}"}
    )
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, b"open-%d" % i, partition=0)
    assert p.flush(30) == 0
    source = KafkaSource(shared_broker.bootstrap)
    try:
        first, second = source.topic_detail(topic).partitions
        assert (first.high, first.stable, first.state) == (4, 1, "open txn")
        assert high_cell(first) == "4 (LSO 1)"
        assert (second.high, second.stable, second.state, high_cell(second)) == (0, 0, "", "0")
        p.commit_transaction(30)
        first, _ = source.topic_detail(topic).partitions
        assert (first.high, first.stable, first.state, high_cell(first)) == (5, 5, "", "5")
    finally:
        source.close()
