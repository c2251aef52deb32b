"""The drop-in tools with transactions: kafka-transactions (list, describe, describe-producers,
find-hanging, abort) with Kafka's tables and errors, kafka-dump-log on markers, ``.txnindex`` and
``__transaction_state``, kafka-console-consumer --isolation-level, and kafka-producer-perf-test
--transactional-id / --transaction-duration-ms.

The broker runs with ``transaction.partition.verification.enable=false`` so that a transactional
write the coordinator knows nothing about can be made (as a broker without KIP-890 allows): the
hanging transaction that find-hanging and abort exist for."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.broker_process import BrokerProcess
from tests.compat.txn_helpers import new_topic, read_all
from tests.server.transaction.wire import Wire, txn_batch
from tests.tools.helpers import run_tool


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(
        tmp_path_factory.mktemp("txn-tools"), {"transaction.partition.verification.enable": "false"}
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def transactions(broker: BrokerProcess, *args: str):
    return run_tool("transactions", ["--bootstrap-server", broker.bootstrap, *args])


def table(stdout: str) -> list[list[str]]:
    """prettyPrintTable's rows: cells end with a tab and are padded with spaces."""
    return [[cell.strip() for cell in line.split("\t")[:-1]] for line in stdout.splitlines()]


def test_list_describe_and_describe_producers(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "tools", partitions=2)
    txn_id = f"tools-{uuid.uuid4().hex[:6]}"
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": txn_id})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"open", partition=1)
    assert p.flush(30) == 0

    listed = transactions(broker, "list")
    assert listed.returncode == 0, listed.stderr
    rows = table(listed.stdout)
    assert rows[0] == ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
    (mine,) = [r for r in rows[1:] if r[0] == txn_id]
    assert mine[1] == "0" and mine[3] == "Ongoing"
    pid = mine[2]

    described = transactions(broker, "describe", "--transactional-id", txn_id)
    assert described.returncode == 0, described.stderr
    header, row = table(described.stdout)
    assert header == [
        "CoordinatorId",
        "TransactionalId",
        "ProducerId",
        "ProducerEpoch",
        "TransactionState",
        "TransactionTimeoutMs",
        "CurrentTransactionStartTimeMs",
        "TransactionDurationMs",
        "TopicPartitions",
    ]
    assert row[:6] == ["0", txn_id, pid, "0", "Ongoing", "60000"]
    assert int(row[6]) > 0 and int(row[7]) >= 0 and row[8] == f"{topic}-1"

    producers = transactions(broker, "describe-producers", "--topic", topic, "--partition", "1")
    assert producers.returncode == 0, producers.stderr
    header, row = table(producers.stdout)
    assert header == [
        "ProducerId",
        "ProducerEpoch",
        "LatestCoordinatorEpoch",
        "LastSequence",
        "LastTimestamp",
        "CurrentTransactionStartOffset",
    ]
    assert row[0:4] == [pid, "0", "-1", "0"] and row[5] == "0"

    p.commit_transaction(30)
    after = table(transactions(broker, "describe-producers", "--topic", topic, "--partition", "1").stdout)
    assert after[1][2] == "0" and after[1][5] == "None"  # the COMMIT marker's coordinator epoch

    missing = transactions(broker, "describe", "--transactional-id", "never-used")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "Failed to describe transaction state of transactional-id `never-used`: DescribeTransactions request for "
        "transactionalId `never-used` failed because the ID could not be found. Enable debug logging for "
        "additional detail."
    )


def test_find_hanging_and_abort(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "hanging")
    wire = Wire(broker.bootstrap)
    try:
        # A producer writes transactionally without AddPartitionsToTxn: its coordinator will never
        # send this partition a marker. (KIP-890 verification, off here, would have refused it.)
        assert wire(10, 3, {"key": "zombie", "key_type": 1}).error_code == 0
        pid = wire.init("zombie").producer_id
        assert wire.produce(topic, 0, txn_batch(pid, 0, 0, n=2), "zombie").error_code == 0
        assert wire.list_offsets(topic, 0, isolation=1) == 0  # the LSO is stuck
    finally:
        wire.close()
    # find-hanging counts transactions strictly older than the timeout (0 minutes here): the tool
    # starts as a new process, well after the batch's timestamp.
    found = transactions(broker, "find-hanging", "--topic", topic, "--max-transaction-timeout", "0")
    assert found.returncode == 0, found.stderr
    header, row = table(found.stdout)
    assert header == [
        "Topic",
        "Partition",
        "ProducerId",
        "ProducerEpoch",
        "CoordinatorEpoch",
        "StartOffset",
        "LastTimestamp",
        "Duration(min)",
    ]
    assert row[:6] == [topic, "0", str(pid), "0", "-1", "0"]
    assert transactions(broker, "find-hanging").returncode == 1  # needs --topic or --broker-id

    bad = transactions(broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "7")
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == f"Could not find any open transactions starting at offset 7 on partition {topic}-0"
    )
    aborted = transactions(broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "0")
    assert aborted.returncode == 0, aborted.stderr
    assert (
        table(
            transactions(broker, "find-hanging", "--topic", topic, "--max-transaction-timeout", "0").stdout
        )[1:]
        == []
    )
    assert read_all(broker.bootstrap, topic, 1, "read_committed") == []  # aborted: invisible, LSO free


def test_dump_log_shows_markers_the_txnindex_and_the_transaction_log(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "dump")
    txn_id = f"dump-{uuid.uuid4().hex[:6]}"
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": txn_id})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"kept")
    p.commit_transaction(30)
    p.begin_transaction()
    p.produce(topic, value=b"dropped")
    p.flush(30)
    p.abort_transaction(30)
    directory = broker.log_dirs / f"{topic}-0"
    dumped = run_tool(
        "dump_log", ["--files", str(directory / "00000000000000000000.log"), "--print-data-log"]
    )
    assert dumped.returncode == 0, dumped.stderr
    assert re.search(
        r"baseOffset: 1 lastOffset: 1 count: 1 .* isTransactional: true isControl: true ", dumped.stdout
    )
    assert "| offset: 1 " in dumped.stdout and "endTxnMarker: COMMIT coordinatorEpoch: 0" in dumped.stdout
    assert "endTxnMarker: ABORT coordinatorEpoch: 0" in dumped.stdout
    assert "payload: dropped" in dumped.stdout  # aborted records stay in the log until compaction
    index = run_tool("dump_log", ["--files", str(directory / "00000000000000000000.txnindex")])
    pid = re.search(r"producerId: (\d+)", dumped.stdout).group(1)
    assert (
        index.stdout.splitlines()[1]
        == f"version: 0 producerId: {pid} firstOffset: 2 lastOffset: 3 lastStableOffset: 4"
    )
    state_dirs = sorted(Path(broker.log_dirs).glob("__transaction_state-*"))
    logs = [
        str(d / "00000000000000000000.log")
        for d in state_dirs
        if (d / "00000000000000000000.log").stat().st_size
    ]
    decoded = run_tool("dump_log", ["--files", ",".join(logs), "--transaction-log-decoder"])
    assert (
        f"key: transaction_metadata::transactionalId={txn_id} payload: producerId:{pid},producerEpoch:0,state=CompleteAbort,"
        in decoded.stdout
    )


def test_console_consumer_isolation_level_and_perf_test_transactions(broker: BrokerProcess) -> None:
    topic = new_topic(broker.bootstrap, "console")
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"cc-{uuid.uuid4().hex[:6]}"})
    p.init_transactions(30)
    for value, commit in ((b"one", True), (b"two", False), (b"three", True)):
        p.begin_transaction()
        p.produce(topic, value=value)
        p.flush(30)
        p.commit_transaction(30) if commit else p.abort_transaction(30)
    base = [
        "--bootstrap-server",
        broker.bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--timeout-ms",
        "3000",
    ]
    committed = run_tool("console_consumer", [*base, "--isolation-level", "read_committed"])
    assert committed.stdout.splitlines() == ["one", "three"], committed.stderr
    everything = run_tool("console_consumer", [*base, "--isolation-level", "read_uncommitted"])
    assert everything.stdout.splitlines() == ["one", "two", "three"], everything.stderr

    perf_topic = new_topic(broker.bootstrap, "perf")
    perf = run_tool(
        "producer_perf_test",
        [
            "--topic", perf_topic, "--num-records", "2000", "--record-size", "50", "--throughput", "-1",
            "--producer-props", f"bootstrap.servers={broker.bootstrap}",
            "--transactional-id", f"perf-{uuid.uuid4().hex[:6]}", "--transaction-duration-ms", "50",
        ],
        timeout=120,
    )  # fmt: skip
    assert perf.returncode == 0, perf.stderr
    assert "2000 records sent" in perf.stdout
    assert len(read_all(broker.bootstrap, perf_topic, 1, "read_committed")) == 2000
