"""Unit tests of offsets committed in transactions (pure logic): replaying ``__consumer_offsets``
with markers, and the pending offsets a group coordinator keeps until the marker."""

from __future__ import annotations

from kcli.protocol.records import Record
from kcli.server.coordinator.schema import OffsetValue
from kcli.server.coordinator.transactional_offsets import PendingTransactionalOffsets, replay
from kcli.server.protocol.control_records import ABORT, COMMIT


def rec(offset: int, key: bytes, value: bytes | None, pid: int = -1, txn: bool = False) -> Record:
    return Record(offset, 0, key, value, [], producer_id=pid, is_transactional=txn)


def marker(offset: int, pid: int, control_type: int) -> Record:
    key = control_type.to_bytes(4, "big")  # version 0, then the type
    return Record(
        offset,
        0,
        key,
        b"\x00\x00\x00\x00\x00\x00",
        [],
        producer_id=pid,
        is_transactional=True,
        is_control=True,
    )


def test_replay_applies_commits_at_their_marker_and_drops_aborts():
    effective, pending = replay(
        [
            rec(0, b"a", b"plain-1"),
            rec(1, b"a", b"txn-7", pid=7, txn=True),
            rec(2, b"b", b"txn-8", pid=8, txn=True),
            rec(3, b"c", b"txn-9", pid=9, txn=True),
            marker(4, 7, COMMIT),
            marker(5, 8, ABORT),
        ]
    )
    assert effective == [(b"a", b"plain-1"), (b"a", b"txn-7")]
    assert pending == {9: [(b"c", b"txn-9")]}  # no marker yet: still pending


def test_a_later_plain_commit_wins_over_an_earlier_transactional_one():
    effective, _ = replay(
        [rec(0, b"a", b"txn", pid=7, txn=True), rec(1, b"a", b"plain"), marker(2, 7, COMMIT)]
    )
    assert effective == [(b"a", b"plain")]


def test_pending_offsets_complete_per_producer_and_partition():
    pending = PendingTransactionalOffsets()
    value = OffsetValue(5, -1, "", 0)
    pending.add("g1", 7, {("t", 0): value}, sequence=10)
    pending.add("g2", 7, {("t", 0): value}, sequence=11)
    assert pending.has_pending("g1", "t", 0) and not pending.has_pending("g1", "t", 1)
    partition_of = {"g1": 3, "g2": 4}.__getitem__
    assert list(pending.complete(7, {3}, partition_of)) == [("g1", {("t", 0): (value, 10)})]
    assert not pending.has_pending("g1", "t", 0) and pending.has_pending("g2", "t", 0)
    pending.drop_group("g2")
    assert not pending.has_pending("g2", "t", 0)
