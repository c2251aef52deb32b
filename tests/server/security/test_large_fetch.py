"""Fetch responses of megabytes over secured listeners: over TLS the segment file's bytes must be
read and encrypted (no sendfile), over SASL_PLAINTEXT they go with sendfile after the login; in
both cases the consumer gets every record produced, in order, intact."""

from __future__ import annotations

import os
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.server.security.secure_broker import SecureBroker

RECORDS = 3000  # of 1 KiB: several fetch responses of about 1 MiB each


@pytest.mark.parametrize(("protocol", "mechanism"), [("SSL", None), ("SASL_PLAINTEXT", "SCRAM-SHA-512")])
def test_megabytes_of_records_come_back_intact(
    secure_broker: SecureBroker, protocol: str, mechanism: str
) -> None:
    conf = secure_broker.librdkafka(protocol, mechanism) if mechanism else secure_broker.librdkafka(protocol)
    topic = f"large-{protocol.lower()}-{uuid.uuid4().hex[:6]}"
    values = [os.urandom(1024) for _ in range(RECORDS)]
    producer = Producer({**conf, "linger.ms": 50, "batch.size": 1_000_000})
    for value in values:
        producer.produce(topic, value, partition=0)
    assert producer.flush(60) == 0
    consumer = Consumer({**conf, "group.id": f"g-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got: list[bytes] = []
    try:
        while len(got) < RECORDS:
            batch = consumer.consume(1000, 30)
            assert batch, f"no records after {len(got)}"
            for message in batch:
                assert message.error() is None, message.error()
                assert message.offset() == len(got)
                got.append(message.value())
    finally:
        consumer.close()
    assert got == values
