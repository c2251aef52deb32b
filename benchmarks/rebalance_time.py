"""Rebalance time: from the moment the last member joins a group to all partitions consuming again.

For each protocol - classic with the eager ``range`` assignor, classic ``cooperative-sticky``, and
KIP-848 (``group.protocol=consumer``, the broker's ``uniform`` assignor) - and each group size
(3, 10 and 50 members by default), N-1 confluent-kafka consumers (threads of this process) join a
topic of 2N partitions that a producer keeps writing to (one record per partition every 20 ms)
and settle; then the N-th member subscribes (t0). The rebalance is over when every partition has
delivered a record, received after t0, to the member that owns it in the final assignment; the
time printed is the latest of those, minus t0. Partitions that never moved (cooperative, KIP-848)
count from their first record after t0, so the figure is how long the slowest moved partition was
paused. Nothing is asserted.

The kcli broker is started here with Kafka's default group settings: classic members heartbeat
every 3 s, KIP-848 members every 5 s (``group.consumer.heartbeat.interval.ms``), and both
protocols only learn of a rebalance on a heartbeat, so those intervals dominate the figures.
``--heartbeat-ms N`` sets both (the classic clients' ``heartbeat.interval.ms`` and the broker's
KIP-848 interval) to compare the protocols' own cost. ``--against HOST:PORT`` runs the same
workload against another broker (e.g. Apache Kafka 4.x) for a side-by-side figure.

    python benchmarks/rebalance_time.py [--members 3,10,50] [--protocols eager,cooperative,consumer]
                                        [--heartbeat-ms N] [--against HOST:PORT] [--timeout 180]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess

PROTOCOLS = {
    "eager": {"partition.assignment.strategy": "range"},
    "cooperative": {"partition.assignment.strategy": "cooperative-sticky"},
    "consumer": {"group.protocol": "consumer"},
}
LABELS = {
    "eager": "classic eager (range)",
    "cooperative": "classic cooperative-sticky",
    "consumer": "KIP-848 (uniform)",
}


@dataclass
class Member:
    """A consumer polled by its own thread; remembers when it first read each partition after t0."""

    consumer: Consumer
    topic: str
    assigned: set[int] = field(default_factory=set)
    first_after: dict[int, float] = field(default_factory=dict)
    t0: float | None = None
    stop: bool = False

    def run(self) -> None:
        while not self.stop:
            msg = self.consumer.poll(0.05)
            try:
                self.assigned = {tp.partition for tp in self.consumer.assignment() if tp.topic == self.topic}
            except Exception:
                pass
            if msg is None or msg.error() is not None or self.t0 is None:
                continue
            now = time.monotonic()
            if now >= self.t0 and msg.partition() not in self.first_after:
                self.first_after[msg.partition()] = now

    def reset_on_revoke(self, _consumer: Consumer, partitions: list) -> None:
        for tp in partitions:
            self.first_after.pop(tp.partition, None)  # it must read the partition again once it gets it back


def producer_loop(bootstrap: str, topic: str, partitions: int, stop: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    while not stop.is_set():
        for p in range(partitions):
            producer.produce(topic, b"x", partition=p)
        producer.poll(0)
        stop.wait(0.02)
    producer.flush(10)


HEARTBEAT_MS: int | None = None  # --heartbeat-ms for the classic clients


def start_member(bootstrap: str, group: str, topic: str, protocol: str) -> tuple[Member, threading.Thread]:
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "latest",
        "enable.auto.commit": True,
        **PROTOCOLS[protocol],
    }
    if protocol != "consumer":
        conf["session.timeout.ms"] = 10_000
        if HEARTBEAT_MS is not None:
            conf["heartbeat.interval.ms"] = HEARTBEAT_MS
    member = Member(Consumer(conf), topic)
    member.consumer.subscribe([topic], on_revoke=member.reset_on_revoke, on_lost=member.reset_on_revoke)
    thread = threading.Thread(target=member.run, daemon=True)
    thread.start()
    return member, thread


def balanced(members: list[Member], partitions: int) -> bool:
    owned = [p for m in members for p in m.assigned]
    return sorted(owned) == list(range(partitions)) and all(m.assigned for m in members)


def measure(bootstrap: str, protocol: str, n: int, timeout_s: float) -> float | None:
    """Seconds from the last member's subscribe to every partition consuming at its final owner."""
    topic, group = f"rebalance-{protocol}-{n}-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:8]}"
    partitions = 2 * n
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(60)
    stop = threading.Event()
    producing = threading.Thread(target=producer_loop, args=(bootstrap, topic, partitions, stop), daemon=True)
    producing.start()
    started: list[tuple[Member, threading.Thread]] = []
    try:
        for _ in range(n - 1):
            started.append(start_member(bootstrap, group, topic, protocol))
        members = [m for m, _ in started]
        deadline = time.monotonic() + timeout_s
        while not balanced(members, partitions):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        t0 = time.monotonic()
        for m in members:
            m.t0 = t0
        started.append(start_member(bootstrap, group, topic, protocol))
        last = started[-1][0]
        last.t0 = t0
        members.append(last)
        deadline = t0 + timeout_s
        while True:
            if balanced(members, partitions) and all(p in m.first_after for m in members for p in m.assigned):
                return max(m.first_after[p] for m in members for p in m.assigned) - t0
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)
    finally:
        stop.set()
        for m, _ in started:
            m.stop = True
        for m, thread in started:
            thread.join(10)
            try:
                m.consumer.close()
            except Exception:
                pass
        producing.join(10)


def run(bootstrap: str, label: str, sizes: list[int], protocols: list[str], timeout_s: float) -> dict:
    results = {}
    for protocol in protocols:
        for n in sizes:
            seconds = measure(bootstrap, protocol, n, timeout_s)
            results[(protocol, n)] = seconds
            shown = "timeout" if seconds is None else f"{seconds:.2f} s"
            print(f"  [{label}] {LABELS[protocol]:<28} {n:>3} members: {shown}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="3,10,50", help="group sizes, comma-separated")
    parser.add_argument("--protocols", default="eager,cooperative,consumer")
    parser.add_argument("--against", help="also run against this broker (HOST:PORT)")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds per measurement before giving up"
    )
    parser.add_argument(
        "--heartbeat-ms", type=int, help="heartbeat interval of both protocols (default: Kafka's)"
    )
    args = parser.parse_args()
    global HEARTBEAT_MS
    HEARTBEAT_MS = args.heartbeat_ms
    sizes = [int(x) for x in args.members.split(",") if x.strip()]
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    for p in protocols:
        if p not in PROTOCOLS:
            raise SystemExit(f"unknown protocol {p}: one of {', '.join(PROTOCOLS)}")
    tables = {}
    with tempfile.TemporaryDirectory(prefix="kcli-bench-rebalance-") as tmp:
        settings = {"group.initial.rebalance.delay.ms": "0"}
        if args.heartbeat_ms is not None:
            settings["group.consumer.heartbeat.interval.ms"] = str(args.heartbeat_ms)
            settings["group.consumer.min.heartbeat.interval.ms"] = str(min(args.heartbeat_ms, 5000))
        broker = BrokerProcess(Path(tmp) / "kcli", settings).start()
        try:
            tables["kcli"] = run(broker.bootstrap, "kcli", sizes, protocols, args.timeout)
        finally:
            broker.stop()
    if args.against:
        tables[args.against] = run(args.against, args.against, sizes, protocols, args.timeout)
    print("\nRebalance time (last member joins -> all partitions consuming), seconds")
    header = f"{'protocol':<28} {'members':>7}" + "".join(f" {name:>16}" for name in tables)
    print(header)
    for protocol in protocols:
        for n in sizes:
            cells = ""
            for results in tables.values():
                value = results.get((protocol, n))
                cells += f" {'timeout' if value is None else f'{value:.2f}':>16}"
            print(f"{LABELS[protocol]:<28} {n:>7}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
