"""Unit tests of the log side of transactions on a real partition directory: markers, the last
stable offset, the ``.txnindex`` files (Kafka's format), epoch and coordinator fencing,
verification guards, recovery after an unclean stop, follower appends and truncation."""

from __future__ import annotations

import struct

import pytest

from kcli.protocol.records import InvalidRecordError
from kcli.server.protocol.control_records import end_txn_marker
from kcli.server.storage.partition_log import PartitionLog
from kcli.server.storage.producer_state import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    TransactionCoordinatorFencedError,
)
from kcli.server.storage.transaction_index import AbortedTxn
from tests.server.storage.helpers import batch, open_log


def txn(n: int, pid: int, seq: int, epoch: int = 0, tag: str = "") -> bytes:
    return batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq, is_transactional=True, tag=tag)


def marker(pid: int, commit: bool, epoch: int = 0, coordinator_epoch: int = 0) -> bytes:
    return end_txn_marker(pid, epoch, commit, coordinator_epoch, 5_000)


def write_marker(log: PartitionLog, pid: int, commit: bool, **kw) -> int:
    return log.append(marker(pid, commit, **kw), allow_control=True, origin_coordinator=True).base_offset


def replicated(log: PartitionLog) -> PartitionLog:
    """A single replica's high watermark follows its log end (Partition does this on append)."""
    log.high_watermark = log.log_end_offset
    return log


def test_lso_stops_at_the_first_open_transaction_and_moves_on_its_marker(tmp_path):
    log = open_log(tmp_path)
    log.append(batch(2))  # 0-1 plain
    log.append(txn(3, pid=1, seq=0))  # 2-4 open
    log.append(batch(1))  # 5 plain, after the open transaction
    assert replicated(log).last_stable_offset == 2
    assert log.producer_state.open_transactions() == [(1, 2)]
    at = write_marker(log, 1, commit=True)
    assert at == 6 and replicated(log).last_stable_offset == 7
    assert log.producer_state.open_transactions() == []


def test_the_lso_never_passes_the_high_watermark(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(2, pid=1, seq=0))
    write_marker(log, 1, commit=False)
    log.high_watermark = 1  # a follower behind: the marker (offset 2) is not replicated yet
    assert log.last_stable_offset == 0
    log.high_watermark = 3
    assert log.last_stable_offset == 3


def test_aborted_transactions_are_indexed_in_kafkas_format(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(2, pid=1, seq=0))  # 0-1
    log.append(txn(1, pid=2, seq=0))  # 2, stays open
    write_marker(log, 1, commit=False)  # 3
    path = tmp_path / "topic-0" / "00000000000000000000.txnindex"
    assert path.read_bytes() == struct.pack(">hqqqq", 0, 1, 0, 3, 2)  # LSO = producer 2's start
    assert log.collect_aborted(0, 4) == [AbortedTxn(1, 0, 3, 2)]
    assert log.collect_aborted(4, 10) == []
    write_marker(log, 2, commit=True)
    assert path.stat().st_size == 34  # commits are not indexed


def test_fenced_epochs_and_coordinators_are_refused(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(1, pid=1, seq=0, epoch=3))
    write_marker(log, 1, commit=False, epoch=4, coordinator_epoch=2)  # a fence: epoch bumped
    with pytest.raises(InvalidProducerEpochError):
        log.append(txn(1, pid=1, seq=1, epoch=3))  # the zombie
    with pytest.raises(InvalidProducerEpochError):
        write_marker(log, 1, commit=True, epoch=3, coordinator_epoch=2)
    with pytest.raises(TransactionCoordinatorFencedError):
        write_marker(log, 1, commit=True, epoch=4, coordinator_epoch=1)  # a deposed coordinator
    with pytest.raises(InvalidRecordError):
        log.append(marker(1, commit=True, epoch=4, coordinator_epoch=2))  # clients may not


def test_a_plain_write_inside_an_open_transaction_is_refused(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(1, pid=1, seq=0))
    with pytest.raises(InvalidTxnStateError):
        log.append(batch(1, producer_id=1, producer_epoch=0, base_sequence=1))


def test_verification_guards_admit_only_verified_first_writes(tmp_path):
    log = open_log(tmp_path)
    with pytest.raises(InvalidTxnStateError):
        log.append(txn(1, pid=1, seq=0), verify_txn=True)  # nobody asked the coordinator
    guard = log.start_transaction_verification(1)
    write_marker(log, 1, commit=False)  # an abort lands while the verification was in flight
    with pytest.raises(InvalidTxnStateError):
        log.append(txn(1, pid=1, seq=0), txn_guard=guard, verify_txn=True)
    guard = log.start_transaction_verification(1)
    log.append(txn(1, pid=1, seq=0), txn_guard=guard, verify_txn=True)
    assert log.start_transaction_verification(1) is None  # open now: nothing left to verify
    log.append(txn(1, pid=1, seq=1), verify_txn=True)


def test_unclean_reopen_rebuilds_open_transactions_and_the_index(tmp_path):
    log = open_log(tmp_path, segment_bytes=300)
    log.append(txn(2, pid=1, seq=0))
    log.append(txn(2, pid=2, seq=0))
    write_marker(log, 1, commit=False)
    log.append(txn(1, pid=3, seq=0))
    write_marker(log, 3, commit=True)
    assert len(log.segments) > 1  # the aborted transaction spans segments
    index_before = log.collect_aborted(0, log.log_end_offset)
    for seg in log._segments:
        seg.txn_index.path.unlink(missing_ok=True)  # lost, as a crash may lose it
    # no close(): the next open is after an unclean stop
    reopened = PartitionLog.open(log.directory, log.config)
    assert reopened.producer_state.open_transactions() == [(2, 2)]
    assert replicated(reopened).last_stable_offset == 2
    assert reopened.collect_aborted(0, reopened.log_end_offset) == index_before
    assert index_before == [AbortedTxn(1, 0, 4, 2)]


def test_a_decided_transaction_stays_decided_after_an_unclean_reopen(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(2, pid=1, seq=0))
    write_marker(log, 1, commit=True)
    replicated(log)
    reopened = PartitionLog.open(log.directory, log.config)  # no close(): unclean
    assert reopened.high_watermark == 3 and reopened.last_stable_offset == 3


def test_clean_close_keeps_open_transactions_in_the_snapshot(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(2, pid=1, seq=0))
    write_marker(log, 1, commit=True, coordinator_epoch=5)
    log.append(txn(1, pid=1, seq=2))
    log.close()
    reopened = PartitionLog.open(log.directory, log.config, clean_shutdown=True)
    assert reopened.producer_state.open_transactions() == [(1, 3)]
    assert reopened.producer_state.producers[1].coordinator_epoch == 5
    with pytest.raises(TransactionCoordinatorFencedError):
        write_marker(reopened, 1, commit=True, coordinator_epoch=4)


def test_followers_track_transactions_from_the_leaders_bytes(tmp_path):
    leader = open_log(tmp_path, "t-0")
    follower = open_log(tmp_path, "f-0")
    leader.append(txn(2, pid=1, seq=0))
    write_marker(leader, 1, commit=False)
    follower.append_as_follower(leader.read(0, 1 << 20))
    follower.high_watermark = follower.log_end_offset
    assert follower.collect_aborted(0, 3) == [AbortedTxn(1, 0, 2, 3)]
    assert follower.last_stable_offset == 3


def test_truncating_a_marker_reopens_its_transaction(tmp_path):
    log = open_log(tmp_path)
    log.append(txn(2, pid=1, seq=0))
    write_marker(log, 1, commit=False)
    log.truncate_to(2)
    assert log.producer_state.open_transactions() == [(1, 0)]
    assert log.collect_aborted(0, 3) == []
    assert not (tmp_path / "topic-0" / "00000000000000000000.txnindex").exists()


def keyed_txn(key: bytes, value: bytes, pid: int, seq: int) -> bytes:
    from kcli.protocol.records import build_batch

    return build_batch(
        [(key, value, [], 1_000)], producer_id=pid, producer_epoch=0, base_sequence=seq, is_transactional=True
    )


def test_compaction_removes_aborted_data_then_spent_markers(tmp_path):
    from kcli.protocol.records import build_batch, decode_records

    log = open_log(tmp_path, cleanup_policy="compact", delete_retention_ms=1_000, segment_bytes=100_000)
    log.append(build_batch([(b"a", b"old", [], 1_000)]))  # 0
    log.append(keyed_txn(b"a", b"aborted", pid=1, seq=0))  # 1: must never win over offset 0
    write_marker(log, 1, commit=False)  # 2
    log.append(keyed_txn(b"b", b"kept", pid=2, seq=0))  # 3
    write_marker(log, 2, commit=True)  # 4
    log.roll()
    log.append(build_batch([(b"c", b"active", [], 1_000)]))  # 5, in the active segment
    replicated(log)

    log.compact(now_ms=1_500)  # markers are recent: the ABORT marker stays, with its index entry
    records = {r.offset: r for r in decode_records(log.read(0, 1 << 20))}
    assert sorted(records) == [0, 2, 3, 4]
    assert records[0].value == b"old" and records[3].value == b"kept"
    assert log.collect_aborted(0, 5) == [AbortedTxn(1, 1, 2, 3)]

    log.compact(now_ms=10_000)  # past delete.retention.ms: the spent ABORT marker goes too
    assert sorted(r.offset for r in decode_records(log.read(0, 1 << 20))) == [0, 3, 4]
    assert log.collect_aborted(0, 5) == []
    assert not (tmp_path / "topic-0" / "00000000000000000000.txnindex").exists()


def test_compaction_stops_at_the_last_stable_offset(tmp_path):
    log = open_log(tmp_path, cleanup_policy="compact", segment_bytes=100_000)
    log.append(keyed_txn(b"a", b"open", pid=1, seq=0))
    log.roll()
    log.append(keyed_txn(b"a", b"later", pid=1, seq=1))
    log.roll()
    replicated(log)
    assert log.compact(now_ms=10_000).records_removed == 0  # undecided: not cleanable
