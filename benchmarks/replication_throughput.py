"""acks=all produce throughput with replication factor 3 against replication factor 1.

Starts a real three-broker cluster (ZooKeeper mode by default, ``--kraft`` for a controller node and
three broker nodes) in a temporary directory, creates one topic replicated three times and one
not replicated, and produces the same records to each with confluent-kafka (acks=all, idempotent,
the lecture's client). Prints msgs/s and MB/s for both and their ratio; nothing is asserted.

    python benchmarks/replication_throughput.py [--records 100000] [--size 100] [--partitions 3] [--kraft]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster


def produce(bootstrap: str, topic: str, records: int, size: int) -> tuple[float, float]:
    """(msgs/s, MB/s) for ``records`` acknowledged records of ``size`` bytes."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
    )
    payload = b"x" * size
    errors: list[str] = []

    def delivered(err, _msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            errors.append(str(err))

    start = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} records failed, e.g. {errors[0]}")
    return records / elapsed, records * size / elapsed / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--kraft", action="store_true", help="KRaft mode instead of ZooKeeper mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcli-bench-repl-") as tmp:
        cluster = Cluster(Path(tmp), brokers=3, mode="kraft" if args.kraft else "zookeeper").start()
        try:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            futures = admin.create_topics(
                [NewTopic("rf3", args.partitions, 3), NewTopic("rf1", args.partitions, 1)]
            )
            for future in futures.values():
                future.result(30)
            produce(cluster.bootstrap, "rf1", min(args.records, 5_000), args.size)  # warm-up
            rf1 = produce(cluster.bootstrap, "rf1", args.records, args.size)
            rf3 = produce(cluster.bootstrap, "rf3", args.records, args.size)
        finally:
            cluster.stop()
    mode = "KRaft" if args.kraft else "ZooKeeper"
    print(
        f"acks=all produce, {args.records} x {args.size} B, {args.partitions} partitions, 3 brokers ({mode} mode)"
    )
    print(f"  replication factor 1: {rf1[0]:>10,.0f} msgs/s  {rf1[1]:7.1f} MB/s")
    print(f"  replication factor 3: {rf3[0]:>10,.0f} msgs/s  {rf3[1]:7.1f} MB/s")
    print(f"  RF 3 / RF 1: {rf3[0] / rf1[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
