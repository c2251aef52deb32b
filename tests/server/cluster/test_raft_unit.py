"""Unit tests of the Raft state machine (kcli.server.cluster.raft) on in-memory logs: elections,
log matching, truncation on divergence, and commit only by a majority of the current epoch -
the cases of the Raft paper (sections 5.2-5.4, figure 8) in KIP-595's pull-based form."""

from __future__ import annotations

import pytest

from kcli.server.cluster.quorum_state import ElectionState
from kcli.server.cluster.raft import RaftState, ReplicaProgress, Role, end_epoch_backoff_ms


class MemoryLog:
    """A log of epochs: entry i is the epoch that wrote offset i."""

    def __init__(self, epochs: list[int] | None = None):
        self.entries: list[int] = list(epochs or [])
        self.high_watermark = 0
        self.start = 0

    @property
    def end_offset(self) -> int:
        return len(self.entries)

    @property
    def start_offset(self) -> int:
        return self.start

    def last_epoch(self) -> int:
        return self.entries[-1] if self.entries else -1

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        found = [e for e in self.entries if e <= epoch]
        if not found:
            return -1, -1
        best = max(found)
        nxt = next((i for i, e in enumerate(self.entries) if e > best), len(self.entries))
        return best, nxt

    def truncate_to(self, offset: int) -> None:
        assert offset >= self.high_watermark, "a committed entry was truncated"
        del self.entries[offset:]

    def read_raw(self, offset: int) -> list[int]:
        return self.entries[offset:]

    def append_fetched(self, records: list[int]) -> None:
        self.entries += records

    def append_leader_change(self, epoch: int, leader: int, voters: list[int], granting: list[int]) -> int:
        self.entries.append(epoch)
        return len(self.entries) - 1

    def append(self, epoch: int, count: int = 1) -> None:
        self.entries += [epoch] * count

    def snapshot_id(self) -> tuple[int, int] | None:
        return None


class MemoryStore:
    def __init__(self) -> None:
        self.state = ElectionState()
        self.writes = 0

    def read(self) -> ElectionState:
        return ElectionState(self.state.epoch, self.state.leader_id, self.state.voted_id)

    def write(self, state: ElectionState) -> None:
        self.state = ElectionState(state.epoch, state.leader_id, state.voted_id)
        self.writes += 1


def node(node_id: int, epochs: list[int] | None = None, voters: tuple[int, ...] = (1, 2, 3)) -> RaftState:
    return RaftState(node_id, list(voters), MemoryLog(epochs), MemoryStore())


def elect(candidate: RaftState, *others: RaftState) -> None:
    request = candidate.start_election()
    for other in others:
        candidate.handle_vote_answer(other.node_id, other.handle_vote(request))


def replicate(leader: RaftState, follower: RaftState, now: int = 0, rounds: int = 10) -> None:
    """Fetch until the follower has the leader's log (each round one Fetch and its answer)."""
    for _ in range(rounds):
        answer = leader.handle_fetch(follower.fetch_request(), now)
        follower.handle_fetch_answer(answer)
        if follower.log.entries == leader.log.entries:
            leader.handle_fetch(follower.fetch_request(), now)  # its offset tells the leader
            return
    raise AssertionError(f"{follower.log.entries} never matched {leader.log.entries}")


def test_a_majority_elects_a_leader_and_the_epoch_is_persisted_first():
    a, b, c = node(1), node(2), node(3)
    elect(a, b)
    assert a.role is Role.LEADER and a.epoch == 1
    assert b.store.state.voted_id == 1 and b.store.state.epoch == 1  # on disk before the answer
    assert a.log.entries == [1]  # the LeaderChange record opens the epoch
    b.handle_begin_epoch(a.begin_epoch_request())
    c.handle_begin_epoch(a.begin_epoch_request())
    assert (b.role, b.leader_id, c.role, c.leader_id) == (Role.FOLLOWER, 1, Role.FOLLOWER, 1)


def test_one_vote_per_epoch():
    a, b, c = node(1), node(2), node(3)
    first = a.start_election()
    second = b.start_election()
    assert c.handle_vote(first)["granted"] is True
    assert c.handle_vote(second)["granted"] is False  # same epoch 1: already voted for 1
    assert c.handle_vote(first)["granted"] is True  # the same candidate asking again


def test_a_restarted_voter_remembers_its_vote():
    store = MemoryStore()
    c = RaftState(3, [1, 2, 3], MemoryLog(), store)
    assert c.handle_vote(node(1).start_election())["granted"]
    again = RaftState(3, [1, 2, 3], MemoryLog(), store)
    assert again.handle_vote(node(2).start_election())["granted"] is False


def test_no_vote_for_a_candidate_with_a_less_up_to_date_log():
    behind = node(1, [1, 1])
    ahead = node(3, [1, 2])
    longer_same_epoch = node(2, [1, 1, 1])
    assert ahead.handle_vote({**behind.start_election(), "epoch": 5})["granted"] is False
    assert longer_same_epoch.handle_vote({**behind.start_election(), "epoch": 6})["granted"] is False
    # a higher last epoch wins over a longer log
    assert node(2, [1, 1, 1]).handle_vote({**node(1, [2]).start_election(), "epoch": 3})["granted"]


def test_stale_epoch_requests_are_refused_and_higher_epochs_adopted():
    a = node(1)
    a.epoch = 4
    assert a.handle_vote({"epoch": 3, "candidate": 2, "last_epoch": 9, "end_offset": 9})["granted"] is False
    answer = a.handle_vote({"epoch": 7, "candidate": 2, "last_epoch": -1, "end_offset": 0})
    assert answer == {"epoch": 7, "leader": -1, "granted": True} and a.role is Role.UNATTACHED


def test_a_leader_steps_down_on_a_higher_epoch():
    a, b, c = node(1), node(2), node(3)
    elect(a, b)
    c.handle_begin_epoch(a.begin_epoch_request())
    elect(c, b)  # b and c move on while a does not hear of it
    assert c.role is Role.LEADER and c.epoch == 2
    answer = c.handle_fetch(a.fetch_request(), 0)
    assert answer["error"] == "FencedLeaderEpoch"
    a.handle_fetch_answer(answer)
    assert a.role is Role.FOLLOWER and a.leader_id == 3 and a.epoch == 2


def test_log_matching_truncates_a_divergent_follower():
    # Epoch 1 leader wrote offsets 0-2 and replicated 0-1; offsets 2-4 of the old leader (epoch 2)
    # never reached a majority; the epoch-3 leader wrote its own offsets 2-3.
    old = node(1, [1, 1, 2, 2, 2])
    new = node(2, [1, 1, 3, 3])
    new.epoch = 3
    new.role, new.leader_id = Role.LEADER, 2
    new.progress = {1: ReplicaProgress(), 3: ReplicaProgress()}
    new.epoch_start_offset = 2
    old.observe(3, 2)
    answer = new.handle_fetch(old.fetch_request(), 0)
    assert answer["diverging"] == [1, 2]  # epoch 1 ends at offset 2 on the leader
    assert old.handle_fetch_answer(answer) == "truncated"
    assert old.log.entries == [1, 1]
    replicate(new, old)
    assert old.log.entries == [1, 1, 3, 3]


def test_commit_needs_a_majority():
    a, b, c = node(1), node(2), node(3)
    elect(a, b)
    for f in (b, c):
        f.handle_begin_epoch(a.begin_epoch_request())
    a.log.append(1, 3)
    a.appended()
    assert a.high_watermark == 0  # only the leader has them
    replicate(a, b)
    assert a.high_watermark == 4  # leader and b: 2 of 3
    answer = a.handle_fetch(c.fetch_request(), 0)
    c.handle_fetch_answer(answer)
    assert c.high_watermark == 4


def test_entries_of_an_earlier_epoch_are_not_committed_by_counting():
    """The Raft paper's figure 8: a new leader does not count replicas of an older epoch's entry;
    only once an entry of its own epoch reaches a majority is everything before it committed."""
    leader = node(1, [1, 2])  # offset 1 written in epoch 2, never committed
    follower = node(2, [1, 2])
    leader.epoch = 3
    leader.role, leader.leader_id = Role.LEADER, 1
    leader.progress = {2: ReplicaProgress(), 3: ReplicaProgress()}
    leader.epoch_start_offset = 5  # as if its LeaderChange were still to come at offset 5
    follower.observe(3, 1)
    leader.handle_fetch(follower.fetch_request(), 0)  # the follower has offsets 0-1 too
    assert leader.high_watermark == 0  # 2 of 3 have offset 1, but it is of epoch 2
    leader.epoch_start_offset = leader.log.append_leader_change(3, 1, [1, 2, 3], [1, 2])
    replicate(leader, follower)
    assert leader.high_watermark == 3  # the epoch-3 record commits all before it


def test_a_single_voter_commits_alone():
    a = node(1, voters=(1,))
    a.start_election()
    assert a.role is Role.LEADER
    a.log.append(1, 2)
    a.appended()
    assert a.high_watermark == 3


def test_split_vote_then_a_new_epoch_elects():
    a, b, c = node(1), node(2), node(3)
    ra, rb = a.start_election(), b.start_election()
    a.handle_vote_answer(3, c.handle_vote(ra))
    b.handle_vote_answer(3, c.handle_vote(rb))
    assert a.role is Role.LEADER and b.role is Role.CANDIDATE
    answer = b.handle_vote_answer(1, a.handle_vote(rb))
    assert answer is False and (b.role, b.leader_id) == (Role.FOLLOWER, 1)  # a leads epoch 1
    elect(b, c)  # epoch 2
    assert b.role is Role.LEADER and b.epoch == 2


def test_check_quorum():
    a, b, _c = node(1), node(2), node(3)
    elect(a, b)
    assert a.has_quorum(1000, 3000)
    assert not a.has_quorum(10_000, 3000)  # nobody fetched for longer than the timeout
    b.handle_begin_epoch(a.begin_epoch_request())
    a.handle_fetch(b.fetch_request(), 10_500)
    assert a.has_quorum(11_000, 3000)


@pytest.mark.parametrize("voters", [(1, 2, 3), (1, 2, 3, 4, 5)])
def test_majority_size(voters: tuple[int, ...]):
    assert node(1, voters=voters).majority == len(voters) // 2 + 1


def test_end_quorum_epoch_names_the_most_up_to_date_successor_first():
    """KIP-595's EndQuorumEpoch: a resigning leader lists the other voters by the offset each last
    fetched; its follower learns its place, and only the first stands at once."""
    a, b, c, d, e = (node(i, voters=(1, 2, 3, 4, 5)) for i in range(1, 6))
    elect(a, b, c)
    for follower in (b, c, d, e):
        follower.handle_begin_epoch(a.begin_epoch_request())
    a.log.append(1, 3)
    replicate(a, d)  # d has everything, c a part, b and e nothing
    c.handle_fetch_answer(a.handle_fetch(c.fetch_request(), 0))
    c.log.entries = c.log.entries[:2]
    a.handle_fetch(c.fetch_request(), 0)
    request = a.end_epoch_request()
    assert request == {"epoch": 1, "leader": 1, "preferred_successors": [4, 3, 2, 5]}
    a.resign()
    assert a.role is Role.UNATTACHED and a.leader_id == -1 and a.epoch == 1
    assert [v.handle_end_epoch(request) for v in (d, c, b, e)] == [0, 1, 2, 3]
    assert (d.role, d.leader_id) == (Role.FOLLOWER, 1)  # the node stands; the state just tells when
    assert [end_epoch_backoff_ms(p, 4, 20, 1000) for p in range(5)] == [0, 20, 40, 80, 1000]
    assert end_epoch_backoff_ms(3, 4, 200, 500) == 500  # capped at the election back-off maximum
    # the first successor is electable: its log is the most up to date
    elect(d, b, c)
    assert d.role is Role.LEADER and d.epoch == 2


def test_a_stale_or_own_end_quorum_epoch_changes_nothing():
    a, b, c = node(1), node(2), node(3)
    elect(a, b)
    b.handle_begin_epoch(a.begin_epoch_request())
    stale = a.end_epoch_request()
    c.handle_begin_epoch(a.begin_epoch_request())
    replicate(a, c)
    elect(c, a)  # epoch 2, leader 3
    assert c.role is Role.LEADER and c.epoch == 2
    b.handle_begin_epoch(c.begin_epoch_request())
    assert b.handle_end_epoch(stale) is None
    assert (b.role, b.leader_id, b.epoch) == (Role.FOLLOWER, 3, 2)
    # the resigned leader hears its own EndQuorumEpoch (it follows no one): nothing to do
    resigning = c.end_epoch_request()
    c.resign()
    assert c.handle_end_epoch(resigning) is None and c.role is Role.UNATTACHED
