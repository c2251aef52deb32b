"""Computing a consumer group's new target assignment (Kafka's TargetAssignmentBuilder).

The group's members (with the member being updated, and without a replaced static member) are
handed to the chosen assignor with the partitions the previous target gave them; the result is
the records of the members whose target changed, then the new target assignment epoch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from kcli.server.coordinator.assignors import Assignor, MemberSpec
from kcli.server.coordinator.consumer_group import ConsumerGroup, Member
from kcli.server.coordinator.consumer_group_records import (
    EMPTY,
    TARGET_ASSIGNMENT_EPOCH,
    TARGET_ASSIGNMENT_MEMBER,
    Assignment,
    Record,
    TopicMetadata,
)


def build_target(
    group: ConsumerGroup,
    group_epoch: int,
    assignor: Assignor,
    metadata: Mapping[str, TopicMetadata],
    topics_of: Callable[[Member], set[str]],
    updated: Member | None = None,
    removed: frozenset[str] = frozenset(),
) -> tuple[dict[str, Assignment], list[Record]]:
    """(new target of every member, records to persist it)."""
    members = {mid: m for mid, m in group.members.items() if mid not in removed}
    previous: dict[str, Assignment] = {mid: group.target_of(mid) for mid in members}
    if updated is not None:
        base = group.target_of(updated.member_id)
        if updated.instance_id is not None:
            replaced = group.static_members.get(updated.instance_id)
            if replaced is not None and replaced != updated.member_id:
                # A static member came back under a new member id: it inherits the target.
                base = group.target_of(replaced)
                members.pop(replaced, None)
                previous.pop(replaced, None)
        members[updated.member_id] = updated
        previous[updated.member_id] = base
    ids: dict[str, uuid.UUID] = {name: meta.topic_id for name, meta in metadata.items()}
    specs = {
        mid: MemberSpec(
            frozenset(ids[name] for name in topics_of(m) if name in ids),
            m.instance_id,
            previous.get(mid, EMPTY),
        )
        for mid, m in members.items()
    }
    partitions = {meta.topic_id: meta.partitions for meta in metadata.values()}
    target = assignor.assign(specs, partitions)
    records = [
        Record(TARGET_ASSIGNMENT_MEMBER, group.group_id, mid, assignment)
        for mid, assignment in sorted(target.items())
        if mid not in group.target or group.target[mid] != assignment
    ]
    records.append(Record(TARGET_ASSIGNMENT_EPOCH, group.group_id, None, group_epoch))
    return target, records
