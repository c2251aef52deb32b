"""Transactional produce throughput against plain idempotent produce, printed as figures.

Runs with the same client (confluent-kafka) against the kcli broker (started here, storing on
disk in a temporary directory) and, side by side, against another broker given by ``--against
HOST:PORT`` (an Apache Kafka with transactions, for instance):

    python benchmarks/transactions_throughput.py [--records 200000] [--size 100]
                                                 [--per-transaction 1000,10000] [--against HOST:PORT]

Figures per broker: idempotent produce (acks=all) msgs/s and MB/s; transactional produce with
N records per transaction (begin, produce, commit) msgs/s, MB/s and its ratio to idempotent,
with commit_transaction's latency p50/p99 (a commit waits for PrepareCommit in
``__transaction_state``; the markers are written after it returns); and a read_committed read of
what was produced, msgs/s. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess

CHUNK = 10_000


def _topic(bootstrap: str, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    return name


def _producer(bootstrap: str, records: int, **extra: object) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": max(records, 100_000),
            "queue.buffering.max.kbytes": 2**31 - 1,
            **extra,
        }
    )


def _send(producer: Producer, topic: str, count: int, payload: bytes) -> None:
    batch = getattr(producer, "produce_batch", None)
    chunk = [{"value": payload}] * min(CHUNK, count)
    sent = 0
    while sent < count:
        n = min(CHUNK, count - sent)
        if batch is not None:
            if batch(topic, chunk[:n], partition=0) != n:
                raise RuntimeError("the client's queue refused records")
            producer.poll(0)
        else:
            for _ in range(n):
                producer.produce(topic, payload, partition=0)
        sent += n


def idempotent(bootstrap: str, records: int, size: int) -> float:
    topic = _topic(bootstrap, "idem")
    producer = _producer(bootstrap, records, **{"enable.idempotence": True, "acks": "all"})
    producer.list_topics(topic, timeout=30)
    start = time.monotonic()
    _send(producer, topic, records, b"x" * size)
    assert producer.flush(300) == 0
    return time.monotonic() - start


def transactional(bootstrap: str, records: int, size: int, per_txn: int) -> tuple[float, list[float], str]:
    topic = _topic(bootstrap, "txn")
    producer = _producer(bootstrap, records, **{"transactional.id": f"bench-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(60)
    producer.list_topics(topic, timeout=30)
    payload = b"x" * size
    commits: list[float] = []
    start = time.monotonic()
    sent = 0
    while sent < records:
        n = min(per_txn, records - sent)
        producer.begin_transaction()
        _send(producer, topic, n, payload)
        t = time.monotonic()
        producer.commit_transaction(120)
        commits.append(time.monotonic() - t)
        sent += n
    return time.monotonic() - start, commits, topic


def read_committed(bootstrap: str, topic: str, records: int) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
            "queued.min.messages": 1_000_000,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.monotonic()
    while got < records:
        for msg in consumer.consume(10_000, 5):
            if not msg.error():
                got += 1
        if time.monotonic() - start > 300:
            raise RuntimeError(f"read_committed stalled at {got} of {records}")
    elapsed = time.monotonic() - start
    consumer.close()
    return elapsed


def run(name: str, bootstrap: str, records: int, size: int, per_txn: list[int]) -> None:
    mb = records * size / 1e6
    idempotent(bootstrap, min(records, 20_000), size)  # warm-up: connections, the first topics
    transactional(bootstrap, 1_000, size, 1_000)  # warm-up: __transaction_state, the coordinator
    base = idempotent(bootstrap, records, size)
    print(
        f"[{name}] idempotent produce (acks=all): {records / base:,.0f} msgs/s, {mb / base:.1f} MB/s",
        flush=True,
    )
    for n in per_txn:
        elapsed, commits, topic = transactional(bootstrap, records, size, n)
        p50 = statistics.median(commits) * 1000
        p99 = sorted(commits)[max(0, int(len(commits) * 0.99) - 1)] * 1000
        print(
            f"[{name}] transactional produce, {n:,} records per transaction: {records / elapsed:,.0f} msgs/s, "
            f"{mb / elapsed:.1f} MB/s ({base / elapsed:.0%} of idempotent); commit p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms over {len(commits)} transactions",
            flush=True,
        )
        consumed = read_committed(bootstrap, topic, records)
        print(f"[{name}]   read_committed consume: {records / consumed:,.0f} msgs/s", flush=True)


@contextlib.contextmanager
def kcli_broker() -> Iterator[BrokerProcess]:
    with tempfile.TemporaryDirectory(prefix="kcli-bench-txn-") as tmp:
        broker = BrokerProcess(Path(tmp)).start()
        try:
            yield broker
        finally:
            broker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100, help="record size in bytes")
    parser.add_argument(
        "--per-transaction", default="1000,10000", help="records per transaction, comma-separated"
    )
    parser.add_argument("--against", help="also run the workload against this broker (HOST:PORT)")
    args = parser.parse_args()
    per_txn = [int(n) for n in args.per_transaction.split(",")]
    print(f"{args.records:,} records of {args.size} B, one partition, confluent-kafka", flush=True)
    with kcli_broker() as broker:
        run("kcli", broker.bootstrap, args.records, args.size, per_txn)
    if args.against:
        run(args.against, args.against, args.records, args.size, per_txn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
