"""The transaction APIs against a real broker, at the protocol level: the errors Kafka answers to
fenced epochs, unknown producer ids, bad timeouts, writes outside a transaction (KIP-890), the
timeout that aborts an abandoned transaction, and what Describe/List/DescribeProducers show."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.server.transaction import errors as E
from tests.broker_process import BrokerProcess
from tests.server.transaction.wire import Wire, txn_batch

SETTINGS = {
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
    "transaction.max.timeout.ms": "120000",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("txn-protocol"), SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def wire(broker: BrokerProcess) -> Iterator[Wire]:
    w = Wire(broker.bootstrap)
    try:
        yield w
    finally:
        w.close()


def new_topic(broker: BrokerProcess, partitions: int = 2) -> str:
    name = f"txn-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # kept alive until the result
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result()
    return name


def txn_id() -> str:
    return f"tx-{uuid.uuid4().hex[:8]}"


def find(wire: Wire, tid: str) -> None:
    r = wire(10, 3, {"key": tid, "key_type": 1})
    assert r.error_code == E.NONE and r.node_id == 0


def test_find_coordinator_answers_for_transactional_ids(wire: Wire):
    find(wire, txn_id())
    r = wire(10, 4, {"key_type": 1, "coordinator_keys": [txn_id(), txn_id()]})
    assert [(c.error_code, c.node_id) for c in r.coordinators] == [(0, 0), (0, 0)]


def test_init_producer_id_validates_its_input(wire: Wire):
    assert wire.init("").error_code == E.INVALID_REQUEST
    assert wire.init(txn_id(), timeout_ms=120_001).error_code == E.INVALID_TRANSACTION_TIMEOUT
    assert wire.init(txn_id(), timeout_ms=0).error_code == E.INVALID_TRANSACTION_TIMEOUT
    assert wire.init(txn_id(), pid=5, epoch=-1).error_code == E.INVALID_REQUEST
    idempotent = wire.init(None)
    assert idempotent.error_code == E.NONE and idempotent.producer_epoch == 0


def test_a_second_instance_fences_the_first(broker: BrokerProcess, wire: Wire):
    topic, tid = new_topic(broker), txn_id()
    find(wire, tid)
    first = wire.init(tid)
    assert (first.error_code, first.producer_epoch) == (E.NONE, 0)
    assert wire.add_partitions(tid, first.producer_id, 0, topic, [0]) == {(topic, 0): E.NONE}
    assert wire.produce(topic, 0, txn_batch(first.producer_id, 0, 0), tid).error_code == E.NONE
    # A new instance aborts the open transaction and fences the old epoch (0 -> 1 -> 2).
    second = wire.init(tid)
    assert (second.error_code, second.producer_id, second.producer_epoch) == (E.NONE, first.producer_id, 2)
    assert wire.describe(tid).transaction_state == "Empty"  # aborted, then re-initialised
    pid = first.producer_id
    assert wire.add_partitions(tid, pid, 0, topic, [1]) == {(topic, 1): E.PRODUCER_FENCED}
    assert wire.add_partitions(tid, pid, 0, topic, [1], version=1) == {(topic, 1): E.INVALID_PRODUCER_EPOCH}
    assert wire.end(tid, pid, 0, commit=True) == E.PRODUCER_FENCED
    assert wire.end(tid, pid, 0, commit=True, version=1) == E.INVALID_PRODUCER_EPOCH
    zombie = wire.produce(topic, 0, txn_batch(pid, 0, 1), tid)
    assert zombie.error_code == E.INVALID_PRODUCER_EPOCH
    # the fenced epoch cannot commit offsets either
    assert wire(
        25, 3, {"transactional_id": tid, "producer_id": pid, "producer_epoch": 0, "group_id": "g"}
    ).error_code == (E.PRODUCER_FENCED)


def test_txn_offset_commit_from_a_fenced_epoch(broker: BrokerProcess, wire: Wire):
    topic, tid, group = new_topic(broker), txn_id(), f"g-{uuid.uuid4().hex[:6]}"
    find(wire, tid)
    first = wire.init(tid)
    pid = first.producer_id
    assert (
        wire(
            25, 3, {"transactional_id": tid, "producer_id": pid, "producer_epoch": 0, "group_id": group}
        ).error_code
        == 0
    )
    wire.init(tid)  # fences epoch 0
    body = {
        "transactional_id": tid,
        "group_id": group,
        "producer_id": pid,
        "producer_epoch": 0,
        "generation_id": -1,
        "member_id": "",
        "group_instance_id": None,
        "topics": [
            {
                "name": topic,
                "partitions": [
                    {
                        "partition_index": 0,
                        "committed_offset": 5,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "",
                    }
                ],
            }
        ],
    }
    r = wire(28, 3, body)
    assert r.topics[0].partitions[0].error_code == E.INVALID_PRODUCER_EPOCH


def test_unknown_producer_ids_and_states_get_the_protocols_errors(broker: BrokerProcess, wire: Wire):
    topic, tid = new_topic(broker), txn_id()
    find(wire, tid)
    r = wire.init(tid)
    pid = r.producer_id
    assert wire.add_partitions(tid, pid + 1000, 0, topic, [0]) == {(topic, 0): E.INVALID_PRODUCER_ID_MAPPING}
    assert wire.end(txn_id(), pid, 0, commit=True) == E.INVALID_PRODUCER_ID_MAPPING
    assert wire.end(tid, pid, 0, commit=True) == E.INVALID_TXN_STATE  # nothing to commit
    assert wire.add_partitions(tid, pid, 0, "no-such-topic", [0]) == {
        ("no-such-topic", 0): E.UNKNOWN_TOPIC_OR_PARTITION
    }
    both = {
        "v3_and_below_transactional_id": tid,
        "v3_and_below_producer_id": pid,
        "v3_and_below_producer_epoch": 0,
        "v3_and_below_topics": [{"name": topic, "partitions": [0]}, {"name": topic, "partitions": [7]}],
    }
    result = wire(24, 3, both).results_by_topic_v3_and_below[0].results_by_partition
    assert sorted((p.partition_index, p.partition_error_code) for p in result) == [
        (0, E.OPERATION_NOT_ATTEMPTED),
        (7, E.UNKNOWN_TOPIC_OR_PARTITION),
    ]


def test_a_transactional_write_outside_the_transaction_is_refused(broker: BrokerProcess, wire: Wire):
    """KIP-890: the leader asks the coordinator; a partition never added cannot be written."""
    topic, tid = new_topic(broker), txn_id()
    find(wire, tid)
    pid = wire.init(tid).producer_id
    old = wire.produce(topic, 0, txn_batch(pid, 0, 0), tid, version=9)
    assert (old.error_code, old.error_message) == (
        E.INVALID_TXN_STATE,
        "Partition was not added to the transaction",
    )
    assert wire.produce(topic, 0, txn_batch(pid, 0, 0), tid, version=11).error_code == E.TRANSACTION_ABORTABLE
    assert wire.produce(topic, 0, txn_batch(pid + 99, 0, 0), tid).error_code == E.INVALID_PRODUCER_ID_MAPPING
    assert wire.list_offsets(topic, 0, isolation=1) == 0  # nothing hangs open
    assert wire.add_partitions(tid, pid, 0, topic, [0]) == {(topic, 0): E.NONE}
    assert wire.produce(topic, 0, txn_batch(pid, 0, 0), tid).error_code == E.NONE
    # the v4+ batched form, as brokers verify
    body = {
        "transactions": [
            {
                "transactional_id": tid,
                "producer_id": pid,
                "producer_epoch": 0,
                "verify_only": True,
                "topics": [{"name": topic, "partitions": [0, 1]}],
            }
        ]
    }
    r = wire(24, 5, body)
    got = {
        p.partition_index: p.partition_error_code
        for t in r.results_by_transaction[0].topic_results
        for p in t.results_by_partition
    }
    assert got == {0: E.NONE, 1: E.TRANSACTION_ABORTABLE}
    assert wire.end(tid, pid, 0, commit=False) == E.NONE


def test_an_abandoned_transaction_is_aborted_after_its_timeout(broker: BrokerProcess, wire: Wire):
    topic, tid = new_topic(broker), txn_id()
    find(wire, tid)
    pid = wire.init(tid, timeout_ms=1_000).producer_id
    wire.add_partitions(tid, pid, 0, topic, [0])
    assert wire.produce(topic, 0, txn_batch(pid, 0, 0, n=3), tid).error_code == E.NONE
    assert wire.list_offsets(topic, 0, isolation=1) == 0  # pinned by the open transaction
    assert wire.list_offsets(topic, 0, isolation=0) == 3
    deadline = time.monotonic() + 20
    while wire.describe(tid).transaction_state != "CompleteAbort":
        assert time.monotonic() < deadline, wire.describe(tid)
        time.sleep(0.1)
    state = wire.describe(tid)
    assert state.producer_epoch == 1  # bumped: the abandoned producer is fenced
    assert wire.list_offsets(topic, 0, isolation=1) == 4  # past the data and the ABORT marker
    assert wire.end(tid, pid, 0, commit=True) == E.PRODUCER_FENCED


def test_describe_list_and_describe_producers(broker: BrokerProcess, wire: Wire):
    topic, tid = new_topic(broker), txn_id()
    find(wire, tid)
    pid = wire.init(tid, timeout_ms=90_000).producer_id
    wire.add_partitions(tid, pid, 0, topic, [1])
    assert wire.produce(topic, 1, txn_batch(pid, 0, 0, n=2), tid).error_code == E.NONE
    state = wire.describe(tid)
    assert (state.error_code, state.transaction_state, state.producer_id, state.producer_epoch) == (
        0,
        "Ongoing",
        pid,
        0,
    )
    assert state.transaction_timeout_ms == 90_000 and state.transaction_start_time_ms > 0
    assert state.partitions == [(topic, 1)]
    assert wire.describe(txn_id()).error_code == E.TRANSACTIONAL_ID_NOT_FOUND

    listed = wire(
        66, 1, {"state_filters": ["Ongoing", "Bogus"], "producer_id_filters": [pid], "duration_filter": -1}
    )
    assert [(t.transactional_id, t.transaction_state) for t in listed.transaction_states] == [
        (tid, "Ongoing")
    ]
    assert list(listed.unknown_state_filters) == ["Bogus"]
    longer = wire(66, 1, {"state_filters": [], "producer_id_filters": [pid], "duration_filter": 3_600_000})
    assert list(longer.transaction_states) == []

    r = wire(61, 0, {"topics": [{"name": topic, "partition_indexes": [0, 1]}]})
    parts = {p.partition_index: p for p in r.topics[0].partitions}
    assert list(parts[0].active_producers) == []
    (producer,) = parts[1].active_producers
    assert (
        producer.producer_id,
        producer.producer_epoch,
        producer.last_sequence,
        producer.current_txn_start_offset,
    ) == (
        pid,
        0,
        1,
        0,
    )
    assert wire.end(tid, pid, 0, commit=True) == E.NONE


def test_hostile_markers_get_errors_and_the_broker_stays_up(broker: BrokerProcess, wire: Wire):
    topic, tid = new_topic(broker), txn_id()
    body = {
        "markers": [
            {
                "producer_id": 123456,
                "producer_epoch": 0,
                "transaction_result": True,
                "topics": [{"name": topic, "partition_indexes": [0, 9]}],
                "coordinator_epoch": 0,
            }
        ]
    }
    r = wire(27, 1, body)
    errors = {p.partition_index: p.error_code for p in r.markers[0].topics[0].partitions}
    assert errors == {0: E.NONE, 9: E.UNKNOWN_TOPIC_OR_PARTITION}
    body["markers"][0]["coordinator_epoch"] = -5
    body["markers"][0]["topics"][0]["partition_indexes"] = [0]
    r = wire(27, 1, body)
    assert r.markers[0].topics[0].partitions[0].error_code == E.TRANSACTION_COORDINATOR_FENCED
    find(wire, tid)  # still serving


def test_idle_transactional_ids_expire(tmp_path: Path):
    settings = {
        "transactional.id.expiration.ms": "500",
        "transaction.remove.expired.transaction.cleanup.interval.ms": "200",
    }
    proc = BrokerProcess(tmp_path, settings).start()
    wire = Wire(proc.bootstrap)
    try:
        tid = txn_id()
        find(wire, tid)
        assert wire.init(tid).error_code == E.NONE
        deadline = time.monotonic() + 20
        while wire.describe(tid).error_code != E.TRANSACTIONAL_ID_NOT_FOUND:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.restart()  # the tombstone is in the log: it stays gone
        wire.close()
        wire = Wire(proc.bootstrap)
        find(wire, tid)
        assert wire.describe(tid).error_code == E.TRANSACTIONAL_ID_NOT_FOUND
    finally:
        wire.close()
        proc.stop()


def test_pending_transactional_offsets_are_unstable_until_the_commit(broker: BrokerProcess, wire: Wire):
    """KIP-447: OffsetFetch with require_stable waits (UNSTABLE_OFFSET_COMMIT) while offsets are
    committed in an open transaction; without it the last committed offset shows."""
    topic, tid, group = new_topic(broker), txn_id(), f"g-{uuid.uuid4().hex[:6]}"
    find(wire, tid)
    assert wire(10, 3, {"key": group, "key_type": 0}).error_code == 0
    pid = wire.init(tid).producer_id
    assert (
        wire(
            25, 3, {"transactional_id": tid, "producer_id": pid, "producer_epoch": 0, "group_id": group}
        ).error_code
        == 0
    )
    body = {
        "transactional_id": tid,
        "group_id": group,
        "producer_id": pid,
        "producer_epoch": 0,
        "generation_id": -1,
        "member_id": "",
        "group_instance_id": None,
        "topics": [
            {
                "name": topic,
                "partitions": [
                    {
                        "partition_index": 0,
                        "committed_offset": 42,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "",
                    }
                ],
            }
        ],
    }
    assert wire(28, 3, body).topics[0].partitions[0].error_code == E.NONE

    def fetch(stable: bool) -> tuple[int, int]:
        r = wire(
            9,
            7,
            {
                "group_id": group,
                "topics": [{"name": topic, "partition_indexes": [0]}],
                "require_stable": stable,
            },
        )
        part = r.topics[0].partitions[0]
        return part.error_code, part.committed_offset

    assert fetch(True) == (E.UNSTABLE_OFFSET_COMMIT, -1)
    assert fetch(False) == (E.NONE, -1)  # not visible before the commit
    assert wire.end(tid, pid, 0, commit=True) == E.NONE
    deadline = time.monotonic() + 10
    while fetch(True) != (E.NONE, 42):
        assert time.monotonic() < deadline, fetch(True)
        time.sleep(0.05)


def test_a_long_transactional_id_works(wire: Wire):
    tid = "t" * 30_000  # Kafka's only limit is the protocol's string length
    find(wire, tid)
    assert wire.init(tid).error_code == E.NONE
    assert wire.describe(tid).transaction_state == "Empty"


def test_a_topic_deleted_mid_transaction_does_not_block_its_end(broker: BrokerProcess, wire: Wire):
    """Markers owed to a partition that no longer exists are skipped, as Kafka skips them."""
    kept, doomed, tid = new_topic(broker, 1), new_topic(broker, 1), txn_id()
    find(wire, tid)
    pid = wire.init(tid).producer_id
    assert wire.add_partitions(tid, pid, 0, kept, [0]) == {(kept, 0): E.NONE}
    assert wire.add_partitions(tid, pid, 0, doomed, [0]) == {(doomed, 0): E.NONE}
    for topic in (kept, doomed):
        assert wire.produce(topic, 0, txn_batch(pid, 0, 0), tid).error_code == E.NONE
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.delete_topics([doomed])[doomed].result(30)
    assert wire.end(tid, pid, 0, commit=True) == E.NONE
    deadline = time.monotonic() + 20
    while wire.describe(tid).transaction_state != "CompleteCommit":
        assert time.monotonic() < deadline, wire.describe(tid)
        time.sleep(0.05)
    assert wire.list_offsets(kept, 0, isolation=1) == 2
