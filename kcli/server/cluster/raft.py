"""Raft for the metadata log, as KRaft runs it (KIP-595): the state machine, without any I/O.

Roles and transitions follow the Raft paper (Ongaro and Ousterhout, "In Search of an
Understandable Consensus Algorithm", 2014) in KIP-595's pull-based form:

- **Epochs** are Raft's terms. A voter that sees a higher epoch in any request or answer moves to
  it (unattached, or following the leader it names) and persists that before it answers.
- **Election**: a follower that hears nothing from its leader for the fetch timeout, or an
  unattached voter after its (randomised) election timeout, becomes a candidate: epoch + 1, a vote
  for itself (persisted), Vote requests to the others carrying its last epoch and log end. A voter
  grants at most one vote per epoch, and only to a candidate whose log is at least as up to date
  as its own - (last epoch, end offset) compared in that order (the paper's section 5.4.1). A
  majority of the voters elects it.
- **Leader**: it opens its epoch with a LeaderChange control record and tells the others
  (BeginQuorumEpoch). Followers *pull* (KIP-595's Fetch: the next offset and the epoch of their
  last record); the leader checks that pair against its own epochs and answers either records, or
  a diverging epoch and its end offset (the follower truncates to the common prefix and fetches
  again - the paper's log matching, done by the follower), or a snapshot id when the offset is no
  longer in its log (KIP-630's FetchSnapshot).
- **Commit**: a follower's fetch offset is its log end; the high watermark is the largest offset
  a majority of voters have, and it only moves once it covers a record of the leader's current
  epoch (the LeaderChange record), so no entry of an older term is ever counted committed by
  replica counting alone (the paper's figure 8).
- **Check quorum**: a leader that has not been fetched from by a majority for a fetch timeout and
  a half resigns (KIP-595), so a partitioned leader stops answering brokers.
- **Graceful resignation** (KIP-595's EndQuorumEpoch): a leader that stops cleanly resigns and
  tells the voters, naming its preferred successors - the other voters, most up to date first (by
  the offset each last fetched). A follower of that leader in that epoch stands for election
  after a back-off that grows with its place in that list (none for the first, KafkaRaftClient's
  strict exponential back-off for the others), instead of waiting out the fetch timeout, so the
  most up-to-date voter usually stands alone and a clean stop fails over in milliseconds.

- **Voter changes** (KIP-853's AddRaftVoter and RemoveRaftVoter, Raft's single-server membership
  change, section 4.1 of Ongaro's thesis): only the leader changes the set, one voter at a time,
  and only once it has committed a record of its own epoch and no earlier VotersRecord is still
  uncommitted (one change at a time is what keeps any two consecutive majorities overlapping). A
  voter to add must be an observer fetching from the leader and caught up with its log end. The
  new set takes effect as soon as its VotersRecord is appended (on the leader, and on each
  follower when it appends it, reverting if it is truncated away); a leader that removed itself
  keeps leading, without counting itself in majorities, until that record is committed, then
  resigns.
- **Observers**: a replica outside the voter set fetches the log like a follower but never
  stands for election nor grants a vote; the leader tracks how far it has fetched (DescribeQuorum's
  observers, and the caught-up rule above).

The I/O around it (connections, timers, the log on disk) is ``raft_node``; this module only
decides, so it can be tested as Raft is tested: elections, log matching, truncation and commit
rules on in-memory logs (tests/server/cluster/test_raft_unit.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from kcli.server.cluster.quorum_state import ElectionState

MAX_OBSERVERS = 1000  # replicas outside the voter set the leader keeps track of


class Role(Enum):
    UNATTACHED = "Unattached"
    FOLLOWER = "Follower"
    CANDIDATE = "Candidate"
    LEADER = "Leader"


class RaftLog(Protocol):
    """What Raft needs of a log (the metadata log on disk, or a list in tests)."""

    @property
    def end_offset(self) -> int: ...

    @property
    def start_offset(self) -> int: ...

    def last_epoch(self) -> int:
        """The epoch of the last record (or of the snapshot when the log is empty); -1 when none."""

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(largest epoch <= ``epoch``, the offset where the next epoch starts, or the log end)."""

    def truncate_to(self, offset: int) -> None: ...

    def read_raw(self, offset: int) -> Any:
        """Records from ``offset`` (a bounded page), in a form ``append_fetched`` takes."""

    def append_fetched(self, records: Any) -> None:
        """A follower's append of what its leader's fetch answer brought."""

    def append_leader_change(self, epoch: int, leader: int, voters: list[int], granting: list[int]) -> int:
        """Open ``epoch`` with a LeaderChange control record; returns its offset."""

    def snapshot_id(self) -> tuple[int, int] | None:
        """(end offset, epoch) of the latest snapshot."""

    @property
    def high_watermark(self) -> int: ...

    @high_watermark.setter
    def high_watermark(self, value: int) -> None: ...


class StateStore(Protocol):
    def read(self) -> ElectionState: ...

    def write(self, state: ElectionState) -> None: ...


@dataclass
class ReplicaProgress:
    """The leader's view of one replica (a voter, or an observer in DescribeQuorum)."""

    end_offset: int = -1
    last_fetch_ms: int = -1
    last_caught_up_ms: int = -1


def end_epoch_backoff_ms(position: int, successors: int, retry_backoff_ms: int, backoff_max_ms: int) -> int:
    """How long a follower waits before standing after its leader's EndQuorumEpoch, from its
    place among the preferred successors: the first stands at once, the others after a strict
    exponential back-off (retry back-off x 2^(place-1), capped at the election back-off maximum,
    which is also what a voter outside the list waits) - KafkaRaftClient's rule, so the most up-
    to-date voter gets a head start."""
    if position <= 0:
        return 0
    if position >= successors:
        return backoff_max_ms
    return min(backoff_max_ms, retry_backoff_ms * 2 ** (position - 1))


class VoterChangeError(Exception):
    """A refused AddRaftVoter/RemoveRaftVoter: ``error`` is the name of Kafka's error code."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error
        self.message = message


class RaftState:
    def __init__(self, node_id: int, voters: list[int], log: RaftLog, store: StateStore):
        self.node_id = node_id
        self.voters = sorted(voters)
        self.log = log
        self.store = store
        saved = store.read()
        self.epoch = saved.epoch
        self.voted_id = saved.voted_id
        self.leader_id = -1  # a restarted voter learns the leader again (Kafka restarts unattached)
        self.role = Role.UNATTACHED
        self.votes: set[int] = set()
        self.progress: dict[int, ReplicaProgress] = {}
        self.epoch_start_offset = -1
        self.last_majority_fetch_ms = 0
        self.observers: dict[int, ReplicaProgress] = {}  # the leader's view of non-voters
        self.voters_offset = -1  # offset of the latest VotersRecord appended (-1: none)

    @property
    def is_voter(self) -> bool:
        return self.node_id in self.voters

    # --- helpers -----------------------------------------------------------------------------
    @property
    def majority(self) -> int:
        return len(self.voters) // 2 + 1

    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark

    def _persist(self) -> None:
        self.store.write(ElectionState(self.epoch, self.leader_id, self.voted_id))

    def _log_is_up_to_date(self, last_epoch: int, end_offset: int) -> bool:
        return (last_epoch, end_offset) >= (self.log.last_epoch(), self.log.end_offset)

    def observe(self, epoch: int, leader_id: int = -1) -> bool:
        """Another voter's epoch (and leader, when it names one): a higher epoch is adopted
        (persisted first); a known leader of the current epoch is followed. True if anything
        changed."""
        if epoch > self.epoch:
            self.epoch = epoch
            self.voted_id = -1
            self.leader_id = leader_id
            self.role = Role.FOLLOWER if leader_id >= 0 else Role.UNATTACHED
            self.votes.clear()
            self._persist()
            return True
        if (
            epoch == self.epoch
            and leader_id >= 0
            and self.role != Role.FOLLOWER
            and leader_id != self.node_id
        ):
            self.leader_id = leader_id
            self.role = Role.FOLLOWER
            self._persist()
            return True
        return False

    # --- elections ---------------------------------------------------------------------------
    def start_election(self) -> dict[str, Any]:
        """Become a candidate in a new epoch; the Vote request to send to every other voter."""
        if not self.is_voter:
            raise VoterChangeError("InvalidRequest", f"node {self.node_id} is an observer: it never stands")
        self.epoch += 1
        self.role = Role.CANDIDATE
        self.voted_id = self.node_id
        self.leader_id = -1
        self.votes = {self.node_id}
        self._persist()
        if len(self.votes) >= self.majority:
            self.become_leader()
        return {
            "epoch": self.epoch,
            "candidate": self.node_id,
            "last_epoch": self.log.last_epoch(),
            "end_offset": self.log.end_offset,
        }

    def handle_vote(self, request: dict[str, Any]) -> dict[str, Any]:
        """A candidate asks for this voter's vote in its epoch."""
        epoch, candidate = int(request["epoch"]), int(request["candidate"])
        if epoch < self.epoch:
            return {"epoch": self.epoch, "leader": self.leader_id, "granted": False}
        self.observe(epoch)
        granted = (
            self.role != Role.LEADER
            and self.is_voter
            and self.leader_id < 0
            and self.voted_id in (-1, candidate)
            and candidate in self.voters
            and self._log_is_up_to_date(int(request["last_epoch"]), int(request["end_offset"]))
        )
        if granted and self.voted_id != candidate:
            self.voted_id = candidate
            self._persist()  # before the answer: a vote is never given twice in one epoch
        return {"epoch": self.epoch, "leader": self.leader_id, "granted": granted}

    def handle_vote_answer(self, voter: int, answer: dict[str, Any]) -> bool:
        """A voter's answer; True when this candidate has just become the leader."""
        if self.observe(int(answer["epoch"]), int(answer.get("leader", -1))):
            return False
        if self.role != Role.CANDIDATE or int(answer["epoch"]) != self.epoch or not answer.get("granted"):
            return False
        if voter not in self.voters:  # a vote counts only from the current set (KIP-853)
            return False
        self.votes.add(voter)
        if len(self.votes) >= self.majority:
            self.become_leader()
            return True
        return False

    def become_leader(self, now_ms: int = 0) -> None:
        self.role = Role.LEADER
        self.leader_id = self.node_id
        self._persist()
        self.progress = {v: ReplicaProgress() for v in self.voters if v != self.node_id}
        self.observers = {}
        self.last_majority_fetch_ms = now_ms
        self.epoch_start_offset = self.log.append_leader_change(
            self.epoch, self.node_id, self.voters, sorted(self.votes)
        )
        self._advance_high_watermark()

    def begin_epoch_request(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "leader": self.node_id}

    def handle_begin_epoch(self, request: dict[str, Any]) -> dict[str, Any]:
        """The new leader of an epoch announces itself (KIP-595's BeginQuorumEpoch)."""
        self.observe(int(request["epoch"]), int(request["leader"]))
        return {"epoch": self.epoch, "leader": self.leader_id}

    def end_epoch_request(self) -> dict[str, Any]:
        """EndQuorumEpoch of a resigning leader: its epoch, itself, and the preferred successors
        (the other voters by the offset they last fetched, highest first; ties by id)."""
        successors = sorted(
            (v for v in self.voters if v != self.node_id),
            key=lambda v: (-self.progress.get(v, ReplicaProgress()).end_offset, v),
        )
        return {"epoch": self.epoch, "leader": self.node_id, "preferred_successors": successors}

    def handle_end_epoch(self, request: dict[str, Any]) -> int | None:
        """A leader resigns (KIP-595's EndQuorumEpoch). A follower of that leader in that epoch
        gets its place among the preferred successors (their count when it is not listed): the
        caller stands for election after :func:`end_epoch_backoff_ms` of it. None: the request
        is stale or this voter does not follow that leader (nothing to do)."""
        epoch, leader = int(request["epoch"]), int(request["leader"])
        if epoch < self.epoch:
            return None
        self.observe(epoch, leader)
        if self.role != Role.FOLLOWER or self.leader_id != leader or self.epoch != epoch:
            return None
        successors = [int(v) for v in request.get("preferred_successors", [])]
        return successors.index(self.node_id) if self.node_id in successors else len(successors)

    def lose_leader(self) -> None:
        """An observer that cannot reach its leader looks for it again (no election)."""
        if self.role == Role.FOLLOWER:
            self.role = Role.UNATTACHED
            self.leader_id = -1

    def resign(self) -> None:
        """A leader without a quorum (or stopping) steps down; the epoch stays."""
        if self.role == Role.LEADER:
            self.role = Role.UNATTACHED
            self.leader_id = -1
            self._persist()

    # --- replication (leader side) -----------------------------------------------------------
    def handle_fetch(self, request: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """A follower's (or an observer's) Fetch: records, a diverging epoch, or a snapshot id."""
        epoch = int(request["epoch"])
        base = {"epoch": self.epoch, "leader": self.leader_id}
        if self.role != Role.LEADER:
            return {**base, "error": "NotLeader"}
        if epoch < self.epoch:
            return {**base, "error": "FencedLeaderEpoch"}
        if epoch > self.epoch:  # cannot be: a newer leader would have told us; let the caller retry
            return {**base, "error": "UnknownLeaderEpoch"}
        replica = int(request["replica"])
        offset, last_epoch = int(request["offset"]), int(request["last_epoch"])
        snapshot = self.log.snapshot_id()
        if offset < self.log.start_offset and snapshot is not None:
            return {**base, "snapshot": list(snapshot), "hw": self.high_watermark}
        if offset > 0 and last_epoch >= 0:
            found_epoch, end = self.log.end_offset_for_epoch(last_epoch)
            if found_epoch != last_epoch or end < offset:
                return {**base, "diverging": [found_epoch, max(end, 0)], "hw": self.high_watermark}
        if offset > self.log.end_offset:
            return {
                **base,
                "diverging": [self.log.last_epoch(), self.log.end_offset],
                "hw": self.high_watermark,
            }
        if replica != self.node_id:
            if (
                replica not in self.progress
                and replica not in self.observers
                and len(self.observers) >= MAX_OBSERVERS
            ):
                # bounded whatever replica ids fetches claim: the longest silent one is forgotten
                del self.observers[min(self.observers, key=lambda r: self.observers[r].last_fetch_ms)]
            progress = self.progress.get(replica) or self.observers.setdefault(replica, ReplicaProgress())
            progress.end_offset = offset
            progress.last_fetch_ms = now_ms
            if offset >= self.log.end_offset:
                progress.last_caught_up_ms = now_ms
            self._advance_high_watermark()
        return {**base, "records": self.log.read_raw(offset), "hw": self.high_watermark}

    def _advance_high_watermark(self) -> None:
        # A leader that removed itself manages the quorum without counting itself (the thesis).
        own = [self.log.end_offset] if self.is_voter else []
        ends = sorted(own + [p.end_offset for p in self.progress.values()], reverse=True)
        if len(ends) < self.majority:
            return
        candidate = ends[self.majority - 1]
        # Only an offset past the leader's own LeaderChange record commits by counting.
        if candidate > self.epoch_start_offset and candidate > self.log.high_watermark:
            self.log.high_watermark = candidate

    def appended(self) -> None:
        """The leader appended records: with one voter they are committed at once."""
        if self.role == Role.LEADER:
            self._advance_high_watermark()

    def has_quorum(self, now_ms: int, timeout_ms: int) -> bool:
        """Check quorum: a majority (counting the leader) fetched within ``timeout_ms``."""
        fresh = int(self.is_voter) + sum(
            1
            for p in self.progress.values()
            if p.last_fetch_ms >= 0 and now_ms - p.last_fetch_ms <= timeout_ms
        )
        if fresh >= self.majority:
            self.last_majority_fetch_ms = now_ms
            return True
        return now_ms - self.last_majority_fetch_ms <= timeout_ms

    # --- voter changes (KIP-853) -------------------------------------------------------------
    @property
    def voter_change_pending(self) -> bool:
        """A VotersRecord is appended but not yet committed."""
        return self.voters_offset >= self.log.high_watermark

    def _check_can_change(self, what: str) -> None:
        if self.role != Role.LEADER:
            raise VoterChangeError("NotLeaderOrFollower", f"Node {self.node_id} is not the leader")
        if self.log.high_watermark <= self.epoch_start_offset:
            raise VoterChangeError(
                "RequestTimedOut",
                f"Cannot {what} a voter: the leader has not committed an offset in its epoch {self.epoch} yet",
            )
        if self.voter_change_pending:
            raise VoterChangeError(
                "RequestTimedOut",
                f"Cannot {what} a voter: the previous voter change (offset {self.voters_offset}) "
                "is not committed yet",
            )

    def check_add_voter(self, voter_id: int, now_ms: int, caught_up_ms: int) -> None:
        """Raises :class:`VoterChangeError` unless ``voter_id`` may join now: this is the leader,
        it has committed in its epoch, no change is pending, the replica is not a voter already,
        and it is an observer that has fetched up to the leader's log end within
        ``caught_up_ms`` (Kafka's AddVoterHandler, errors named as Kafka's)."""
        self._check_can_change("add")
        if voter_id in self.voters:
            raise VoterChangeError(
                "DuplicateVoter", f"The voter id {voter_id} is already part of the set of voters"
            )
        progress = self.observers.get(voter_id)
        if progress is None or progress.last_fetch_ms < 0:
            raise VoterChangeError(
                "RequestTimedOut",
                f"The new voter {voter_id} is not an observer fetching from the leader {self.node_id}",
            )
        if progress.last_caught_up_ms < 0 or now_ms - progress.last_caught_up_ms > caught_up_ms:
            raise VoterChangeError(
                "RequestTimedOut",
                f"The new voter {voter_id} is not caught up with the leader's log "
                f"(it fetched offset {progress.end_offset}, the log ends at {self.log.end_offset})",
            )

    def check_remove_voter(self, voter_id: int) -> None:
        """Raises :class:`VoterChangeError` unless ``voter_id`` may leave now (the leader itself
        may: it resigns once the change is committed)."""
        self._check_can_change("remove")
        if voter_id not in self.voters:
            raise VoterChangeError(
                "VoterNotFound", f"The voter id {voter_id} is not part of the set of voters"
            )
        if len(self.voters) == 1:
            raise VoterChangeError("InvalidRequest", "Cannot remove the only voter of the quorum")

    def set_voters(self, voters: list[int], offset: int = -1) -> None:
        """A VotersRecord at ``offset`` was appended (or truncated away, restoring an older set):
        the set takes effect at once. The leader keeps its view of every replica it knew."""
        self.voters = sorted(voters)
        self.voters_offset = offset
        if self.role == Role.LEADER:
            known = {**self.observers, **self.progress}
            self.progress = {v: known.get(v, ReplicaProgress()) for v in self.voters if v != self.node_id}
            self.observers = {r: p for r, p in known.items() if r not in self.voters}
            self._advance_high_watermark()

    def removed_and_committed(self) -> bool:
        """The leader removed itself and that change is committed: time to resign."""
        return self.role == Role.LEADER and not self.is_voter and not self.voter_change_pending

    # --- replication (follower side) ---------------------------------------------------------
    def fetch_request(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "replica": self.node_id,
            "offset": self.log.end_offset,
            "last_epoch": self.log.last_epoch(),
        }

    def handle_fetch_answer(self, answer: dict[str, Any]) -> str:
        """Apply the leader's answer; returns what happened: "records", "truncated",
        "snapshot" (the caller installs it, then fetches again), "stale" or an error name."""
        self.observe(int(answer["epoch"]), int(answer.get("leader", -1)))
        if answer.get("error"):
            return str(answer["error"])
        if int(answer["epoch"]) != self.epoch or self.role != Role.FOLLOWER:
            return "stale"
        if "diverging" in answer:
            epoch, end = (int(x) for x in answer["diverging"])
            own_epoch, own_end = self.log.end_offset_for_epoch(epoch)
            target = min(end, own_end) if own_epoch >= 0 else 0
            self.log.truncate_to(max(target, 0))
            return "truncated"
        if "snapshot" in answer:
            return "snapshot"
        self.log.append_fetched(answer["records"])
        self.log.high_watermark = max(self.log.high_watermark, min(int(answer["hw"]), self.log.end_offset))
        return "records"
