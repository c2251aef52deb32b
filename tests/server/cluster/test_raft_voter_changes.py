"""Unit tests of KIP-853's voter changes in the Raft state machine (kcli.server.cluster.raft), on
the in-memory logs of test_raft_unit: only the leader changes the set, one change at a time, a
new voter must be a caught-up observer, the set takes effect when its VotersRecord is appended,
and a leader that removed itself leads until that record commits, then resigns."""

from __future__ import annotations

import pytest

from kcli.server.cluster.raft import RaftState, Role, VoterChangeError
from tests.server.cluster.test_raft_unit import MemoryLog, MemoryStore, elect, node, replicate

CAUGHT_UP_MS = 2000


def append_voters(leader: RaftState, voters: list[int]) -> int:
    """What raft_node does once a change is allowed: append the VotersRecord, the set applies."""
    leader.log.append(leader.epoch)
    offset = leader.log.end_offset - 1
    leader.set_voters(voters, offset)
    return offset


def error_of(call, *args) -> str:
    with pytest.raises(VoterChangeError) as info:
        call(*args)
    return info.value.error


@pytest.fixture
def three() -> tuple[RaftState, RaftState, RaftState]:
    """Voters 1, 2, 3 with 1 leading and its epoch's first record committed."""
    a, b, c = node(1), node(2), node(3)
    elect(a, b)
    b.handle_begin_epoch(a.begin_epoch_request())
    c.handle_begin_epoch(a.begin_epoch_request())
    replicate(a, b)
    replicate(a, c)
    assert a.high_watermark == a.log.end_offset
    return a, b, c


def observer(node_id: int = 4) -> RaftState:
    return RaftState(node_id, [1, 2, 3], MemoryLog(), MemoryStore())


def test_only_the_leader_changes_voters(three):
    _, b, _ = three
    assert error_of(b.check_add_voter, 4, 0, CAUGHT_UP_MS) == "NotLeaderOrFollower"
    assert error_of(b.check_remove_voter, 3) == "NotLeaderOrFollower"


def test_a_leader_must_commit_in_its_epoch_first():
    a, b = node(1), node(2)
    elect(a, b)
    assert a.high_watermark <= a.epoch_start_offset
    assert error_of(a.check_remove_voter, 3) == "RequestTimedOut"


def test_a_new_voter_must_be_a_caught_up_observer(three):
    a, _, _ = three
    assert error_of(a.check_add_voter, 4, 1000, CAUGHT_UP_MS) == "RequestTimedOut"  # never fetched
    d = observer()
    d.observe(a.epoch, a.node_id)
    assert d.role is Role.FOLLOWER and not d.is_voter
    a.log.append(a.epoch, 3)
    a.handle_fetch({**d.fetch_request(), "offset": 0, "last_epoch": -1}, 1000)  # fetched, far behind
    assert error_of(a.check_add_voter, 4, 1000, CAUGHT_UP_MS) == "RequestTimedOut"
    replicate(a, d, now=1500)
    a.check_add_voter(4, 1500, CAUGHT_UP_MS)  # caught up: allowed
    # caught up too long ago no longer counts
    assert error_of(a.check_add_voter, 4, 1500 + CAUGHT_UP_MS + 1, CAUGHT_UP_MS) == "RequestTimedOut"
    assert error_of(a.check_add_voter, 2, 1500, CAUGHT_UP_MS) == "DuplicateVoter"


def test_one_change_at_a_time_and_the_new_set_counts_at_once(three):
    a, b, c = three
    d = observer()
    d.observe(a.epoch, a.node_id)
    replicate(a, d, now=100)
    a.check_add_voter(4, 100, CAUGHT_UP_MS)
    offset = append_voters(a, [1, 2, 3, 4])
    assert a.voters == [1, 2, 3, 4] and a.majority == 3 and 4 in a.progress
    # the VotersRecord is not committed yet: no second change
    assert error_of(a.check_remove_voter, 3) == "RequestTimedOut"
    assert error_of(a.check_add_voter, 5, 100, CAUGHT_UP_MS) == "RequestTimedOut"
    # the new set's majority (3 of 4) commits it: the leader and one follower are not enough
    replicate(a, b, now=200)
    assert a.high_watermark <= offset
    replicate(a, d, now=200)
    assert a.high_watermark > offset and not a.voter_change_pending
    a.check_remove_voter(3)  # now allowed
    # the follower applies the set when it appends the record (raft_log tells it)
    d.set_voters([1, 2, 3, 4], offset)
    assert d.is_voter and d.handle_vote(c.start_election())["granted"] is False  # 3's log is behind


def test_observers_never_stand_nor_vote(three):
    a, _, _ = three
    d = observer()
    with pytest.raises(VoterChangeError):
        d.start_election()
    request = {"epoch": a.epoch + 1, "candidate": 2, "last_epoch": 99, "end_offset": 99}
    assert d.handle_vote(request)["granted"] is False


def test_removing_the_leader_resigns_after_commit(three):
    a, b, c = three
    a.check_remove_voter(1)
    offset = append_voters(a, [2, 3])
    assert a.role is Role.LEADER and not a.is_voter and a.majority == 2
    assert not a.removed_and_committed()  # still leading until the change commits
    replicate(a, b, now=10)
    assert a.high_watermark <= offset  # the leader no longer counts itself: 1 of the 2 voters
    replicate(a, c, now=10)
    assert a.high_watermark > offset
    assert a.removed_and_committed()
    a.resign()
    assert a.role is not Role.LEADER


def test_voter_change_errors(three):
    a, _, _ = three
    assert error_of(a.check_remove_voter, 7) == "VoterNotFound"
    alone = node(1, voters=(1,))
    alone.start_election()
    alone.log.append(alone.epoch)
    alone.appended()
    assert error_of(alone.check_remove_voter, 1) == "InvalidRequest"


def test_the_voter_history_survives_snapshots_truncation_and_restarts(tmp_path):
    """raft_log keeps every VotersRecord's set by offset: a truncation past one restores the set
    before it, and a restart finds the latest even after a snapshot deleted the log holding it."""
    from kcli.server.cluster.raft_log import RaftMetadataLog
    from kcli.server.cluster.raft_voters import DynamicVoter

    first = [DynamicVoter(1, "127.0.0.1", 9001, "AAAAAAAAAAAAAAAAAAAAAQ")]
    second = [*first, DynamicVoter(2, "127.0.0.1", 9002, "AAAAAAAAAAAAAAAAAAAAAg")]
    log = RaftMetadataLog(tmp_path, 1)
    log.append_leader_change(1, 1, [1], [1])
    log.append_voters(1, first, "CONTROLLER")
    offset = log.append_voters(1, second, "CONTROLLER")
    assert log.latest_voters() == (offset, second)
    log.truncate_to(offset)
    assert log.latest_voters() == (offset - 1, first)
    offset = log.append_voters(1, second, "CONTROLLER")
    log.append_leader_change(1, 1, [1, 2], [1])
    log.high_watermark = log.end_offset
    log.write_snapshot([], log.end_offset)
    assert log.start_offset > offset  # the record itself is gone from the log
    log.close()
    again = RaftMetadataLog(tmp_path, 1)
    assert again.latest_voters() == (offset, second)
    again.close()


def test_only_current_voters_votes_count():
    a, removed = node(1, voters=(1, 2, 3)), node(4, voters=(1, 2, 3, 4))
    request = a.start_election()
    assert removed.handle_vote(request)["granted"]  # it still thinks 1 is a fellow voter
    assert a.handle_vote_answer(4, removed.handle_vote(request)) is False
    assert a.role is Role.CANDIDATE and a.votes == {1}


def test_the_leader_tracks_a_bounded_number_of_observers(three):
    from kcli.server.cluster.raft import MAX_OBSERVERS

    a, _, _ = three
    for replica in range(100, 100 + MAX_OBSERVERS + 50):
        a.handle_fetch({"epoch": a.epoch, "replica": replica, "offset": 0, "last_epoch": -1}, replica)
    assert len(a.observers) == MAX_OBSERVERS
    assert 100 not in a.observers and 100 + MAX_OBSERVERS + 49 in a.observers
