"""Fault injection through the real broker: populated log dirs, damaged on disk, then started.

One broker run per test module fills a *template* (two log dirs, two topics of two partitions in
several small segments, cleanly stopped); each test copies it, damages files the way a disk, a
careless ``rm`` or a reordered ``log.dirs`` would, and starts the real broker on the copy.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.protocol.records import iter_batches
from tests.broker_process import BrokerProcess

TOPICS = ("alpha", "beta")
PARTITIONS = 2
RECORDS_PER_PARTITION = 600
SEGMENT_BYTES = 16384  # several closed segments per partition
INDEX_INTERVAL_BYTES = 1024


@dataclass
class Template:
    """A cleanly stopped broker's log dirs and what was acknowledged into them."""

    root: Path
    records: dict[tuple[str, int], list[bytes]] = field(default_factory=dict)  # values by offset


@dataclass
class Copy:
    """One test's copy of the template: log dirs ``a`` and ``b`` under ``root``."""

    root: Path
    records: dict[tuple[str, int], list[bytes]]

    @property
    def a(self) -> Path:
        return self.root / "a"

    @property
    def b(self) -> Path:
        return self.root / "b"

    def partition_dir(self, topic: str, partition: int) -> Path:
        found = [
            d / f"{topic}-{partition}" for d in (self.a, self.b) if (d / f"{topic}-{partition}").is_dir()
        ]
        assert len(found) == 1, found
        return found[0]

    def segments(self, topic: str, partition: int) -> list[Path]:
        return sorted(self.partition_dir(topic, partition).glob("*.log"))

    def broker(self, log_dirs: str = "a,b", **overrides: str) -> BrokerProcess:
        dirs = ",".join(str(self.root / d) for d in log_dirs.split(","))
        settings = {
            "log.dirs": dirs,
            "log.segment.bytes": str(SEGMENT_BYTES),
            "log.index.interval.bytes": str(INDEX_INTERVAL_BYTES),
            "offsets.topic.num.partitions": "1",  # the consumers' group topic, created at once
        }
        settings.update(overrides)
        return BrokerProcess(self.root / "run", settings)


def make_template(root: Path) -> Template:
    """Fill two log dirs through a real broker, with every record acknowledged, then stop it."""
    template = Template(root)
    copy = Copy(root, template.records)
    broker = copy.broker().start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in TOPICS]).values():
            future.result(30)
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2, "batch.size": 600}
        )
        acked: dict[tuple[str, int], dict[int, bytes]] = {}

        def on_delivery(err, msg):  # type: ignore[no-untyped-def]
            assert err is None, err
            acked.setdefault((msg.topic(), msg.partition()), {})[msg.offset()] = msg.value()

        for i in range(RECORDS_PER_PARTITION):
            for topic in TOPICS:
                for p in range(PARTITIONS):
                    value = f"{topic}-{p}-{i:05d}-".encode().ljust(100, b"x")
                    producer.produce(topic, value=value, partition=p, on_delivery=on_delivery)
            producer.poll(0)
        assert producer.flush(30) == 0
        for tp, by_offset in acked.items():
            assert sorted(by_offset) == list(range(RECORDS_PER_PARTITION))
            template.records[tp] = [by_offset[o] for o in range(RECORDS_PER_PARTITION)]
    finally:
        assert broker.stop() == 0
    shutil.rmtree(root / "run")
    return template


def copy_template(template: Template, dest: Path) -> Copy:
    for name in ("a", "b"):
        shutil.copytree(template.root / name, dest / name)
    return Copy(dest, template.records)


def start_expecting_refusal(broker: BrokerProcess, timeout: float = 60) -> tuple[int, str]:
    """Start the broker, which must exit by itself; (exit code, everything it printed)."""
    result = subprocess.run(
        [sys.executable, "-m", "kcli.server.start", str(broker.properties)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=broker.workdir,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    return result.returncode, result.stdout + result.stderr


def lines(output: list[str] | str, level: str) -> list[str]:
    text = output if isinstance(output, str) else "".join(output)
    return [line for line in text.splitlines() if f"] {level} " in line]


def read_partition(
    bootstrap: str, topic: str, partition: int, timeout: float = 60
) -> tuple[list[tuple[int, bytes]], list[KafkaError]]:
    """Every record of a partition up to its high watermark, and the errors met on the way (a
    corrupt batch ends the read at the first error)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"faults-{topic}-{partition}-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.error.backoff.ms": 50,
            "log_level": 0,
        }
    )
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        consumer.assign([TopicPartition(topic, partition, 0)])
        records: list[tuple[int, bytes]] = []
        errors: list[KafkaError] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    if not records or records[-1][0] >= high - 1:
                        break
                    continue
                errors.append(msg.error())
                break
            records.append((msg.offset(), msg.value()))
            if msg.offset() >= high - 1:
                break
        else:
            raise AssertionError(
                f"{topic}-{partition}: no end after {timeout}s ({len(records)} records read)"
            )
        return records, errors
    finally:
        consumer.close()


def batch_positions(segment: Path) -> list[tuple[int, int, int]]:
    """(position, base offset, size) of every batch of a segment file."""
    return [(pos, h.base_offset, h.size) for pos, h in iter_batches(segment.read_bytes())]


def flip_byte(path: Path, position: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(position)
        byte = fh.read(1)
        fh.seek(position)
        fh.write(bytes([byte[0] ^ 0xFF]))


def set_batch_length(path: Path, position: int, length: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(position + 8)
        fh.write(struct.pack(">i", length))
