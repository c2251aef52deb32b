"""File descriptors: 10,000 partitions under `ulimit -n 1024`, and errors that stay error codes.

The broker keeps at most half of its soft RLIMIT_NOFILE open for segment and index files (an LRU
of handles, ``kcli/server/storage/handles.py``), so the partition count is bounded by disk and
memory, not by descriptors. These tests start the broker with the limit lowered.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess

TOPICS = 1000
PARTITIONS = 10
FD_LIMIT = 1024


@contextmanager
def fd_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> Iterator[None]:
    """Subprocesses started inside the block run with RLIMIT_NOFILE lowered to ``limit``."""
    real_popen = subprocess.Popen

    def limited_popen(*args, **kwargs):
        kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", limited_popen)
    try:
        yield
    finally:
        monkeypatch.setattr(subprocess, "Popen", real_popen)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def create_topics(admin: AdminClient, names: list[str], partitions: int, per_request: int = 100) -> None:
    for start in range(0, len(names), per_request):
        batch = [NewTopic(n, partitions, 1) for n in names[start : start + per_request]]
        for fut in admin.create_topics(batch, operation_timeout=60, request_timeout=120).values():
            fut.result(180)


def produce_and_fetch(bootstrap: str, targets: list[tuple[str, int]], tag: bytes) -> None:
    """One record to each of ``targets``, then read every one of them back by assignment."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for topic, partition in targets:
        producer.produce(topic, value=tag + f" {topic}/{partition}".encode(), partition=partition)
    assert producer.flush(60) == 0
    assert_fetch(bootstrap, targets, tag)


def assert_fetch(bootstrap: str, targets: list[tuple[str, int]], tag: bytes) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "fd-test", "enable.auto.commit": False})
    consumer.assign([TopicPartition(t, p, 0) for t, p in targets])
    wanted = {tag + f" {t}/{p}".encode() for t, p in targets}
    got: set[bytes] = set()
    deadline = time.monotonic() + 60
    while got != wanted and time.monotonic() < deadline:
        for msg in consumer.consume(500, 1.0):
            if msg.error() is None:
                got.add(msg.value())
    consumer.close()
    assert got == wanted


def test_ten_thousand_partitions_under_ulimit_1024(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 topics x 10 partitions with `ulimit -n 1024`; they survive kill -9 and serve again."""
    with fd_limit(monkeypatch, FD_LIMIT):
        broker = BrokerProcess(tmp_path).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        names = [f"many-{i:04d}" for i in range(TOPICS)]
        t0 = time.monotonic()
        create_topics(admin, names, PARTITIONS)
        created_s = time.monotonic() - t0
        assert open_fds(broker.pid) < FD_LIMIT
        targets = [(names[i], i % PARTITIONS) for i in range(0, TOPICS, 7)]
        produce_and_fetch(broker.bootstrap, targets, b"before")
        assert open_fds(broker.pid) < FD_LIMIT
        # CreateTopics answered, so the topics are durable: a crash right now loses none of them.
        broker.kill()
        with fd_limit(monkeypatch, FD_LIMIT):
            broker.start(timeout=180)
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=30).topics
        assert all(len(topics[n].partitions) == PARTITIONS for n in names)
        assert_fetch(broker.bootstrap, targets, b"before")
        assert open_fds(broker.pid) < FD_LIMIT
        print(f"created {TOPICS} x {PARTITIONS} partitions in {created_s:.1f} s")
    except Exception:
        print("broker log tail:\n" + "".join(broker.output[-40:]))
        raise
    finally:
        broker.kill()


def test_topics_survive_kill_9_right_after_create_topics(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        names = [f"durable-{i}" for i in range(50)]
        create_topics(admin, names, 4, per_request=50)
        broker.kill()
        broker.start()
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=30).topics
        assert all(len(topics[n].partitions) == 4 for n in names)
    finally:
        broker.kill()


def test_a_topic_whose_logs_cannot_be_created_answers_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError while opening the logs (here a file where a partition directory must go) undoes
    the topic and answers an error code instead of closing the client's connection."""
    with fd_limit(monkeypatch, 256):
        broker = BrokerProcess(tmp_path).start()
    try:
        (broker.log_dirs / "blocked-7").write_text("not a directory")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        with pytest.raises(KafkaException) as exc:
            admin.create_topics([NewTopic("blocked", num_partitions=10, replication_factor=1)])[
                "blocked"
            ].result(30)
        assert "Could not create the logs of topic 'blocked'" in str(exc.value)
        # The broker still serves, and the failed topic left no partition directory behind; with
        # only 256 descriptors it still creates far more partitions than it may keep open.
        admin.create_topics([NewTopic("fits", num_partitions=200, replication_factor=1)])["fits"].result(60)
        topics = admin.list_topics(timeout=10).topics
        assert "fits" in topics and "blocked" not in topics
        assert not any(p.is_dir() and p.name.startswith("blocked-") for p in broker.log_dirs.iterdir())
        assert open_fds(broker.pid) < 256
    finally:
        broker.kill()
