"""confluent-kafka (librdkafka) against the real broker: admin, idempotent lz4 producer, assign() consumer."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from tests.broker_process import BrokerProcess


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce_all(bootstrap: str, topic: str, messages: list[tuple[int, bytes, bytes, list]], **extra) -> list:
    """Produce and return the delivery reports (partition, offset) in send order."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": 5,
            **extra,
        }
    )
    reports: list = [None] * len(messages)

    def on_delivery(index: int):
        def cb(err, msg):
            reports[index] = err or (msg.partition(), msg.offset())

        return cb

    for i, (partition, key, value, headers) in enumerate(messages):
        producer.produce(
            topic, value=value, key=key, partition=partition, headers=headers, on_delivery=on_delivery(i)
        )
    assert producer.flush(30) == 0
    return reports


def consume_assigned(bootstrap: str, topic: str, partitions: int, expected: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    try:
        while len(got) < expected:
            msg = consumer.poll(10)
            assert msg is not None, f"timed out after {len(got)} of {expected} records"
            assert msg.error() is None, msg.error()
            got.append(msg)
    finally:
        consumer.close()
    return got


def test_admin_create_describe_delete(shared_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    name = _topic("admin")
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=3, replication_factor=1, config={"retention.ms": "3600000"})]
    )
    futures[name].result(15)

    described = admin.describe_topics(__import__("confluent_kafka").TopicCollection([name]))[name].result(15)
    assert described.name == name
    assert [p.id for p in described.partitions] == [0, 1, 2]
    assert all(p.leader.id == 0 for p in described.partitions)

    (res,) = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, name)]).values()
    configs = res.result(15)
    assert configs["retention.ms"].value == "3600000"
    assert configs["cleanup.policy"].value == "delete"

    with pytest.raises(KafkaException) as exc:
        admin.create_topics([NewTopic(name, 1, 1)])[name].result(15)
    assert "already exists" in str(exc.value)

    admin.create_partitions([NewPartitions(name, 5)])[name].result(15)
    metadata = admin.list_topics(name, timeout=15)
    assert len(metadata.topics[name].partitions) == 5

    admin.delete_topics([name])[name].result(15)
    assert name not in admin.list_topics(timeout=15).topics


def test_idempotent_lz4_round_trip_with_headers_and_dense_offsets(shared_broker: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    name = _topic("lz4")
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(15)
    messages = [
        (i % 3, f"key-{i}".encode(), f"value-{i}".encode() * (1 + i % 7), [("n", str(i).encode())])
        for i in range(300)
    ]
    reports = produce_all(shared_broker.bootstrap, name, messages)

    # Offsets are dense per partition, in send order.
    for p in range(3):
        offsets = [r[1] for r, m in zip(reports, messages, strict=True) if m[0] == p]
        assert offsets == list(range(len(offsets)))

    got = consume_assigned(shared_broker.bootstrap, name, 3, len(messages))
    by_key = {m.key(): m for m in got}
    for (partition, key, value, headers), (rp, ro) in zip(messages, reports, strict=True):
        msg = by_key[key]
        assert (msg.partition(), msg.offset(), msg.value(), msg.headers()) == (partition, ro, value, headers)
        assert (rp, ro) == (msg.partition(), msg.offset())

    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": "wm"})
    try:
        for p in range(3):
            count = sum(1 for m in messages if m[0] == p)
            assert consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10) == (0, count)
    finally:
        consumer.close()


def test_topic_is_auto_created_on_first_produce(shared_broker: BrokerProcess) -> None:
    name = _topic("auto")
    reports = produce_all(shared_broker.bootstrap, name, [(-1, None, b"first", [])])
    assert reports == [(0, 0)]
    metadata = AdminClient({"bootstrap.servers": shared_broker.bootstrap}).list_topics(name, timeout=10)
    assert len(metadata.topics[name].partitions) == 1


def test_offsets_for_times_and_consume_from_timestamp(shared_broker: BrokerProcess) -> None:
    name = _topic("times")
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap})
    base = 1_700_000_000_000
    for i in range(10):
        producer.produce(name, value=str(i).encode(), timestamp=base + i * 1000)
        producer.flush(10)  # one batch per record, so every timestamp is indexed separately
    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": "t"})
    try:
        (tp,) = consumer.offsets_for_times([TopicPartition(name, 0, base + 4500)], timeout=10)
        assert tp.offset == 5
        (tp,) = consumer.offsets_for_times([TopicPartition(name, 0, base + 99_000)], timeout=10)
        assert tp.offset == -1
    finally:
        consumer.close()
