"""WordCountDemo with ``processing.guarantee=exactly_once_v2``, run as the quickstart runs it
(``kafka-run-class org.apache.kafka.streams.examples.wordcount.WordCountDemo <properties>``),
killed with -9 in the middle of a transaction and restarted on its state directory: the counts a
read_committed consumer reads are exactly 1, 2, ..., n for every word (none lost, none twice), and
the rows of the transaction cut short are in the log, aborted.

The kill lands inside a transaction by construction (:func:`kill_inside_a_transaction`).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import kill_inside_a_transaction

pytest.importorskip("quixstreams")

WORDCOUNT = "org.apache.kafka.streams.examples.wordcount.WordCountDemo"
INPUT, OUTPUT = "streams-plaintext-input", "streams-wordcount-output"
WORDS = ["all", "streams", "lead", "to", "kafka", "hello", "join", "summit", "exactly", "once"]


def demo(props: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kcli.tools.run_class", WORDCOUNT, str(props)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def counts(bootstrap: str, isolation: str) -> list[tuple[str, int]]:
    """(word, count) of every output record ``isolation`` lets a consumer see, in offset order
    (String keys, Long values: what the quickstart's LongDeserializer reads)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "wordcount-check",
            "isolation.level": isolation,
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(OUTPUT, 0, 0)])
    out = []
    deadline = time.monotonic() + 60
    try:
        while True:
            assert time.monotonic() < deadline, f"no end of {OUTPUT}"
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                assert message.error().code() == -191, message.error()  # _PARTITION_EOF
                return out
            out.append((message.key().decode(), struct.unpack(">q", message.value())[0]))
    finally:
        consumer.close()


def test_wordcount_demo_exactly_once_across_kill_9(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "broker").start()
    first = second = None
    try:
        bootstrap = broker.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(INPUT, 2, 1), NewTopic(OUTPUT, 1, 1)]).values():
            future.result(30)
        state_dir = tmp_path / "kafka-streams"
        props = tmp_path / "wordcount.properties"
        props.write_text(
            f"bootstrap.servers={bootstrap}\nstate.dir={state_dir}\nprocessing.guarantee=exactly_once_v2\n"
            "commit.interval.ms=2000\nconsumer.session.timeout.ms=6000\n"
        )
        log = tmp_path / "demo.log"
        first = demo(props, log)

        expected: collections.Counter[str] = collections.Counter()
        lines = []
        for i in range(1500):
            line = [WORDS[(i * 7 + j) % len(WORDS)] for j in range(1 + i % 3)]
            expected.update(line)
            lines.append(" ".join(w.upper() if j == 0 else w for j, w in enumerate(line)))
        fed = threading.Event()

        def feed() -> None:
            producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
            for i, line in enumerate(lines):
                producer.produce(INPUT, value=line.encode(), partition=i % 2)
                producer.poll(0)
                time.sleep(0.004)  # a steady stream, so transactions are open while the demo runs
            producer.flush(30)
            fed.set()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()

        process_file = state_dir / "streams-wordcount" / "kafka-streams-process-metadata"
        deadline = time.monotonic() + 90
        while not process_file.exists():
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        transactional_id = f"streams-wordcount-{json.loads(process_file.read_text())['processId']}-1"
        kill_inside_a_transaction(first, bootstrap, transactional_id, OUTPUT)
        assert fed.wait(60)

        second = demo(props, log)  # the same state directory: the same transactional id
        deadline = time.monotonic() + 120
        while True:
            committed = counts(bootstrap, "read_committed")
            if dict(committed) == dict(expected):
                break
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline, (dict(committed), dict(expected), log.read_text())
            time.sleep(0.5)
        per_word: dict[str, list[int]] = collections.defaultdict(list)
        for word, count in committed:
            per_word[word].append(count)
        assert dict(per_word) == {w: list(range(1, n + 1)) for w, n in expected.items()}
        assert len(counts(bootstrap, "read_uncommitted")) > len(committed)  # the killed one's rows, aborted
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
                proc.wait(30)
        broker.stop()
