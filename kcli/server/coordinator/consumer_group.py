"""The state of one KIP-848 consumer group, built only by replaying its records.

As in Kafka's group coordinator, every change to a consumer group is a list of
:mod:`consumer_group_records` records: the coordinator appends them to ``__consumer_offsets`` and
applies them here with :meth:`ConsumerGroup.replay`, and loading a partition after a restart or a
failover replays the same records from the log. So the in-memory group is always what the log
says, and there is one code path for both.

Derived state (who owns which partition at which epoch, static members by instance id) is kept
up to date by the replay; soft state (timers, the rebalance timeline) lives in the coordinator.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from kcli.server.coordinator.consumer_group_records import (
    CURRENT_ASSIGNMENT,
    EMPTY,
    GROUP_EPOCH,
    MEMBER_METADATA,
    SUBSCRIPTION_METADATA,
    TARGET_ASSIGNMENT_EPOCH,
    TARGET_ASSIGNMENT_MEMBER,
    Assignment,
    CurrentAssignment,
    MemberState,
    Record,
    Subscription,
    TopicMetadata,
)

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")

CONSUMER_PROTOCOL_TYPE = "consumer"
LEAVE_GROUP_EPOCH = -1
LEAVE_GROUP_STATIC_EPOCH = -2


class ConsumerGroupState(enum.Enum):
    """Kafka's consumer group states; ``value`` is what clients display."""

    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True)
class Member:
    """A member of a consumer group: its subscription record and its current assignment record."""

    member_id: str
    subscription: Subscription = field(default_factory=Subscription)
    epoch: int = 0
    previous_epoch: int = -1
    state: MemberState = MemberState.STABLE
    assigned: Assignment = field(default_factory=dict)
    pending_revocation: Assignment = field(default_factory=dict)

    @property
    def instance_id(self) -> str | None:
        return self.subscription.instance_id

    @property
    def uses_classic_protocol(self) -> bool:
        return self.subscription.classic is not None

    @property
    def rebalance_timeout_ms(self) -> int:
        return self.subscription.rebalance_timeout_ms

    def is_reconciled_to(self, target_epoch: int) -> bool:
        return self.state is MemberState.STABLE and self.epoch == target_epoch

    def with_assignment(
        self, state: MemberState, epoch: int, assigned: Assignment, revoking: Assignment
    ) -> Member:
        """The member after a reconciliation step (Kafka's ``updateMemberEpoch``: the previous
        epoch becomes the one it had)."""
        return dataclasses.replace(
            self,
            state=state,
            previous_epoch=self.epoch,
            epoch=epoch,
            assigned=dict(assigned),
            pending_revocation=dict(revoking),
        )

    def current_assignment(self) -> CurrentAssignment:
        return CurrentAssignment(
            self.epoch, self.previous_epoch, self.state, self.assigned, self.pending_revocation
        )

    def partition_count(self) -> int:
        return sum(len(p) for p in self.assigned.values())


class ConsumerGroup:
    """The hard state of a consumer group (what its records say) and rules over it."""

    def __init__(self, group_id: str):
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = -1
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}  # instance id -> member id
        self.target: dict[str, Assignment] = {}
        self.subscription_metadata: dict[str, TopicMetadata] = {}
        # (topic id, partition) -> epoch of the member owning it (assigned or being revoked)
        self.partition_epochs: dict[tuple[uuid.UUID, int], int] = {}

    # --- state -----------------------------------------------------------------------------------
    @property
    def state(self) -> ConsumerGroupState:
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        if any(not m.is_reconciled_to(self.assignment_epoch) for m in self.members.values()):
            return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    def snapshot(self) -> dict[str, Any]:
        """A copy of the hard state, to undo a change whose records were not acknowledged."""
        return {
            "group_epoch": self.group_epoch,
            "assignment_epoch": self.assignment_epoch,
            "members": dict(self.members),
            "static_members": dict(self.static_members),
            "target": dict(self.target),
            "subscription_metadata": dict(self.subscription_metadata),
            "partition_epochs": dict(self.partition_epochs),
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        for name, value in snapshot.items():
            setattr(self, name, value)

    # --- lookups ---------------------------------------------------------------------------------
    def partition_epoch(self, topic_id: uuid.UUID, partition: int) -> int:
        return self.partition_epochs.get((topic_id, partition), -1)

    def static_member(self, instance_id: str | None) -> Member | None:
        if instance_id is None:
            return None
        member_id = self.static_members.get(instance_id)
        return None if member_id is None else self.members.get(member_id)

    def target_of(self, member_id: str) -> Assignment:
        return self.target.get(member_id, EMPTY)

    def subscribed_topic_names(self, exclude: str | None = None) -> set[str]:
        names: set[str] = set()
        for member in self.members.values():
            if member.member_id != exclude:
                names.update(member.subscription.topic_names)
        return names

    def subscribed_regexes(self, exclude: str | None = None) -> set[str]:
        return {
            m.subscription.topic_regex
            for m in self.members.values()
            if m.subscription.topic_regex and m.member_id != exclude
        }

    def preferred_assignor(self) -> str | None:
        """The server assignor most members asked for (Kafka's computePreferredServerAssignor)."""
        counts: dict[str, int] = {}
        for m in self.members.values():
            if m.subscription.server_assignor:
                counts[m.subscription.server_assignor] = counts.get(m.subscription.server_assignor, 0) + 1
        if not counts:
            return None
        return max(sorted(counts), key=lambda name: counts[name])

    def classic_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.uses_classic_protocol]

    def all_classic_except(self, member_id: str) -> bool:
        """Kafka's allMembersUseClassicProtocolExcept: the departing member is the last one
        using the consumer protocol."""
        member = self.members.get(member_id)
        return (
            member is not None
            and not member.uses_classic_protocol
            and len(self.classic_members()) == len(self.members) - 1
        )

    def supports_classic_protocols(self, protocol_type: str, names: set[str]) -> bool:
        """Can a classic member with these protocols join? Every classic member must share one."""
        if protocol_type != CONSUMER_PROTOCOL_TYPE:
            return False
        classic = self.classic_members()
        if not self.members or not classic:
            return bool(names)
        common = set.intersection(*({n for n, _ in m.subscription.classic.protocols} for m in classic))  # type: ignore[union-attr]
        return bool(common & names)

    def waiting_on_unreleased(self, member: Member) -> bool:
        """Whether a member in UNRELEASED_PARTITIONS still waits for partitions others own."""
        if member.state is not MemberState.UNRELEASED_PARTITIONS:
            return False
        for topic_id, partitions in self.target_of(member.member_id).items():
            have = member.assigned.get(topic_id, frozenset())
            for p in partitions:
                if p not in have and self.partition_epoch(topic_id, p) != -1:
                    return True
        return False

    # --- replay ----------------------------------------------------------------------------------
    def replay(self, record: Record) -> None:
        """Apply one record of this group (Kafka's GroupMetadataManager.replay)."""
        kind, value = record.kind, record.value
        if kind == GROUP_EPOCH:
            if value is not None:
                self.group_epoch = int(value)
        elif kind == SUBSCRIPTION_METADATA:
            self.subscription_metadata = dict(value) if value is not None else {}
        elif kind == TARGET_ASSIGNMENT_EPOCH:
            self.assignment_epoch = int(value) if value is not None else -1
        elif kind == TARGET_ASSIGNMENT_MEMBER:
            assert record.member_id is not None
            if value is not None:
                self.target[record.member_id] = dict(value)
            else:
                self.target.pop(record.member_id, None)
        elif kind == MEMBER_METADATA:
            assert record.member_id is not None
            if value is not None:
                old = self.members.get(record.member_id) or Member(record.member_id)
                self._update_member(old, dataclasses.replace(old, subscription=value))
            else:
                self._remove_member(record.member_id)
        elif kind == CURRENT_ASSIGNMENT:
            assert record.member_id is not None
            old = self.members.get(record.member_id)
            if value is not None:
                old = old or Member(record.member_id)
                new = dataclasses.replace(
                    old,
                    epoch=value.member_epoch,
                    previous_epoch=value.previous_member_epoch,
                    state=value.state,
                    assigned=dict(value.assigned),
                    pending_revocation=dict(value.pending_revocation),
                )
                self._update_member(old, new)
            elif old is not None:
                self._update_member(
                    old,
                    dataclasses.replace(
                        old,
                        epoch=LEAVE_GROUP_EPOCH,
                        previous_epoch=LEAVE_GROUP_EPOCH,
                        assigned={},
                        pending_revocation={},
                    ),
                )

    def _update_member(self, old: Member | None, new: Member) -> None:
        if old is not None and old.member_id in self.members:
            self._drop_partition_epochs(old)
            if old.instance_id is not None and self.static_members.get(old.instance_id) == old.member_id:
                del self.static_members[old.instance_id]
        self.members[new.member_id] = new
        if new.instance_id is not None:
            self.static_members[new.instance_id] = new.member_id
        for assignment in (new.assigned, new.pending_revocation):
            for topic_id, partitions in assignment.items():
                for p in partitions:
                    previous = self.partition_epochs.get((topic_id, p))
                    if previous is not None:
                        log.warning(
                            "[GroupId %s] Partition %s-%d is owned at epoch %d while member %s takes it at %d",
                            self.group_id,
                            topic_id,
                            p,
                            previous,
                            new.member_id,
                            new.epoch,
                        )
                    self.partition_epochs[(topic_id, p)] = new.epoch

    def _drop_partition_epochs(self, member: Member) -> None:
        for assignment in (member.assigned, member.pending_revocation):
            for topic_id, partitions in assignment.items():
                for p in partitions:
                    if self.partition_epochs.get((topic_id, p)) == member.epoch:
                        del self.partition_epochs[(topic_id, p)]

    def _remove_member(self, member_id: str) -> None:
        member = self.members.pop(member_id, None)
        if member is None:
            return
        self._drop_partition_epochs(member)
        if member.instance_id is not None and self.static_members.get(member.instance_id) == member_id:
            del self.static_members[member.instance_id]

    # --- records that create or delete the whole group -------------------------------------------
    def creation_records(self) -> list[Record]:
        """Every record that rebuilds this group (after a conversion from a classic group)."""
        g = self.group_id
        records = [Record(MEMBER_METADATA, g, m.member_id, m.subscription) for m in self.members.values()]
        records.append(Record(GROUP_EPOCH, g, None, self.group_epoch))
        records += [Record(TARGET_ASSIGNMENT_MEMBER, g, mid, a) for mid, a in self.target.items()]
        records.append(Record(TARGET_ASSIGNMENT_EPOCH, g, None, self.assignment_epoch))
        records += [
            Record(CURRENT_ASSIGNMENT, g, m.member_id, m.current_assignment()) for m in self.members.values()
        ]
        return records

    def tombstones(self, rename: tuple[str, str] | None = None) -> list[Record]:
        """Kafka's createGroupTombstoneRecords, in its order; ``rename`` (old, new) writes a
        replaced member's tombstones under its new id."""
        g = self.group_id

        def name(member_id: str) -> str:
            return rename[1] if rename is not None and member_id == rename[0] else member_id

        records = [Record(CURRENT_ASSIGNMENT, g, name(m)) for m in self.members]
        records += [Record(TARGET_ASSIGNMENT_MEMBER, g, name(m)) for m in self.members]
        records.append(Record(TARGET_ASSIGNMENT_EPOCH, g))
        records += [Record(MEMBER_METADATA, g, name(m)) for m in self.members]
        records.append(Record(SUBSCRIPTION_METADATA, g))
        records.append(Record(GROUP_EPOCH, g))
        return records


def member_records(group_id: str, member_id: str) -> list[Record]:
    """The tombstones that remove one member, in Kafka's order (removeMember)."""
    return [
        Record(CURRENT_ASSIGNMENT, group_id, member_id),
        Record(TARGET_ASSIGNMENT_MEMBER, group_id, member_id),
        Record(MEMBER_METADATA, group_id, member_id),
    ]


def new_member_id() -> str:
    """Kafka's ``Uuid.randomUuid().toString()``: 22 characters of URL-safe base64."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
