"""The teaching views against the real broker: ``kcli log draw``/``xray``, ``--explain`` on the
tools (and stdout unchanged without it), the window-only reads of a big partition."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.cluster_view.kafka import KafkaSource
from kcli.explain_texts import key_partition
from tests.broker_process import BrokerProcess
from tests.tools.helpers import run_tool

KEYS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def kcli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )


def create(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)


def where(bootstrap: str, topic: str) -> dict[str, set[int]]:
    """key -> partitions it is in, read back with a consumer."""
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": unique("read"), "auto.offset.reset": "earliest"}
    )
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
    out: dict[str, set[int]] = {}
    try:
        lows_highs = {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in md.topics[topic].partitions
        }
        total = sum(h - lo for lo, h in lows_highs.values())
        seen = 0
        while seen < total:
            for m in c.consume(100, timeout=1.0):
                if m.error() is None:
                    out.setdefault(m.key().decode(), set()).add(m.partition())
                    seen += 1
    finally:
        c.close()
    return out


@pytest.fixture(scope="module")
def keyed(shared_broker: BrokerProcess) -> tuple[str, str, subprocess.CompletedProcess[str]]:
    """A 3-partition topic with keyed records sent by the console producer with --explain."""
    topic = unique("keyed")
    create(shared_broker.bootstrap, topic, 3)
    lines = "".join(f"{k}:{i}\n" for i in range(3) for k in KEYS)
    produced = run_tool(
        "console_producer",
        [
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--topic",
            topic,
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--explain",
        ],
        lines,
    )
    assert produced.returncode == 0, produced.stderr
    return shared_broker.bootstrap, topic, produced


def test_producer_explains_murmur2_partitions_and_batches(keyed) -> None:
    bootstrap, topic, produced = keyed
    assert produced.stdout == ""  # explanations go to stderr only
    lines = [line for line in produced.stderr.splitlines() if line.startswith("[explain] record ")]
    assert len(lines) == len(KEYS) * 3, produced.stderr
    landed = where(bootstrap, topic)
    for key in KEYS:
        expected = key_partition(key.encode(), 3)
        # Java's partitioner, and where the records really are
        assert landed[key] == {expected}, (key, landed[key])
        mine = [line for line in lines if line.startswith(f"[explain] record '{key}':")]
        assert len(mine) == 3
        for line in mine:
            assert f"mod 3 partitions = {expected}; written at offset" in line, line
            assert f"of {topic}-{expected}, in batch " in line, line
            assert "leader broker 0 answered once ISR 0 had it" in line
    assert "[explain] acks=all" in produced.stderr


def test_log_draw_shows_where_keys_landed(keyed) -> None:
    bootstrap, topic, _ = keyed
    drawn = kcli("log", "draw", topic, "--bootstrap-server", bootstrap, "--keys", "--width", "160")
    assert drawn.returncode == 0, drawn.stderr
    blocks = drawn.stdout.split("\n\n")
    assert [b.split()[0] for b in blocks] == [f"{topic}-{p}" for p in range(3)], drawn.stdout
    for p, block in enumerate(blocks):
        keys_here = {k for k in KEYS if re.search(rf"\b{k}\b", block)}
        assert keys_here == {k for k in KEYS if key_partition(k.encode(), 3) == p}, (p, block)
        assert "log start 0" in block and "HW " in block
    one = kcli(
        "log",
        "draw",
        f"{topic}-0",
        "--bootstrap-server",
        bootstrap,
        "--width",
        "120",
        "--from",
        "1",
        "--count",
        "2",
    )
    assert one.returncode == 0, one.stderr
    assert "window 1-2" in one.stdout and "◀ before the window: log start 0" in one.stdout


def test_log_draw_and_xray_errors_are_one_line(shared_broker: BrokerProcess) -> None:
    missing = kcli("log", "draw", "no-such-topic", "--bootstrap-server", shared_broker.bootstrap)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "kcli log: Topic 'no-such-topic' does not exist"
    topic = unique("xr")
    create(shared_broker.bootstrap, topic, 2)
    whole = kcli("log", "xray", topic, "0", "--bootstrap-server", shared_broker.bootstrap)
    assert whole.returncode == 1 and "Name the partition" in whole.stderr
    empty = kcli("log", "xray", f"{topic}-1", "0", "--bootstrap-server", shared_broker.bootstrap)
    assert empty.returncode == 1 and "no record at offset 0" in empty.stderr
    assert "Traceback" not in whole.stderr + empty.stderr


def test_xray_cli_reads_the_batch_from_the_leader(shared_broker: BrokerProcess) -> None:
    topic = unique("xr")
    create(shared_broker.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": shared_broker.bootstrap, "linger.ms": 50, "compression.type": "lz4"})
    for i in range(5):
        p.produce(topic, key=f"k{i}".encode(), value=b'{"n": %d}' % i, headers=[("trace", b"t1")])
    assert p.flush(10) == 0
    shown = kcli(
        "log", "xray", f"{topic}-0", "3", "--bootstrap-server", shared_broker.bootstrap, "--width", "160"
    )
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"X-ray of {topic}-0 offset 3" in out
    assert "records, lz4-compressed" in out
    assert re.search(r"offsetDelta\s+3\s+offset 0 \+ 3 = 3", out), out
    assert re.search(r"producerId\s+-1\s+no producer id", out), out
    assert "header[0].key" in out and "'trace'" in out
    assert '"n": 3' in out


def test_stdout_is_byte_identical_without_and_with_explain(keyed) -> None:
    bootstrap, topic, _ = keyed
    group = unique("g")
    in_zero = sum(3 for k in KEYS if key_partition(k.encode(), 3) == 0)
    args = [
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        str(in_zero),
        "--property",
        "print.key=true",
        "--partition",
        "0",
    ]
    plain = run_tool("console_consumer", args)
    explained = run_tool("console_consumer", [*args, "--explain"])
    assert plain.returncode == explained.returncode == 0
    assert plain.stdout == explained.stdout
    assert "[explain]" not in plain.stderr and "assigned directly, without a group" in explained.stderr
    for tool, extra in (("topics", ["--describe", "--topic", topic]), ("topics", ["--list"])):
        a = run_tool(tool, ["--bootstrap-server", bootstrap, *extra])
        b = run_tool(tool, ["--bootstrap-server", bootstrap, *extra, "--explain"])
        assert a.stdout == b.stdout and a.returncode == b.returncode == 0
        assert "[explain]" in b.stderr and "[explain]" not in a.stderr
    consumed = run_tool(
        "console_consumer",
        [
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--group",
            group,
            "--from-beginning",
            "--max-messages",
            "18",
        ],
    )
    assert consumed.returncode == 0
    a = run_tool("consumer_groups", ["--bootstrap-server", bootstrap, "--describe", "--group", group])
    b = run_tool(
        "consumer_groups", ["--bootstrap-server", bootstrap, "--describe", "--group", group, "--explain"]
    )
    assert a.stdout == b.stdout
    assert f"[explain] group {group}: coordinator broker 0; state Empty" in b.stderr
    for module in ("console_producer", "console_consumer", "topics", "consumer_groups"):
        helped = run_tool(module, ["--help"])
        assert "--explain" not in helped.stdout + helped.stderr  # Kafka's help, unchanged


def test_consumer_explains_join_assignment_start_and_commits(keyed) -> None:
    bootstrap, topic, _ = keyed
    group = unique("g")
    args = [
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--max-messages",
        "18",
        "--explain",
    ]
    first = run_tool("console_consumer", [*args, "--from-beginning"])
    assert first.returncode == 0, first.stderr
    err = first.stderr
    assert f"[explain] group {group}: FindCoordinator → broker 0" in err
    assert re.search(rf"assigned {topic}-0, {topic}-1, {topic}-2 by the (range|roundrobin) assignor", err), (
        err
    )
    for p in range(3):
        assert (
            f"{topic}-{p}: the group has no committed offset, so auto.offset.reset=earliest starts it at the log start offset 0"
            in err
        )
    assert "[explain] committed (OffsetCommit" in err
    # produce one more record: the group resumes from its committed offsets
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    p.produce(topic, key=b"alice", value=b"again")
    assert p.flush(10) == 0
    again = [
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--max-messages",
        "1",
        "--explain",
    ]
    second = run_tool("console_consumer", again)
    partition = key_partition(b"alice", 3)
    committed = sum(1 for k in KEYS for _ in range(3) if key_partition(k.encode(), 3) == partition)
    assert f"{topic}-{partition}: starts at the group's committed offset {committed}" in second.stderr
    assert second.stdout == "again\n"


def test_a_window_of_a_big_partition_reads_only_the_window(shared_broker: BrokerProcess) -> None:
    """200,000 records; a window of 100 costs one small Fetch, wherever it is in the partition."""
    topic = unique("big")
    create(shared_broker.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": shared_broker.bootstrap, "linger.ms": 20, "batch.size": 64 * 1024})
    total = 200_000
    for i in range(total):
        while True:
            try:
                p.produce(topic, value=b"%06d" % i)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(30) == 0
    source = KafkaSource(shared_broker.bootstrap)
    try:
        middle = source.partition_log(topic, 0, first=123_456, count=100, with_groups=False)
        assert [r.offset for r in middle.records] == list(range(123_456, 123_556))
        assert middle.records[0].value == b"123456"
        assert middle.high_watermark == total and middle.log_start == 0
        assert middle.fetched_bytes < 512 * 1024, middle.fetched_bytes  # a batch or two, not 200,000 records
        tail = source.partition_log(topic, 0, count=50, with_groups=False)
        assert (tail.first, tail.stop) == (total - 50, total)
        assert tail.fetched_bytes < 512 * 1024
        assert tail.replica_ends[0].leo == total  # from the replica's log dir: it is on this machine
        assert tail.segments and tail.segments[0].base_offset == 0
    finally:
        source.close()


def test_compaction_removes_cells_as_it_runs(tmp_path) -> None:
    """A compacted topic with tiny segments, cleaned every half second: the drawn window loses the
    older records of each key (crossed out), the newest of each key stays."""
    from kcli.logview.draw import GONE, draw

    broker = BrokerProcess(tmp_path, {"log.retention.check.interval.ms": "500"}).start()
    try:
        topic = unique("compacted")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        config = {"cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01"}
        admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(15)
        p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
        for i in range(60):
            p.produce(topic, key=f"k{i % 4}".encode(), value=b"v" * 40 + b"%d" % i)
            p.flush(10)  # one batch per record: segments roll every few records
        source = KafkaSource(broker.bootstrap)
        try:
            deadline = time.monotonic() + 60
            while True:
                after = source.partition_log(topic, 0, first=0, count=60, with_groups=False)
                if len(after.records) < 60 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)  # polling the cleaner's observable result, with a deadline
            assert len(after.records) < 60, "the cleaner never ran"
            kept = {r.offset for r in after.records}
            assert {56, 57, 58, 59} <= kept  # the newest record of every key survives
            assert after.high_watermark == 60  # offsets never change: compaction leaves holes
            cells = "\n".join(line.plain for line in draw(after, 400, header=False, legend=False))
            assert GONE in cells
        finally:
            source.close()
    finally:
        broker.kill()


def test_an_open_transaction_holds_the_last_stable_offset(shared_broker: BrokerProcess) -> None:
    """LSO below the HW while a transaction is open; its commit marker is a control batch."""
    from kcli.logview.draw import draw

    topic = unique("txn")
    create(shared_broker.bootstrap, topic, 1)
    plain = Producer({"bootstrap.servers": shared_broker.bootstrap})
    plain.produce(topic, b"before")
    assert plain.flush(10) == 0
    tx = Producer({"bootstrap.servers": shared_broker.bootstrap, "transactional.id": unique("tx")})
    tx.init_transactions(15)
    tx.begin_transaction()
    for _ in range(3):
        tx.produce(topic, key=b"k", value=b"in a transaction")
    assert tx.flush(10) == 0
    source = KafkaSource(shared_broker.bootstrap)
    try:
        open_ = source.partition_log(topic, 0, with_groups=False)
        assert (open_.last_stable, open_.high_watermark) == (1, 4)
        text = "\n".join(line.plain for line in draw(open_, 120))
        assert "▲LSO 1" in text and "italic: in a transaction" in text
        tx.commit_transaction(15)
        done = source.partition_log(topic, 0, with_groups=False)
        assert done.last_stable == done.high_watermark == 5
        marker = done.batch_of(4)
        assert marker is not None and marker.control and marker.transactional
        assert "magenta: a transaction marker" in "\n".join(line.plain for line in draw(done, 120))
    finally:
        source.close()
