"""Topic creation rate as topics accumulate, and restart time with them, printed as figures.

Starts the kcli broker (one node by default; ``--brokers 3`` for a ZooKeeper-mode cluster,
``--kraft`` for a controller node and broker nodes) in a temporary directory and creates
``--topics`` topics (1 partition, replication factor 1 unless ``--rf``) with confluent-kafka's
AdminClient, ``--batch`` topics per CreateTopics request (1 = one request per topic, as a
``kafka-topics --create`` loop). Prints topics/s for each block of 1,000 topics (so the rate at
1k and at 10k topics can be compared: it stays flat when a metadata change costs the same
whatever the number of topics), then restarts every kcli process (SIGTERM, start) and prints
the time until the broker says it started and until Metadata lists every topic again, and the
broker's RSS. ``--against HOST:PORT`` runs the same creation against another broker (e.g. an
Apache Kafka), ``--tansu`` against tansu (memory-only, from the ``bench`` extra), for side-by-side
rates; restart time is measured for kcli only.

    python benchmarks/topic_creation.py [--topics 10000] [--batch 1] [--brokers 1|3] [--kraft]
                                        [--rf 1] [--against HOST:PORT] [--tansu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster

BLOCK = 1000


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_topics(bootstrap: str, count: int, batch: int, rf: int, prefix: str) -> list[float]:
    """Create ``count`` topics; returns topics/s for each block of BLOCK topics."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    rates: list[float] = []
    block_start = time.perf_counter()
    done = 0
    while done < count:
        names = [f"{prefix}-{i:06d}" for i in range(done, min(done + batch, count))]
        futures = admin.create_topics(
            [NewTopic(n, 1, rf) for n in names], operation_timeout=60, request_timeout=120
        )
        for name in names:
            futures[name].result(180)
        before = done
        done += len(names)
        if done // BLOCK > before // BLOCK or done == count:
            now = time.perf_counter()
            in_block = done - (before // BLOCK) * BLOCK
            rates.append(in_block / (now - block_start))
            block_start = now
    return rates


def wait_for_topics(bootstrap: str, prefix: str, count: int, timeout_s: float = 600) -> float:
    """Seconds until Metadata lists ``count`` topics named ``prefix-*``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        try:
            topics = admin.list_topics(timeout=30).topics
        except Exception:  # the broker is still starting
            time.sleep(0.05)
            continue
        if sum(1 for t in topics if t.startswith(prefix)) >= count:
            return time.perf_counter() - start
        time.sleep(0.05)
    raise SystemExit(f"the topics did not all come back within {timeout_s:.0f} s")


def print_rates(label: str, rates: list[float], batch: int, count: int) -> None:
    print(f"  {label}: topics/s per block of {BLOCK} (CreateTopics with {batch} topic(s) each)")
    for i, rate in enumerate(rates):
        print(f"    topics {i * BLOCK + 1:>6,}-{min((i + 1) * BLOCK, count):>6,}: {rate:8.1f} topics/s")
    if len(rates) >= 2:
        print(f"    last block / first block: {rates[-1] / rates[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1, help="topics per CreateTopics request")
    parser.add_argument("--brokers", type=int, default=1, help="1 = one node; more = a cluster")
    parser.add_argument("--kraft", action="store_true", help="cluster in KRaft mode (controller node)")
    parser.add_argument("--rf", type=int, default=1, help="replication factor of the topics")
    parser.add_argument("--against", help="also create the topics on this broker (HOST:PORT)")
    parser.add_argument("--tansu", action="store_true", help="also create them on tansu (bench extra)")
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="kcli-bench-topics-") as tmp:
        if args.brokers == 1:
            single = BrokerProcess(Path(tmp) / "broker").start(timeout=120)
            processes: list[BrokerProcess] = [single]
            bootstrap = single.bootstrap
            layout = "one node (KRaft combined)"
        else:
            cluster = Cluster(Path(tmp), args.brokers, mode="kraft" if args.kraft else "zookeeper").start()
            processes = list(cluster.brokers)
            bootstrap = cluster.bootstrap
            layout = f"{args.brokers} brokers ({'KRaft' if args.kraft else 'ZooKeeper'} mode)"
        try:
            started = time.perf_counter()
            rates = create_topics(bootstrap, args.topics, args.batch, args.rf, prefix)
            total = time.perf_counter() - started
            rss_before = _rss_mib(processes[0].pid)
            restart_start = time.perf_counter()
            for process in processes:
                process.stop(timeout=300)
            stopped = time.perf_counter() - restart_start
            restart_start = time.perf_counter()
            for process in processes:
                process.start(timeout=600)
            up = time.perf_counter() - restart_start
            listed = wait_for_topics(bootstrap, prefix, args.topics)
            rss_after = _rss_mib(processes[0].pid)
        finally:
            for process in processes:
                process.stop(timeout=300)
            if args.brokers != 1:
                cluster.stop()
    print(f"kcli, {layout}: {args.topics:,} topics, 1 partition, RF {args.rf}")
    print_rates("kcli", rates, args.batch, args.topics)
    print(f"    all {args.topics:,}: {args.topics / total:8.1f} topics/s ({total:.1f} s)")
    print(f"  clean stop with {args.topics:,} topics: {stopped:.1f} s")
    print(f"  restart: started after {up:.1f} s, every topic listed {listed:.1f} s later")
    print(f"  broker RSS: {rss_before:.0f} MiB before the restart, {rss_after:.0f} MiB after")
    if args.against:
        peer(args.against, args.against, args)
    if args.tansu:
        from benchmarks.common import tansu_broker

        with tansu_broker() as (bootstrap, _pid):
            peer("tansu", bootstrap, args)
    return 0


def peer(label: str, bootstrap: str, args: argparse.Namespace) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    rates = create_topics(bootstrap, args.topics, args.batch, args.rf, prefix)
    total = time.perf_counter() - started
    print(f"{label}: {args.topics:,} topics, 1 partition, RF {args.rf}")
    print_rates(label, rates, args.batch, args.topics)
    print(f"    all {args.topics:,}: {args.topics / total:8.1f} topics/s ({total:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
