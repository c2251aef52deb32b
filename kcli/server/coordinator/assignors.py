"""The server-side assignors of KIP-848 consumer groups: ``uniform`` and ``range``.

With the consumer protocol the coordinator computes the group's *target assignment* itself
(``group.consumer.assignors``; a member may ask for one with ``group.remote.assignor``), so these
are pure functions from (members and their subscriptions, partition counts, the previous target)
to a new target. They follow Apache Kafka's UniformAssignor and RangeAssignor:

* ``uniform`` (the default): every partition of the subscribed topics is assigned, the member
  loads differ by at most one partition, and as many partitions as possible stay where the
  previous target put them (balance first, then stickiness). For members that all subscribe to
  the same topics this is Kafka's UniformHomogeneousAssignmentBuilder step for step; when
  subscriptions differ, partitions go to the least loaded subscriber and are then moved from the
  most to the least loaded eligible member until no move helps (the principles of Kafka's
  heterogeneous builder, not its exact steps).
* ``range``: each topic's partitions are cut into contiguous ranges handed out in member order
  (static members by instance id first, then member ids), so members get the same partition
  numbers of equally sized topics (co-partitioning). Not sticky, as in Kafka.

Members and partitions are iterated in sorted order, so a target depends only on its inputs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kcli.server.coordinator.consumer_group_records import Assignment

TopicPartition = tuple[uuid.UUID, int]


class AssignorError(Exception):
    """The assignor could not assign (Kafka's PartitionAssignorException)."""


@dataclass(frozen=True)
class MemberSpec:
    """What an assignor knows about a member: its topics (by id, existing ones only), its
    instance id and the partitions the previous target gave it."""

    topics: frozenset[uuid.UUID]
    instance_id: str | None = None
    assignment: Assignment = field(default_factory=dict)


class Assignor(Protocol):
    name: str

    def assign(
        self, members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]
    ) -> dict[str, Assignment]: ...


def _freeze(assignment: Mapping[uuid.UUID, set[int]]) -> Assignment:
    return {t: frozenset(ps) for t, ps in assignment.items() if ps}


def _topic_order(topic_id: uuid.UUID) -> str:
    return str(topic_id)


def is_homogeneous(members: Mapping[str, MemberSpec]) -> bool:
    topics = {m.topics for m in members.values()}
    return len(topics) <= 1


class UniformAssignor:
    name = "uniform"

    def assign(
        self, members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]
    ) -> dict[str, Assignment]:
        if not members:
            return {}
        for spec in members.values():
            missing = [t for t in spec.topics if t not in partitions]
            if missing:
                raise AssignorError(f"Members are subscribed to topic {missing[0]} which doesn't exist")
        if is_homogeneous(members):
            return self._homogeneous(members, partitions)
        return self._heterogeneous(members, partitions)

    # --- all members subscribe to the same topics (Kafka's homogeneous builder) ---------------
    @staticmethod
    def _homogeneous(
        members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]
    ) -> dict[str, Assignment]:
        topics = next(iter(members.values())).topics
        if not topics:
            return {m: {} for m in members}
        owned: set[TopicPartition] = set()
        for spec in members.values():
            for t, ps in spec.assignment.items():
                owned.update((t, p) for p in ps)
        unassigned: list[TopicPartition] = []
        total = 0
        for t in sorted(topics, key=_topic_order):
            count = partitions[t]
            total += count
            unassigned.extend((t, p) for p in range(count) if (t, p) not in owned)
        minimum, extra = divmod(total, len(members))
        target: dict[str, dict[uuid.UUID, set[int]]] = {}
        unfilled: list[tuple[str, int]] = []
        # Members that hold more partitions get the extra partitions first: fewer moves.
        order = sorted(members, key=lambda m: (-sum(len(p) for p in members[m].assignment.values()), m))
        for member_id in order:
            quota = minimum + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
            kept: dict[uuid.UUID, set[int]] = {}
            for t in sorted(members[member_id].assignment, key=_topic_order):
                ps = members[member_id].assignment[t]
                if t not in topics:
                    continue  # no longer subscribed: the partitions go back to the pool
                for p in sorted(ps):
                    if p >= partitions[t]:
                        continue  # the partition no longer exists
                    if quota > 0:
                        kept.setdefault(t, set()).add(p)
                        quota -= 1
                    else:
                        unassigned.append((t, p))
            target[member_id] = kept
            if quota > 0:
                unfilled.append((member_id, quota))
        index = 0
        for member_id, quota in unfilled:
            for _ in range(quota):
                if index >= len(unassigned):
                    break
                t, p = unassigned[index]
                index += 1
                target[member_id].setdefault(t, set()).add(p)
        if index < len(unassigned):
            raise AssignorError("Partitions were left unassigned")
        return {m: _freeze(a) for m, a in target.items()}

    # --- members subscribe to different topics -------------------------------------------------
    @staticmethod
    def _heterogeneous(
        members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]
    ) -> dict[str, Assignment]:
        subscribers: dict[uuid.UUID, list[str]] = {}
        for member_id in sorted(members):
            for t in members[member_id].topics:
                subscribers.setdefault(t, []).append(member_id)
        target: dict[str, dict[uuid.UUID, set[int]]] = {m: {} for m in members}
        load = dict.fromkeys(members, 0)
        taken: set[TopicPartition] = set()
        for member_id in sorted(members):  # keep what is still valid (stickiness)
            spec = members[member_id]
            for t, ps in spec.assignment.items():
                if t not in spec.topics:
                    continue
                for p in ps:
                    if p < partitions[t] and (t, p) not in taken:
                        taken.add((t, p))
                        target[member_id].setdefault(t, set()).add(p)
                        load[member_id] += 1
        # The rarest topics first: their few subscribers have the least choice.
        for t in sorted(subscribers, key=lambda t: (len(subscribers[t]), _topic_order(t))):
            for p in range(partitions[t]):
                if (t, p) in taken:
                    continue
                chosen = min(subscribers[t], key=lambda m: (load[m], m))
                target[chosen].setdefault(t, set()).add(p)
                load[chosen] += 1
        # Balance: move a partition from a member to an eligible one with at least two fewer.
        moved = True
        guard = sum(partitions[t] for t in subscribers) * max(len(members), 1) + 1
        while moved and guard > 0:
            moved = False
            for donor in sorted(members, key=lambda m: (-load[m], m)):
                for t in sorted(target[donor], key=_topic_order):
                    eligible = [m for m in subscribers[t] if load[m] + 1 < load[donor]]
                    if not eligible or not target[donor][t]:
                        continue
                    receiver = min(eligible, key=lambda m: (load[m], m))
                    p = max(target[donor][t])
                    target[donor][t].discard(p)
                    target[receiver].setdefault(t, set()).add(p)
                    load[donor] -= 1
                    load[receiver] += 1
                    moved = True
                    guard -= 1
                    break
                if moved:
                    break
        return {m: _freeze(a) for m, a in target.items()}


class RangeAssignor:
    name = "range"

    def assign(
        self, members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]
    ) -> dict[str, Assignment]:
        if not members:
            return {}

        def order(member_id: str) -> tuple[int, str]:
            instance = members[member_id].instance_id
            return (0, instance) if instance is not None else (1, member_id)

        ordered = sorted(members, key=order)
        subscribers: dict[uuid.UUID, int] = {}
        for spec in members.values():
            for t in spec.topics:
                if t not in partitions:
                    raise AssignorError("Member is subscribed to a non-existent topic")
                subscribers[t] = subscribers.get(t, 0) + 1
        next_range = dict.fromkeys(subscribers, 0)
        extra = {t: partitions[t] % n for t, n in subscribers.items()}
        result: dict[str, Assignment] = {}
        for member_id in ordered:
            assignment: dict[uuid.UUID, frozenset[int]] = {}
            for t in sorted(members[member_id].topics, key=_topic_order):
                quota = partitions[t] // subscribers[t]
                if extra[t] > 0:
                    quota += 1
                    extra[t] -= 1
                start = next_range[t]
                end = min(start + quota, partitions[t])
                next_range[t] = end
                if start < end:
                    assignment[t] = frozenset(range(start, end))
            result[member_id] = assignment
        return result


BUILTIN: dict[str, type[UniformAssignor] | type[RangeAssignor]] = {
    "uniform": UniformAssignor,
    "range": RangeAssignor,
}
