"""aiokafka against the real broker: idempotent producer and consumer."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.broker_process import BrokerProcess


async def _round_trip(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        metas = []
        for i in range(100):
            metas.append(
                await producer.send_and_wait(
                    topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("i", str(i).encode())]
                )
            )
        batch_futures = [await producer.send(topic, value=f"b{i}".encode()) for i in range(100, 150)]
        metas += [await f for f in batch_futures]
    finally:
        await producer.stop()
    assert [m.offset for m in metas] == list(range(150))

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        got = []
        async with asyncio.timeout(20):
            while len(got) < 150:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                got.extend(batch.get(tp, []))
        assert [m.offset for m in got] == list(range(150))
        assert got[7].key == b"k7" and got[7].value == b"v7" and list(got[7].headers) == [("i", b"7")]
        assert got[120].value == b"b120"
        assert (await consumer.end_offsets([tp]))[tp] == 150
    finally:
        await consumer.stop()


def test_idempotent_producer_and_consumer(shared_broker: BrokerProcess) -> None:
    asyncio.run(_round_trip(shared_broker.bootstrap, f"aio-{uuid.uuid4().hex[:8]}"))
