"""A stateful stream-processing library in exactly-once mode against the broker: a Quix Streams
word count (``processing_guarantee="exactly-once"``: transactional producer, offsets and state
changelog committed together, read_committed everywhere) killed with -9 in the middle of a
transaction and restarted on an empty state directory. Every word's counts in the output are
exactly 1, 2, ..., n: no count lost, none produced twice, the state restored from its changelog
exactly right."""

from __future__ import annotations

import collections
import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import App, new_topic, read_all

pytest.importorskip("quixstreams")

WORD_COUNT = r"""
import os, signal, sys
from quixstreams import Application

bootstrap, source, sink, group, state_dir, die_after = sys.argv[1:7]
die_after = int(die_after)
app = Application(
    broker_address=bootstrap,
    consumer_group=group,
    auto_offset_reset="earliest",
    processing_guarantee="exactly-once",
    state_dir=state_dir,
    commit_interval=0.5,
    loglevel="WARNING",
    consumer_extra_config={"session.timeout.ms": 6000},  # the killed member leaves the group soon
)
sentences = app.topic(source, value_deserializer="str")
counts = app.topic(sink, key_serializer="str", value_serializer="json")
seen = 0

def count(word, state):
    global seen
    seen += 1
    if die_after and seen == die_after:
        print("DYING", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 while the checkpoint's transaction is open
    n = state.get("n", 0) + 1
    state.set("n", n)
    return {"word": word, "count": n}

sdf = app.dataframe(sentences)
sdf = sdf.apply(lambda sentence: sentence.split(), expand=True)
sdf = sdf.group_by(lambda word: word, name="word")
sdf = sdf.apply(count, stateful=True)
sdf.to_topic(counts, key=lambda row: row["word"])
print("RUNNING", flush=True)
app.run()
"""

WORDS = ["kafka", "exactly", "once", "stream", "state", "commit", "abort", "marker"]


def test_quix_word_count_exactly_once_across_kill_9(tmp_path: Path, shared_broker: BrokerProcess) -> None:
    bootstrap = shared_broker.bootstrap
    source = new_topic(bootstrap, "sentences", partitions=2)
    sink = new_topic(bootstrap, "counts")
    feed = Producer({"bootstrap.servers": bootstrap})
    expected: collections.Counter[str] = collections.Counter()
    for i in range(60):
        sentence = [WORDS[(i * 3 + j) % len(WORDS)] for j in range(1 + i % 4)]
        expected.update(sentence)
        feed.produce(source, key=b"s%d" % i, value=" ".join(sentence).encode())
    assert feed.flush(30) == 0
    group = f"wordcount-{uuid.uuid4().hex[:6]}"
    args = [bootstrap, source, sink, group]

    first = App(WORD_COUNT, [*args, str(tmp_path / "state-1"), "70"])
    try:
        first.wait_for("DYING", timeout_s=120)
        assert first.proc.wait(30) == -9
    finally:
        first.kill()

    # A new state directory: the counts come back from the changelog topics alone.
    second = App(WORD_COUNT, [*args, str(tmp_path / "state-2"), "0"])
    try:
        second.wait_for("RUNNING", timeout_s=60)
        deadline = time.monotonic() + 120
        while True:
            rows = [json.loads(v) for v in read_all(bootstrap, sink, 1, "read_committed")]
            finals = {r["word"]: r["count"] for r in rows}
            if finals == dict(expected):
                break
            assert time.monotonic() < deadline, (finals, dict(expected))
            time.sleep(0.5)
    finally:
        second.kill()
    per_word: dict[str, list[int]] = collections.defaultdict(list)
    for r in rows:
        per_word[r["word"]].append(r["count"])
    assert {w: c for w, c in per_word.items()} == {w: list(range(1, n + 1)) for w, n in expected.items()}
