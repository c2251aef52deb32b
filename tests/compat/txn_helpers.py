"""Shared pieces of the transaction compatibility tests: topics, read_committed reads, and the
consume-transform-produce application run as its own process (so it can be killed with -9)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]


def new_topic(bootstrap: str, prefix: str, partitions: int = 1, rf: int = 1) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, rf)])[name].result(30)
    return name


def read_all(
    bootstrap: str, topic: str, partitions: int, isolation: str, timeout_s: float = 60
) -> list[bytes]:
    """Every value of ``topic`` a consumer with ``isolation`` sees, from the start to the end it
    reports (partition EOF), in partition then offset order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:6]}",
            "isolation.level": isolation,
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while len(at_end) < partitions:
            assert time.monotonic() < deadline, f"no end of {topic} after {timeout_s}s: {got}"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == -191, msg.error()  # _PARTITION_EOF
                at_end.add(msg.partition())
                continue
            at_end.discard(msg.partition())
            got[msg.partition()].append(msg.value())
    finally:
        consumer.close()
    return [v for p in range(partitions) for v in got[p]]


def read_committed_eventually(
    bootstrap: str, topic: str, partitions: int, expected: list[bytes], timeout_s: float = 60
) -> None:
    """read_committed stops at the last stable offset: read again until it shows ``expected``
    (sorted), e.g. once an abandoned transaction has timed out."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = sorted(read_all(bootstrap, topic, partitions, "read_committed"))
        if got == sorted(expected):
            return
        assert time.monotonic() < deadline, f"read_committed shows {got}, expected {sorted(expected)}"
        time.sleep(0.2)


# A consume-transform-produce application (exactly-once with confluent-kafka): reads ``src`` with
# read_committed, writes "out-<value>" to ``dst`` and commits its input offsets in the same
# transaction, a few records per transaction. With "die" it stops in the middle of a transaction
# (outputs sent and offsets added, no commit) and waits to be killed.
EOS_APP = r"""
import sys, time
from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, src, dst, group, txn_id, mode, per_txn = sys.argv[1:8]
per_txn = int(per_txn)
consumer = Consumer({
    "bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": group + "-app",
    "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": "read_committed",
    "session.timeout.ms": 6000,
})
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
producer.init_transactions(60)
consumer.subscribe([src])
early = []  # what the polls waiting for the assignment returned: processed first
while not consumer.assignment():
    early += [m for m in consumer.consume(per_txn, 0.2) if not m.error()]
assignment = consumer.assignment()
ends = {tp.partition: consumer.get_watermark_offsets(tp, 10)[1] for tp in assignment}
committed = 0
while True:
    if early:
        msgs, early = early[:per_txn], early[per_txn:]
    else:
        positions = {tp.partition: tp.offset for tp in consumer.position(assignment)}
        if all(positions[p] >= ends[p] for p in ends):
            print("DONE", flush=True)
            break
        msgs = [m for m in consumer.consume(per_txn, 1.0) if not m.error()]
    if not msgs:
        continue
    producer.begin_transaction()
    for m in msgs:
        producer.produce(dst, key=m.key(), value=b"out-" + m.value())
    producer.send_offsets_to_transaction(consumer.position(assignment), consumer.consumer_group_metadata(), 60)
    if mode == "die" and committed == 2:
        producer.flush(30)
        print("MIDWAY", flush=True)
        time.sleep(3600)
    producer.commit_transaction(60)
    committed += 1
    print("COMMITTED", committed, [m.offset() for m in msgs], flush=True)
consumer.close()
"""


class App:
    """A script run as its own process, its output lines collected by a thread."""

    def __init__(self, script: str, args: list[str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, marker: str, timeout_s: float = 90) -> None:
        """Return once a line starts with ``marker``; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {marker} after {timeout_s}s:\n" + "".join(self.seen)) from None
            if line is None:
                raise AssertionError(f"exited ({self.proc.wait()}) before {marker}:\n" + "".join(self.seen))
            self.seen.append(line)
            if line.startswith(marker):
                return

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def kill_inside_a_transaction(
    proc: subprocess.Popen, bootstrap: str, transactional_id: str, topic: str, timeout_s: float = 90
) -> None:
    """kill -9 ``proc`` while its transaction (``transactional_id``) is Ongoing with records
    already written to partition 0 of ``topic``, so the kill lands inside it by construction: the
    process is stopped (SIGSTOP), looked at (ListTransactions, DescribeProducers) and killed if
    so, else resumed and looked at again."""
    from tests.kafka_wire import Connection, code

    deadline = time.monotonic() + timeout_s
    with Connection(bootstrap) as conn:
        while True:
            assert proc.poll() is None, f"exited ({proc.returncode}) before a transaction was caught"
            assert time.monotonic() < deadline, f"no open transaction of {transactional_id} in {timeout_s}s"
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                ongoing = conn.request(66, 0, {"state_filters": ["Ongoing"], "producer_id_filters": []})
                assert code(ongoing.error_code) == 0
                caught = False
                if transactional_id in {t.transactional_id for t in ongoing.transaction_states}:
                    described = conn.request(61, 0, {"topics": [{"name": topic, "partition_indexes": [0]}]})
                    producers = described.topics[0].partitions[0].active_producers
                    caught = any(p.current_txn_start_offset >= 0 for p in producers)
            except BaseException:
                os.kill(proc.pid, signal.SIGCONT)  # never leave it stopped: its owner must stop it
                raise
            if caught:
                proc.kill()
                proc.wait(30)
                return
            os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.05)
