"""One consumer group member in its own process (confluent-kafka), for tests that close members
or kill them with SIGKILL, and for the rebalance benchmark.

``python -m tests.group_member BOOTSTRAP GROUP TOPIC PROTOCOL [key=value ...]`` where PROTOCOL is
``consumer`` (KIP-848) or a classic ``partition.assignment.strategy`` (``range``,
``cooperative-sticky``...). It prints one line per event on stdout, flushed at once:

* ``ASSIGNED p1,p2,...`` whenever its assignment changes (partitions of TOPIC);
* ``RECORD partition offset value`` for each record received, then its offset is committed
  synchronously (``COMMIT-FAILED partition offset error`` when that is refused);
* ``CLOSED`` after a clean ``close()`` on SIGTERM (a LeaveGroup / leave heartbeat).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException


def main(argv: list[str]) -> int:
    bootstrap, group, topic, protocol, *extra = argv
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if protocol == "consumer":
        conf["group.protocol"] = "consumer"
    else:
        conf.update({"partition.assignment.strategy": protocol, "session.timeout.ms": 6000})
    for item in extra:
        key, _, value = item.partition("=")
        conf[key] = value
    consumer = Consumer(conf)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    consumer.subscribe([topic])
    shown: list[int] | None = None
    while not stop:
        msg = consumer.poll(0.1)
        current = sorted(tp.partition for tp in consumer.assignment() if tp.topic == topic)
        if current != shown:
            shown = current
            print("ASSIGNED " + ",".join(map(str, current)), flush=True)
        if msg is None or msg.error() is not None:
            continue
        print(f"RECORD {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException as exc:  # e.g. fenced: the record comes again to whoever owns it
            print(f"COMMIT-FAILED {msg.partition()} {msg.offset()} {exc}", flush=True)
    consumer.close()
    print("CLOSED", flush=True)
    time.sleep(0.05)
    return 0


class MemberProcess:
    """The test side: starts a member, collects its lines, stops it by SIGTERM or SIGKILL."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        protocol: str,
        *extra: str,
        command: list[str] | None = None,
    ):
        """``command`` runs another program speaking the same lines (e.g. the Java client's)."""
        self.lines: list[str] = []
        self.assigned: list[int] = []
        self.values: list[int] = []
        self.changes = threading.Condition()
        prefix = command or [sys.executable, "-m", "tests.group_member"]
        self.proc = subprocess.Popen(
            [*prefix, bootstrap, group, topic, protocol, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changes:
                line = line.rstrip("\n")
                self.lines.append(line)
                if line.startswith("ASSIGNED"):
                    text = line[len("ASSIGNED") :].strip()
                    self.assigned = [int(p) for p in text.split(",")] if text else []
                elif line.startswith("RECORD"):
                    self.values.append(int(line.split()[3]))
                self.changes.notify_all()
        with self.changes:
            self.changes.notify_all()

    def wait(self, predicate: Callable[[MemberProcess], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self.changes:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; last lines: {self.lines[-5:]}")
                self.changes.wait(min(left, 0.5))

    def close(self, timeout: float = 30) -> None:
        """SIGTERM: the member closes (leaves the group) and exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash: no leave, the coordinator notices by the session timeout."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
