"""How a consumer group member's heartbeat changes the group: epochs, target assignment, reconciliation.

Kafka's GroupMetadataManager.consumerGroupHeartbeat, steps 1-3, shared by ConsumerGroupHeartbeat
and classic members' JoinGroup (:mod:`classic_members`):

1. the member is created or updated; a changed subscription (or changed topic metadata) bumps the
   group epoch;
2. when the group epoch is ahead of the target assignment epoch, the assignor computes a new
   target assignment;
3. the member is reconciled one step towards its target (:mod:`reconciliation`): partitions are
   revoked before anyone else gets them.

Static members (``group.instance.id``) are looked up, replaced on return, or fenced here too.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.assignors import Assignor, AssignorError
from kcli.server.coordinator.consumer_group import (
    LEAVE_GROUP_STATIC_EPOCH,
    ConsumerGroup,
    Member,
    member_records,
)
from kcli.server.coordinator.consumer_group_records import (
    CURRENT_ASSIGNMENT,
    GROUP_EPOCH,
    MEMBER_METADATA,
    SUBSCRIPTION_METADATA,
    TARGET_ASSIGNMENT_MEMBER,
    Assignment,
    MemberState,
    Record,
    TopicMetadata,
)
from kcli.server.coordinator.consumer_group_runtime import ConsumerGroupRuntime
from kcli.server.coordinator.errors import GroupError
from kcli.server.coordinator.reconciliation import FencedEpoch, Owned, reconcile
from kcli.server.coordinator.subscriptions import InvalidRegex, subscription_metadata
from kcli.server.coordinator.target_assignment import build_target

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


def assignment_response(assignment: Assignment) -> dict[str, Any]:
    return {
        "topic_partitions": [
            {"topic_id": topic_id, "partitions": sorted(parts)}
            for topic_id, parts in sorted(assignment.items(), key=lambda kv: str(kv[0]))
        ]
    }


def _is_subset(owned: Owned, assigned: Assignment) -> bool:
    if owned is None:
        return False
    for topic_id, partitions in owned:
        have = assigned.get(topic_id)
        if have is None:
            if partitions:
                return False
            continue
        if any(p not in have for p in partitions):
            return False
    return True


class ConsumerGroupMembership(ConsumerGroupRuntime):
    """Members joining, updating and being reconciled in the consumer groups."""

    def compute_metadata(
        self, group: ConsumerGroup, old: Member | None, new: Member | None
    ) -> dict[str, TopicMetadata]:
        names: set[str] = set()
        for member in group.members.values():
            if (old is not None and member.member_id == old.member_id) or (
                new is not None and member.member_id == new.member_id
            ):
                continue
            names |= self.topics_of(member)
        if new is not None:
            names |= self.topics_of(new)
        return subscription_metadata(names, self.topics)

    def assignor_for(
        self, group: ConsumerGroup, old: Member | None, new: Member | None
    ) -> tuple[str, Assignor]:
        counts: dict[str, int] = {}
        for member in group.members.values():
            if old is not None and member.member_id == old.member_id:
                continue
            if member.subscription.server_assignor:
                counts[member.subscription.server_assignor] = (
                    counts.get(member.subscription.server_assignor, 0) + 1
                )
        if new is not None and new.subscription.server_assignor:
            counts[new.subscription.server_assignor] = counts.get(new.subscription.server_assignor, 0) + 1
        name = max(sorted(counts), key=lambda n: counts[n]) if counts else self.config.default_assignor
        assignor = self.assignors.get(name) or self.assignors[self.config.default_assignor]
        return assignor.name, assignor

    def group_assignor_name(self, group: ConsumerGroup) -> str:
        return group.preferred_assignor() or self.config.default_assignor

    def update_and_reconcile(
        self,
        group: ConsumerGroup,
        member: Member,
        updated: Member,
        owned: Owned,
        records: list[Record],
        full: bool,
    ) -> dict[str, Any]:
        """Steps 1-3 of a heartbeat (also used for classic members' JoinGroup): records for the
        member, the group epoch, the target assignment and the member's next assignment."""
        group_id = group.group_id
        bump = False
        if updated.subscription != member.subscription or updated.member_id not in group.members:
            records.append(Record(MEMBER_METADATA, group_id, updated.member_id, updated.subscription))
            new_regex = updated.subscription.topic_regex
            if new_regex != member.subscription.topic_regex and new_regex:
                try:
                    self.regexes.check(new_regex)
                except InvalidRegex as exc:
                    raise GroupError(ErrorCode.invalid_regular_expression, str(exc)) from None
            if (
                updated.subscription.topic_names != member.subscription.topic_names
                or new_regex != member.subscription.topic_regex
            ):
                bump = True
        group_epoch = group.group_epoch
        metadata = self.compute_metadata(group, member, updated)
        if metadata != group.subscription_metadata:
            bump = True
            records.append(Record(SUBSCRIPTION_METADATA, group_id, None, metadata))
        if bump:
            group_epoch += 1
            records.append(Record(GROUP_EPOCH, group_id, None, group_epoch))
            log.info("[GroupId %s] Bumped group epoch to %d.", group_id, group_epoch)
        if group_epoch > group.assignment_epoch:
            name, assignor = self.assignor_for(group, member, updated)
            try:
                targets, target_records = build_target(
                    group, group_epoch, assignor, metadata, self.topics_of, updated=updated
                )
            except AssignorError as exc:
                message = f"Failed to compute a new target assignment for epoch {group_epoch}: {exc}"
                log.error("[GroupId %s] %s.", group_id, message)
                raise GroupError(ErrorCode.unknown_server_error, message) from None
            log.info(
                "[GroupId %s] Computed a new target assignment for epoch %d with '%s' assignor.",
                group_id,
                group_epoch,
                name,
            )
            records.extend(target_records)
            target = targets.get(updated.member_id, {})
            target_epoch = group_epoch
        else:
            target_epoch = group.assignment_epoch
            target = group.target_of(updated.member_id)
            previous = group.static_members.get(updated.instance_id or "")
            if updated.instance_id is not None and previous is not None and previous != updated.member_id:
                target = group.target_of(previous)
        reconciled = updated
        if not updated.is_reconciled_to(target_epoch):
            try:
                reconciled = reconcile(updated, target_epoch, target, group.partition_epoch, owned)
            except FencedEpoch as exc:
                raise GroupError(ErrorCode.fenced_member_epoch, str(exc)) from None
        if reconciled != updated:
            records.append(
                Record(CURRENT_ASSIGNMENT, group_id, reconciled.member_id, reconciled.current_assignment())
            )
            if not reconciled.uses_classic_protocol:
                if reconciled.state is MemberState.UNREVOKED_PARTITIONS:
                    self._schedule_rebalance_timeout(group_id, reconciled)
                else:
                    self.cancel("rebalance", group_id, reconciled.member_id)
        response: dict[str, Any] = {
            "throttle_time": 0,
            "error_code": E.NONE,
            "error_message": None,
            "member_id": reconciled.member_id,
            "member_epoch": reconciled.epoch,
            "assignment": None,
            "_member": reconciled,
        }
        if full or reconciled.assigned != member.assigned or member.member_id != reconciled.member_id:
            response["assignment"] = assignment_response(reconciled.assigned)
        return response

    def _dynamic_member(
        self, group: ConsumerGroup, member_id: str, epoch: int, owned: Owned, create: bool
    ) -> Member:
        member = group.members.get(member_id)
        if member is None:
            if not create:
                raise GroupError(
                    ErrorCode.unknown_member_id,
                    f"Member {member_id} is not a member of group {group.group_id}.",
                )
            log.info(
                "[GroupId %s] Member %s joins the consumer group using the consumer protocol.",
                group.group_id,
                member_id,
            )
            return Member(member_id)
        self.check_epoch(member, epoch, owned)
        return member

    @staticmethod
    def check_epoch(member: Member, received: int, owned: Owned) -> None:
        """Kafka's throwIfConsumerGroupMemberEpochIsInvalid (a lost answer may leave the member
        one epoch behind with a subset of its partitions: that is accepted)."""
        if received > member.epoch:
            raise GroupError(
                ErrorCode.fenced_member_epoch,
                f"The consumer group member has a greater member epoch ({received}) than the one known by "
                f"the group coordinator ({member.epoch}). The member must abandon all its partitions and rejoin.",
            )
        if received < member.epoch and (
            received != member.previous_epoch or not _is_subset(owned, member.assigned)
        ):
            raise GroupError(
                ErrorCode.fenced_member_epoch,
                f"The consumer group member has a smaller member epoch ({received}) than the one known by "
                f"the group coordinator ({member.epoch}). The member must abandon all its partitions and rejoin.",
            )

    def static_member(
        self,
        group: ConsumerGroup,
        member_id: str,
        epoch: int,
        instance_id: str,
        owned: Owned,
        create: bool,
        classic: bool,
        records: list[Record],
    ) -> Member:
        """Kafka's getOrMaybeSubscribeStaticConsumerGroupMember: a new static member, the
        return of one (replacing its old member id), or an existing one."""
        existing = group.static_member(instance_id)
        if create:
            if existing is None:
                log.info(
                    "[GroupId %s] Static member %s with instance id %s joins the consumer group.",
                    group.group_id,
                    member_id,
                    instance_id,
                )
                return group.members.get(member_id) or Member(member_id)
            if existing.member_id == member_id:
                return existing
            if (
                not classic
                and not existing.uses_classic_protocol
                and existing.epoch != LEAVE_GROUP_STATIC_EPOCH
            ):
                raise GroupError(
                    ErrorCode.unreleased_instance_id,
                    f"Static member {member_id} with instance id {instance_id} cannot join the group because "
                    f"the instance id is owned by {existing.member_id} member.",
                )
            replacement = dataclasses.replace(existing, member_id=member_id, epoch=0, previous_epoch=0)
            records.extend(member_records(group.group_id, existing.member_id))
            records.append(Record(MEMBER_METADATA, group.group_id, member_id, replacement.subscription))
            records.append(
                Record(
                    TARGET_ASSIGNMENT_MEMBER, group.group_id, member_id, group.target_of(existing.member_id)
                )
            )
            records.append(
                Record(CURRENT_ASSIGNMENT, group.group_id, member_id, replacement.current_assignment())
            )
            self.cancel_all(group.group_id, existing.member_id)
            log.info(
                "[GroupId %s] Static member with instance id %s re-joins the consumer group. Created a new "
                "member %s to replace the existing member %s.",
                group.group_id,
                instance_id,
                member_id,
                existing.member_id,
            )
            return replacement
        if existing is None:
            raise GroupError(ErrorCode.unknown_member_id, f"Instance id {instance_id} is unknown.")
        if existing.member_id != member_id:
            raise GroupError(
                ErrorCode.fenced_instance_id,
                f"Static member {member_id} with instance id {instance_id} was fenced by member "
                f"{existing.member_id}.",
            )
        if not classic:
            self.check_epoch(existing, epoch, owned)
        return existing
