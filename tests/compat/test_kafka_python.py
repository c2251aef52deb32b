"""kafka-python against the real broker: admin client, gzip producer, consumer with assign()."""

from __future__ import annotations

import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tests.broker_process import BrokerProcess


def test_admin_gzip_producer_and_consumer(shared_broker: BrokerProcess) -> None:
    name = f"kp-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=shared_broker.bootstrap, request_timeout_ms=15000)
    try:
        admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
        assert name in admin.list_topics()
        (described,) = admin.describe_topics([name])
        assert sorted(p["partition_index"] for p in described["partitions"]) == [0, 1]
    finally:
        admin.close()

    producer = KafkaProducer(
        bootstrap_servers=shared_broker.bootstrap, compression_type="gzip", acks="all", linger_ms=5
    )
    sent = []
    for i in range(200):
        future = producer.send(
            name,
            key=f"k{i}".encode(),
            value=f"v{i}".encode() * 5,
            partition=i % 2,
            headers=[("idx", str(i).encode())],
        )
        sent.append(future)
    producer.flush()
    metas = [f.get(timeout=10) for f in sent]
    producer.close()
    for p in range(2):
        offsets = [m.offset for m in metas if m.partition == p]
        assert offsets == list(range(100))

    consumer = KafkaConsumer(
        bootstrap_servers=shared_broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=15000
    )
    partitions = [TopicPartition(name, p) for p in range(2)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    got = []
    for msg in consumer:
        got.append(msg)
        if len(got) == 200:
            break
    assert consumer.end_offsets(partitions) == {tp: 100 for tp in partitions}
    consumer.close()
    assert len(got) == 200
    for msg in got:
        i = int(msg.key[1:])
        assert msg.value == f"v{i}".encode() * 5
        assert msg.partition == i % 2
        assert msg.offset == metas[i].offset
        assert msg.headers == [("idx", str(i).encode())]
