"""Transactions with confluent-kafka (librdkafka) against the real broker: commit and abort seen
through read_committed, consume-transform-produce with send_offsets_to_transaction surviving a
kill -9 of the application (output exactly once, offsets visible only once committed), a producer
killed mid-transaction (aborted after its timeout), and the broker killed mid-transaction."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import EOS_APP, App, new_topic, read_all, read_committed_eventually

SETTINGS = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("txn-confluent"), SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


def producer(bootstrap: str, txn_id: str, **extra: object) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5, **extra})
    p.init_transactions(30)
    return p


def test_commit_and_abort_through_read_committed(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "txn", partitions=2)
    p = producer(broker.bootstrap, f"tx-{uuid.uuid4().hex[:6]}")
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, value=b"committed-%d" % i, partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, value=b"aborted-%d" % i, partition=i % 2)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(topic, value=b"last", partition=0)
    p.commit_transaction(30)

    committed = read_all(broker.bootstrap, topic, 2, "read_committed")
    assert committed == [
        b"committed-0",
        b"committed-2",
        b"committed-4",
        b"last",
        b"committed-1",
        b"committed-3",
        b"committed-5",
    ]
    everything = read_all(broker.bootstrap, topic, 2, "read_uncommitted")
    assert sorted(everything) == sorted(committed + [b"aborted-%d" % i for i in range(6)])


def consumer_group_offsets(bootstrap: str, group: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.consumer_groups",
            "--bootstrap-server",
            bootstrap,
            "--describe",
            "--group",
            group,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def current_offset(describe_output: str, topic: str) -> int:
    for line in describe_output.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[1] == topic:
            return int(fields[3])
    raise AssertionError(describe_output)


def test_consume_transform_produce_is_exactly_once_across_a_kill_9(broker: BrokerProcess) -> None:
    src = new_topic(broker.bootstrap, "src")
    dst = new_topic(broker.bootstrap, "dst")
    feed = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(30):
        feed.produce(src, key=b"k%d" % i, value=b"%d" % i)
    assert feed.flush(30) == 0
    group, txn_id = f"eos-{uuid.uuid4().hex[:6]}", f"eos-{uuid.uuid4().hex[:6]}"
    args = [broker.bootstrap, src, dst, group, txn_id]

    first = App(EOS_APP, [*args, "die", "4"])
    try:
        first.wait_for("MIDWAY")
        # Two transactions committed (8 records); the third one is open with its offsets added:
        # the group shows only what was committed.
        assert current_offset(consumer_group_offsets(broker.bootstrap, group), src) == 8, "".join(first.seen)
    finally:
        first.kill()  # kill -9 in the middle of the transaction

    second = App(EOS_APP, [*args, "finish", "4"])
    try:
        second.wait_for("DONE")
    finally:
        second.kill()

    outputs = read_all(broker.bootstrap, dst, 1, "read_committed")
    assert outputs == [b"out-%d" % i for i in range(30)]  # every input once, in order
    assert len(read_all(broker.bootstrap, dst, 1, "read_uncommitted")) > 30  # the killed one's, aborted
    assert current_offset(consumer_group_offsets(broker.bootstrap, group), src) == 30


PRODUCE_AND_HANG = r"""
import sys, time
from confluent_kafka import Producer
bootstrap, topic, txn_id = sys.argv[1:4]
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 2000})
p.init_transactions(30)
p.begin_transaction()
for i in range(5):
    p.produce(topic, value=b"doomed-%d" % i)
p.flush(30)
print("SENT", flush=True)
time.sleep(3600)
"""


def test_a_producer_killed_mid_transaction_is_aborted_after_its_timeout(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "hang")
    p = producer(broker.bootstrap, f"ok-{uuid.uuid4().hex[:6]}")
    p.begin_transaction()
    p.produce(topic, value=b"before")
    p.commit_transaction(30)
    app = App(PRODUCE_AND_HANG, [broker.bootstrap, topic, f"hang-{uuid.uuid4().hex[:6]}"])
    try:
        app.wait_for("SENT")
    finally:
        app.kill()
    p.begin_transaction()
    p.produce(topic, value=b"after")
    p.commit_transaction(30)
    # The LSO is pinned by the dead producer's transaction until its timeout aborts it; then
    # read_committed reaches the end, with everything committed and nothing of the dead one.
    read_committed_eventually(broker.bootstrap, topic, 1, [b"before", b"after"])


def test_broker_kill_9_mid_transaction(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path, SETTINGS).start()
    try:
        topic = new_topic(broker.bootstrap, "crash", partitions=2)
        p = producer(
            broker.bootstrap, "crash-tx", **{"transaction.timeout.ms": 60000, "message.timeout.ms": 60000}
        )
        p.begin_transaction()
        for i in range(4):
            p.produce(topic, value=b"survives-%d" % i, partition=i % 2)
        assert p.flush(30) == 0
        broker.kill()
        broker.start()
        p.commit_transaction(60)  # the coordinator reloaded the open transaction
        p.begin_transaction()
        p.produce(topic, value=b"lost-0", partition=0)
        assert p.flush(30) == 0
        broker.kill()
        broker.start()
        p.abort_transaction(60)
        committed = read_all(broker.bootstrap, topic, 2, "read_committed")
        assert sorted(committed) == [b"survives-%d" % i for i in range(4)]
        # once more with the producer gone too: the restarted coordinator's timer aborts it
        app = App(PRODUCE_AND_HANG, [broker.bootstrap, topic, "crash-tx-2"])
        try:
            app.wait_for("SENT")
        finally:
            app.kill()
        broker.kill()
        broker.start()
        read_committed_eventually(broker.bootstrap, topic, 2, [b"survives-%d" % i for i in range(4)])
    finally:
        broker.kill()
