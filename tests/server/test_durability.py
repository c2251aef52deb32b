"""Acknowledged data survives kill -9: produce with acks=all, SIGKILL the broker mid-stream, restart, read."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.broker_process import BrokerProcess


def test_sigkill_during_acks_all_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path).start()
    try:
        acked: dict[bytes, tuple[int, int]] = {}
        producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap,
                "acks": "all",
                "linger.ms": 1,
                "message.timeout.ms": 3000,
                "retries": 0,
                "log_level": 0,
            }
        )

        def on_delivery(err, msg):
            if err is None:
                acked[msg.value()] = (msg.partition(), msg.offset())

        i = 0
        while len(acked) < 2000:
            producer.produce("durable", value=f"record-{i}".encode(), on_delivery=on_delivery)
            producer.poll(0)
            i += 1
            if i % 100 == 0:
                producer.poll(0.05)
        broker.kill()  # mid-stream: more records are in flight
        for j in range(i, i + 200):
            producer.produce("durable", value=f"record-{j}".encode(), on_delivery=on_delivery)
        producer.flush(10)
        assert len(acked) >= 2000

        broker.start()
        consumer = Consumer(
            {"bootstrap.servers": broker.bootstrap, "group.id": "durability", "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition("durable", 0, 0)])
        stored: dict[int, bytes] = {}
        _, high = consumer.get_watermark_offsets(TopicPartition("durable", 0), timeout=10)
        while len(stored) < high:
            msg = consumer.poll(10)
            assert msg is not None and msg.error() is None
            stored[msg.offset()] = msg.value()
        consumer.close()
        for value, (_, offset) in acked.items():
            assert stored.get(offset) == value, f"acknowledged {value!r} at {offset} is missing after kill -9"
        assert sorted(stored) == list(range(high)), "offsets are dense after recovery"
    finally:
        broker.kill()
