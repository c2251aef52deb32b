"""Incremental reconciliation of a member towards the target assignment (Kafka's
CurrentAssignmentBuilder).

A member never gets a partition that another member still owns: it first moves to the target
epoch with the partitions that are free, waits for the others (UNRELEASED_PARTITIONS) and gets
the rest once their owners have revoked them. A member that must give partitions up is told to
revoke them and keeps its epoch until its heartbeat no longer lists them (UNREVOKED_PARTITIONS);
only then does it move on. That is what makes a KIP-848 rebalance incremental: members whose
partitions do not move keep consuming throughout.

Pure functions over :class:`~kcli.server.coordinator.consumer_group.Member` values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from kcli.server.coordinator.consumer_group import Member
from kcli.server.coordinator.consumer_group_records import Assignment, MemberState

#: What a heartbeat reports the member owns: (topic id, partitions); None when not reported.
Owned = Sequence[tuple[uuid.UUID, Sequence[int]]] | None


class FencedEpoch(Exception):
    """The member must give up all its partitions and rejoin (FENCED_MEMBER_EPOCH)."""


def owns_any(owned: Owned, revoking: Assignment) -> bool:
    """Whether the member's reported partitions still include one it must revoke; a heartbeat
    that does not report its partitions (None) counts as still owning them."""
    if owned is None:
        return True
    for topic_id, partitions in owned:
        pending = revoking.get(topic_id)
        if pending and any(p in pending for p in partitions):
            return True
    return False


def _next(
    member: Member,
    epoch: int,
    assigned: Assignment,
    target_epoch: int,
    target: Assignment,
    partition_epoch: Callable[[uuid.UUID, int], int],
    owned: Owned,
) -> Member:
    new_assigned: dict[uuid.UUID, frozenset[int]] = {}
    revoking: dict[uuid.UUID, frozenset[int]] = {}
    pending_assignment: dict[uuid.UUID, set[int]] = {}
    unreleased = False
    for topic_id in set(target) | set(assigned):
        wanted = target.get(topic_id, frozenset())
        current = assigned.get(topic_id, frozenset())
        keep = current & wanted
        revoke = current - keep
        incoming = {p for p in wanted - keep if partition_epoch(topic_id, p) == -1}
        if len(incoming) < len(wanted - keep):
            unreleased = True
        if keep:
            new_assigned[topic_id] = keep
        if revoke:
            revoking[topic_id] = revoke
        if incoming:
            pending_assignment[topic_id] = incoming
    if revoking and owns_any(owned, revoking):
        return member.with_assignment(MemberState.UNREVOKED_PARTITIONS, epoch, new_assigned, revoking)
    for topic_id, parts in pending_assignment.items():
        new_assigned[topic_id] = new_assigned.get(topic_id, frozenset()) | parts
    state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
    return member.with_assignment(state, target_epoch, new_assigned, {})


def reconcile(
    member: Member,
    target_epoch: int,
    target: Assignment,
    partition_epoch: Callable[[uuid.UUID, int], int],
    owned: Owned,
) -> Member:
    """The member's next state towards ``target`` (or the member itself when it cannot move).

    ``partition_epoch(topic, partition)`` is the epoch of the partition's current owner, -1 when
    free; ``owned`` is what the member's heartbeat reported (None when it did not report)."""
    state = member.state
    if state is MemberState.STABLE:
        if member.epoch == target_epoch:
            return member
        return _next(member, member.epoch, member.assigned, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNREVOKED_PARTITIONS:
        if owns_any(owned, member.pending_revocation):
            return member
        return _next(member, member.epoch + 1, member.assigned, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNRELEASED_PARTITIONS:
        return _next(member, member.epoch, member.assigned, target_epoch, target, partition_epoch, owned)
    # UNKNOWN: a state written by a newer coordinator; start again from nothing.
    if owned is None or len(owned) > 0:
        raise FencedEpoch(
            "The consumer group member is in a unknown state. The member must abandon all its "
            "partitions and rejoin."
        )
    return _next(member, target_epoch, member.assigned, target_epoch, target, partition_epoch, owned)


def is_reconciled(member: Member, target_epoch: int) -> bool:
    return member.state is MemberState.STABLE and member.epoch == target_epoch
