"""aiokafka's transactional producer against the real broker: committed and aborted transactions
seen by aiokafka's read_committed consumer, and offsets sent to the transaction."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import new_topic


async def _scenario(bootstrap: str, topic: str, group: str) -> tuple[list[bytes], list[bytes], int | None]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"aio-{uuid.uuid4().hex[:6]}")
    await producer.start()
    try:
        async with producer.transaction():
            for i in range(3):
                await producer.send(topic, b"kept-%d" % i, partition=0)
        try:
            async with producer.transaction():
                await producer.send(topic, b"dropped", partition=0)
                await producer.send_and_wait(topic, b"dropped-too", partition=1)
                raise RuntimeError("abort this one")
        except RuntimeError:
            pass
        async with producer.transaction():
            await producer.send(topic, b"kept-3", partition=1)
            await producer.send_offsets_to_transaction(
                {TopicPartition(topic, 0): OffsetAndMetadata(3, "")}, group
            )
    finally:
        await producer.stop()

    async def drain(isolation: str) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            isolation_level=isolation,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            values: list[bytes] = []
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    values.extend(r.value for r in records)
            return values
        finally:
            await consumer.stop()

    committed = await drain("read_committed")
    everything = await drain("read_uncommitted")
    checker = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await checker.start()
    try:
        offset = await checker.committed(TopicPartition(topic, 0))
    finally:
        await checker.stop()
    return committed, everything, offset


def test_aiokafka_transactions(shared_broker: BrokerProcess) -> None:
    topic = new_topic(shared_broker.bootstrap, "aio-txn", partitions=2)
    group = f"aio-g-{uuid.uuid4().hex[:6]}"
    committed, everything, offset = asyncio.run(_scenario(shared_broker.bootstrap, topic, group))
    assert sorted(committed) == [b"kept-0", b"kept-1", b"kept-2", b"kept-3"]
    assert sorted(everything) == sorted([*committed, b"dropped", b"dropped-too"])
    assert offset == 3
