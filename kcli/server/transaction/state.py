"""The state of one transactional id and the rules for moving it, as Kafka's TransactionMetadata.

A transactional id belongs to one producer id and epoch at a time. Its transaction goes::

    Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn(commit)--> PrepareCommit --markers--> CompleteCommit
                                        Ongoing --EndTxn(abort) / timeout--> PrepareAbort --markers--> CompleteAbort
    Ongoing --InitProducerId from a new instance--> PrepareEpochFence --> PrepareAbort (epoch bumped)
    Empty / CompleteCommit / CompleteAbort --transactional.id.expiration.ms--> Dead (removed)

Every change is made in two steps, as Kafka does: ``prepare_*`` computes the target
(:class:`TxnTransit`) and marks it pending, the target is written to ``__transaction_state``,
and only once that write is acknowledged does :meth:`TransactionMetadata.complete_transition`
apply it. A pending transition makes concurrent requests answer CONCURRENT_TRANSACTIONS. This
module is pure logic (no I/O, no clock), so it is unit-tested directly.

Only transaction version 1 (KIP-98 with KIP-890 part 1 verification) is implemented: the epoch is
bumped by InitProducerId and by fencing, not by every EndTxn (that is KIP-890 part 2, which a
client only uses once the ``transaction.version`` feature is finalized at 2; kcli does not
finalize it). The log format still carries the fields part 2 added, so records stay readable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
MAX_EPOCH = 0x7FFF


class TransactionState(enum.Enum):
    """Kafka's states; ``id`` is what ``__transaction_state`` stores, ``label`` what clients see."""

    EMPTY = (0, "Empty")
    ONGOING = (1, "Ongoing")
    PREPARE_COMMIT = (2, "PrepareCommit")
    PREPARE_ABORT = (3, "PrepareAbort")
    COMPLETE_COMMIT = (4, "CompleteCommit")
    COMPLETE_ABORT = (5, "CompleteAbort")
    DEAD = (6, "Dead")
    PREPARE_EPOCH_FENCE = (7, "PrepareEpochFence")

    def __init__(self, state_id: int, label: str):
        self.id = state_id
        self.label = label

    @classmethod
    def from_id(cls, state_id: int) -> TransactionState:
        for state in cls:
            if state.id == state_id:
                return state
        raise ValueError(f"unknown transaction state id {state_id}")

    @classmethod
    def from_label(cls, label: str) -> TransactionState | None:
        return next((s for s in cls if s.label == label), None)

    @property
    def expiration_allowed(self) -> bool:
        return self in (
            TransactionState.EMPTY,
            TransactionState.COMPLETE_COMMIT,
            TransactionState.COMPLETE_ABORT,
        )

    @property
    def valid_previous(self) -> frozenset[TransactionState]:
        return _VALID_PREVIOUS[self]


S = TransactionState
_VALID_PREVIOUS: dict[TransactionState, frozenset[TransactionState]] = {
    S.EMPTY: frozenset({S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.ONGOING: frozenset({S.ONGOING, S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}),
    S.PREPARE_COMMIT: frozenset({S.ONGOING}),
    S.PREPARE_ABORT: frozenset({S.ONGOING, S.PREPARE_EPOCH_FENCE}),
    S.COMPLETE_COMMIT: frozenset({S.PREPARE_COMMIT}),
    S.COMPLETE_ABORT: frozenset({S.PREPARE_ABORT}),
    S.DEAD: frozenset({S.EMPTY, S.COMPLETE_ABORT, S.COMPLETE_COMMIT}),
    S.PREPARE_EPOCH_FENCE: frozenset({S.ONGOING}),
}

TopicPartition = tuple[str, int]


class IllegalTransitionError(Exception):
    """A transition the state machine forbids: a coordinator bug, never a client's mistake."""


def epoch_exhausted(epoch: int) -> bool:
    """Kafka keeps MAX_EPOCH in reserve so the coordinator can always fence a producer."""
    return epoch >= MAX_EPOCH - 1


@dataclass(frozen=True)
class TxnTransit:
    """The target of a pending transition: what is written to ``__transaction_state``."""

    producer_id: int
    prev_producer_id: int
    next_producer_id: int
    producer_epoch: int
    last_producer_epoch: int
    txn_timeout_ms: int
    state: TransactionState
    partitions: frozenset[TopicPartition]
    txn_start_ms: int
    txn_last_update_ms: int
    client_transaction_version: int = 0


@dataclass(eq=False)
class TransactionMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    txn_timeout_ms: int
    state: TransactionState = TransactionState.EMPTY
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    partitions: set[TopicPartition] = field(default_factory=set)
    txn_start_ms: int = -1
    txn_last_update_ms: int = -1
    client_transaction_version: int = 0
    pending_state: TransactionState | None = None
    # A fence whose log write failed: the epoch was bumped but never given out, so the next fence
    # reuses it instead of bumping again (Kafka's hasFailedEpochFence).
    has_failed_epoch_fence: bool = False

    @property
    def pending(self) -> bool:
        return self.pending_state is not None

    @property
    def epoch_exhausted(self) -> bool:
        return epoch_exhausted(self.producer_epoch)

    @property
    def has_pending_transaction(self) -> bool:
        return self.state in (S.ONGOING, S.PREPARE_ABORT, S.PREPARE_COMMIT)

    def remove_partition(self, tp: TopicPartition) -> None:
        """A marker was written to ``tp``: it no longer waits for one."""
        if self.state not in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
            raise IllegalTransitionError(
                f"{self.transactional_id}: removing {tp} in state {self.state.label}, expected PrepareCommit/Abort"
            )
        self.partitions.discard(tp)

    # --- preparing transitions ------------------------------------------------------------------
    def _prepare(
        self,
        state: TransactionState,
        producer_id: int,
        epoch: int,
        last_epoch: int,
        timeout_ms: int,
        partitions: frozenset[TopicPartition],
        start_ms: int,
        update_ms: int,
    ) -> TxnTransit:
        if self.pending_state is not None:
            raise IllegalTransitionError(
                f"{self.transactional_id}: preparing {state.label} while {self.pending_state.label} is pending"
            )
        if producer_id < 0:
            raise IllegalTransitionError(f"illegal new producer id {producer_id}")
        if state is not S.DEAD and epoch < 0:
            raise IllegalTransitionError(f"illegal new producer epoch {epoch}")
        if self.state not in state.valid_previous:
            raise IllegalTransitionError(
                f"{self.transactional_id}: {state.label} cannot follow {self.state.label}"
            )
        self.pending_state = state
        return TxnTransit(
            producer_id,
            self.producer_id,
            NO_PRODUCER_ID,
            epoch,
            last_epoch,
            timeout_ms,
            state,
            partitions,
            start_ms,
            update_ms,
        )

    def prepare_fence_producer_epoch(self) -> TxnTransit:
        """Bump the epoch to fence the current producer before aborting its transaction."""
        if self.producer_epoch == MAX_EPOCH:
            raise IllegalTransitionError("cannot fence a producer whose epoch is already the maximum")
        bumped = self.producer_epoch if self.has_failed_epoch_fence else self.producer_epoch + 1
        return self._prepare(
            S.PREPARE_EPOCH_FENCE,
            self.producer_id,
            bumped,
            NO_PRODUCER_EPOCH,
            self.txn_timeout_ms,
            frozenset(self.partitions),
            self.txn_start_ms,
            self.txn_last_update_ms,
        )

    def prepare_increment_producer_epoch(
        self, timeout_ms: int, expected_epoch: int | None, now_ms: int
    ) -> TxnTransit | int:
        """InitProducerId: the next epoch, or PRODUCER_FENCED (returned as its error code) when the
        caller's expected epoch is neither current nor the previous one (a retry)."""
        from kcli.server.transaction.errors import PRODUCER_FENCED

        if self.epoch_exhausted:
            raise IllegalTransitionError(f"no epochs left for producer id {self.producer_id}")
        bumped = self.producer_epoch + 1
        if expected_epoch is None:
            epoch, last = bumped, NO_PRODUCER_EPOCH
        elif self.producer_epoch == NO_PRODUCER_EPOCH or expected_epoch == self.producer_epoch:
            epoch, last = bumped, self.producer_epoch
        elif expected_epoch == self.last_producer_epoch:
            epoch, last = self.producer_epoch, self.last_producer_epoch  # a retry of a call that worked
        else:
            return PRODUCER_FENCED
        return self._prepare(S.EMPTY, self.producer_id, epoch, last, timeout_ms, frozenset(), -1, now_ms)

    def prepare_producer_id_rotation(
        self, new_producer_id: int, timeout_ms: int, now_ms: int, record_last_epoch: bool
    ) -> TxnTransit:
        """The epochs of this producer id are used up: continue under a fresh id at epoch 0."""
        if self.has_pending_transaction:
            raise IllegalTransitionError("cannot rotate producer ids while a transaction is pending")
        last = self.producer_epoch if record_last_epoch else NO_PRODUCER_EPOCH
        return self._prepare(S.EMPTY, new_producer_id, 0, last, timeout_ms, frozenset(), -1, now_ms)

    def prepare_add_partitions(self, added: set[TopicPartition], now_ms: int) -> TxnTransit:
        start = now_ms if self.state in (S.EMPTY, S.COMPLETE_ABORT, S.COMPLETE_COMMIT) else self.txn_start_ms
        return self._prepare(
            S.ONGOING,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.txn_timeout_ms,
            frozenset(self.partitions | added),
            start,
            now_ms,
        )

    def prepare_abort_or_commit(self, state: TransactionState, now_ms: int) -> TxnTransit:
        return self._prepare(
            state,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.txn_timeout_ms,
            frozenset(self.partitions),
            self.txn_start_ms,
            now_ms,
        )

    def prepare_complete(self, now_ms: int) -> TxnTransit:
        state = S.COMPLETE_COMMIT if self.state is S.PREPARE_COMMIT else S.COMPLETE_ABORT
        self.has_failed_epoch_fence = False  # the fence reached the log
        return self._prepare(
            state,
            self.producer_id,
            self.producer_epoch,
            self.producer_epoch,
            self.txn_timeout_ms,
            frozenset(),
            self.txn_start_ms,
            now_ms,
        )

    def prepare_dead(self) -> TxnTransit:
        return self._prepare(
            S.DEAD,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.txn_timeout_ms,
            frozenset(),
            self.txn_start_ms,
            self.txn_last_update_ms,
        )

    # --- completing a transition once it is in the log --------------------------------------------
    def complete_transition(self, t: TxnTransit) -> None:
        target = self.pending_state
        if target is None or target is not t.state:
            raise IllegalTransitionError(
                f"{self.transactional_id}: completing {t.state.label}, pending "
                f"{target.label if target else 'nothing'}"
            )
        if target is S.EMPTY:
            bump_ok = t.producer_epoch == self.producer_epoch + 1 or (
                t.producer_epoch == 0 and t.producer_id != self.producer_id
            )
            if (
                (t.producer_epoch != self.producer_epoch and not bump_ok)
                or t.partitions
                or t.txn_start_ms != -1
            ):
                raise IllegalTransitionError(f"{self.transactional_id}: bad InitProducerId transition {t}")
            self.txn_timeout_ms = t.txn_timeout_ms
            self.producer_epoch = t.producer_epoch
            self.last_producer_epoch = t.last_producer_epoch
            self.producer_id = t.producer_id
            self.previous_producer_id = t.prev_producer_id
        elif target is S.ONGOING:
            if not self._same_producer(t) or not self.partitions <= t.partitions:
                raise IllegalTransitionError(f"{self.transactional_id}: bad AddPartitions transition {t}")
            self.txn_start_ms = t.txn_start_ms
            self.partitions |= t.partitions
        elif target in (S.PREPARE_ABORT, S.PREPARE_COMMIT):
            if not self._same_producer(t) or set(t.partitions) != self.partitions:
                raise IllegalTransitionError(f"{self.transactional_id}: bad EndTxn transition {t}")
        elif target in (S.COMPLETE_ABORT, S.COMPLETE_COMMIT):
            if not self._same_producer(t) or t.txn_start_ms == -1:
                raise IllegalTransitionError(f"{self.transactional_id}: bad completion {t}")
            self.txn_start_ms = t.txn_start_ms
            self.partitions.clear()
        else:  # PrepareEpochFence turns into PrepareAbort before it is written; Dead is removed
            raise IllegalTransitionError(f"{self.transactional_id}: {target.label} is never completed")
        self.client_transaction_version = t.client_transaction_version
        self.txn_last_update_ms = t.txn_last_update_ms
        self.pending_state = None
        self.state = target

    def _same_producer(self, t: TxnTransit) -> bool:
        return t.producer_epoch == self.producer_epoch and t.producer_id == self.producer_id

    def __repr__(self) -> str:
        return (
            f"TransactionMetadata(transactionalId={self.transactional_id}, producerId={self.producer_id}, "
            f"producerEpoch={self.producer_epoch}, txnTimeoutMs={self.txn_timeout_ms}, state={self.state.label}, "
            f"pendingState={self.pending_state.label if self.pending_state else None}, "
            f"topicPartitions={sorted(self.partitions)}, txnStartTimestamp={self.txn_start_ms}, "
            f"txnLastUpdateTimestamp={self.txn_last_update_ms})"
        )
