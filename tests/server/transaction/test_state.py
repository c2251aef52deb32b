"""Unit tests of the transaction state machine (pure logic, no broker): Kafka's transitions,
fencing and epoch rules from TransactionMetadata."""

from __future__ import annotations

import pytest

from kcli.server.transaction import errors as E
from kcli.server.transaction.state import (
    MAX_EPOCH,
    IllegalTransitionError,
    TransactionMetadata,
    TransactionState,
)

S = TransactionState


def fresh(epoch: int = -1) -> TransactionMetadata:
    return TransactionMetadata(
        "tx", producer_id=7, producer_epoch=epoch, txn_timeout_ms=60_000, txn_last_update_ms=0
    )


def apply(m: TransactionMetadata, transit) -> TransactionMetadata:
    m.complete_transition(transit)
    return m


def test_a_transaction_goes_through_kafkas_states():
    m = fresh()
    apply(m, m.prepare_increment_producer_epoch(60_000, None, 1))
    assert (m.state, m.producer_epoch, m.last_producer_epoch) == (S.EMPTY, 0, -1)
    apply(m, m.prepare_add_partitions({("t", 0)}, 10))
    assert m.state is S.ONGOING and m.partitions == {("t", 0)} and m.txn_start_ms == 10
    apply(m, m.prepare_add_partitions({("t", 1)}, 20))
    assert m.partitions == {("t", 0), ("t", 1)} and m.txn_start_ms == 10  # start stays
    apply(m, m.prepare_abort_or_commit(S.PREPARE_COMMIT, 30))
    assert m.state is S.PREPARE_COMMIT
    complete = m.prepare_complete(40)
    assert m.pending_state is S.COMPLETE_COMMIT
    m.remove_partition(("t", 0))
    m.remove_partition(("t", 1))
    apply(m, complete)
    assert m.state is S.COMPLETE_COMMIT and not m.partitions and m.txn_last_update_ms == 40
    # the next transaction starts from CompleteCommit with a new start time
    apply(m, m.prepare_add_partitions({("t", 2)}, 50))
    assert m.state is S.ONGOING and m.txn_start_ms == 50


def test_a_pending_transition_blocks_another():
    m = fresh(0)
    m.prepare_add_partitions({("t", 0)}, 1)
    with pytest.raises(IllegalTransitionError):
        m.prepare_add_partitions({("t", 1)}, 2)


def test_illegal_transitions_are_refused():
    m = fresh(0)
    with pytest.raises(IllegalTransitionError):
        m.prepare_abort_or_commit(S.PREPARE_COMMIT, 1)  # Empty cannot commit
    m.pending_state = None
    with pytest.raises(IllegalTransitionError):
        m.remove_partition(("t", 0))  # markers only in PrepareCommit/PrepareAbort


def test_fencing_bumps_the_epoch_and_a_failed_fence_reuses_it():
    m = fresh(3)
    apply(m, m.prepare_add_partitions({("t", 0)}, 1))
    fence = m.prepare_fence_producer_epoch()
    assert fence.state is S.PREPARE_EPOCH_FENCE and fence.producer_epoch == 4
    m.pending_state = None
    m.has_failed_epoch_fence = True
    assert m.prepare_fence_producer_epoch().producer_epoch == 3


def test_init_producer_id_epochs_follow_kip_360():
    m = fresh(5)
    m.last_producer_epoch = 4
    assert m.prepare_increment_producer_epoch(1000, 5, 1).producer_epoch == 6  # current epoch: bump
    m.pending_state = None
    retry = m.prepare_increment_producer_epoch(1000, 4, 1)  # the previous epoch: a retry, no bump
    assert (retry.producer_epoch, retry.last_producer_epoch) == (5, 4)
    m.pending_state = None
    assert m.prepare_increment_producer_epoch(1000, 2, 1) == E.PRODUCER_FENCED


def test_exhausted_epochs_rotate_the_producer_id():
    m = fresh(MAX_EPOCH - 1)
    assert m.epoch_exhausted
    t = m.prepare_producer_id_rotation(99, 1000, 1, record_last_epoch=True)
    apply(m, t)
    assert (m.producer_id, m.producer_epoch, m.previous_producer_id) == (99, 0, 7)


def test_state_ids_and_labels_are_kafkas():
    assert [(s.id, s.label) for s in S] == [
        (0, "Empty"),
        (1, "Ongoing"),
        (2, "PrepareCommit"),
        (3, "PrepareAbort"),
        (4, "CompleteCommit"),
        (5, "CompleteAbort"),
        (6, "Dead"),
        (7, "PrepareEpochFence"),
    ]
    assert S.from_label("Ongoing") is S.ONGOING and S.from_label("Nope") is None
    assert {s for s in S if s.expiration_allowed} == {S.EMPTY, S.COMPLETE_COMMIT, S.COMPLETE_ABORT}
