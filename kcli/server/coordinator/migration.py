"""Online migration between classic and consumer groups, as Kafka 4.0 does it.

* A ConsumerGroupHeartbeat for a group id that is an *empty* classic group (or only holds
  committed offsets) turns it into a consumer group: the classic group's metadata gets a
  tombstone, its committed offsets stay. Always allowed, whatever the migration policy.
* For a *non-empty* classic group using the ``consumer`` embedded protocol, with
  ``group.consumer.migration.policy`` allowing upgrades (Kafka 4.0's default ``bidirectional``):
  the group becomes a consumer group whose members are the classic members with their current
  assignment (group epoch = generation), and the joining member is added to it. The classic
  members go on with JoinGroup/SyncGroup/Heartbeat (:mod:`classic_members`) until they restart
  with the new protocol. Any other classic group answers GROUP_ID_NOT_FOUND ("Group ... is not
  a consumer group"), as Kafka does.
* When the last member using the consumer protocol leaves and classic members remain (and
  downgrades are allowed), the group turns back into a classic group and rebalances.
* A JoinGroup for an *empty* consumer group deletes it and starts a classic group.

The classic groups live in the classic coordinator; this module moves members between the two
coordinators' objects and writes the records of both sides in one append, tombstones first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.server.coordinator.consumer_group import CONSUMER_PROTOCOL_TYPE, ConsumerGroup, Member
from kcli.server.coordinator.consumer_group_records import (
    ClassicMetadata,
    MemberState,
    Record,
    Subscription,
)
from kcli.server.coordinator.consumer_protocol import (
    ProtocolError,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    version_of,
)
from kcli.server.coordinator.errors import GroupError
from kcli.server.coordinator.group import Group, GroupState
from kcli.server.coordinator.group import Member as ClassicMember
from kcli.server.coordinator.group_requests import join_error, sync_result
from kcli.server.coordinator.schema import GroupKey, encode_group_key

if TYPE_CHECKING:
    from kcli.server.coordinator.consumer_group_runtime import ConsumerGroupRuntime

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


class Migration:
    def __init__(self, coordinator: ConsumerGroupRuntime):
        self.c = coordinator

    @property
    def classic(self) -> Any:
        return self.c.classic

    # --- classic -> consumer ---------------------------------------------------------------------
    def consumer_group_for(
        self, group_id: str, create: bool, records: list[Record], extra: list[tuple[bytes, bytes | None]]
    ) -> ConsumerGroup:
        """Kafka's getOrMaybeCreateConsumerGroup: the consumer group of a heartbeat, created
        (``create``: a member joining with epoch 0) or converted from a classic group."""
        group = self.c.groups.get(group_id)
        if group is not None:
            return group
        classic: Group | None = self.classic.groups.get(group_id)
        if classic is not None and classic.state is GroupState.DEAD:
            classic = None
        if not create:
            if classic is not None and classic.members:
                raise GroupError(ErrorCode.group_id_not_found, f"Group {group_id} is not a consumer group.")
            raise GroupError(ErrorCode.group_id_not_found, f"Consumer group {group_id} not found.")
        if classic is None:
            return ConsumerGroup(group_id)
        if not classic.members and not classic.pending_members:
            # An empty classic group (or one that only holds committed offsets).
            self._detach(classic)
            extra.append((encode_group_key(GroupKey(group_id)), None))
            log.info("[GroupId %s] Converted the empty classic group to a consumer group.", group_id)
            return ConsumerGroup(group_id)
        problem = self._upgrade_problem(classic)
        if problem is not None:
            log.info("Cannot upgrade classic group %s to consumer group because %s.", group_id, problem)
            raise GroupError(ErrorCode.group_id_not_found, f"Group {group_id} is not a consumer group.")
        try:
            converted = self._from_classic(classic)
        except ProtocolError as exc:
            log.warning("Cannot upgrade the classic group %s: %s", group_id, exc)
            raise GroupError(
                ErrorCode.group_id_not_found,
                f"Cannot upgrade the classic group {group_id} to consumer group because the embedded "
                "consumer protocol is malformed.",
            ) from None
        members = list(classic.members.values())
        self._detach(classic)
        extra.append((encode_group_key(GroupKey(group_id)), None))
        records.extend(converted.creation_records())
        for member in converted.members.values():
            self.c.schedule_session(group_id, member)
        log.info(
            "[GroupId %s] Upgraded the classic group (generation %d, %d member(s)) to a consumer group.",
            group_id,
            converted.group_epoch,
            len(members),
        )
        return converted

    def _upgrade_problem(self, classic: Group) -> str | None:
        if not self.c.config.upgrade_enabled:
            return "the online upgrade is disabled"
        if classic.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return "the group does not use the consumer embedded protocol"
        if len(classic.members) > self.c.config.max_size:
            return "the group size exceeds the consumer group maximum size"
        return None

    def _from_classic(self, classic: Group) -> ConsumerGroup:
        """Kafka's ConsumerGroup.fromClassicGroup: every member Stable at the generation, with
        its current assignment as its target."""
        group = ConsumerGroup(classic.group_id)
        group.group_epoch = group.assignment_epoch = classic.generation
        for m in classic.members.values():
            subscription = decode_subscription(m.metadata(classic.protocol_name))
            assigned: dict[Any, frozenset[int]] = {}
            for topic, partitions in decode_assignment(m.assignment):
                meta = self.c.topics.metadata(topic)
                if meta is not None and partitions:
                    assigned[meta.topic_id] = frozenset(partitions)
            member = Member(
                m.member_id,
                Subscription(
                    instance_id=m.group_instance_id,
                    rack_id=subscription.rack_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    topic_names=subscription.topics,
                    rebalance_timeout_ms=m.rebalance_timeout_ms,
                    classic=ClassicMetadata(m.session_timeout_ms, tuple(m.protocols)),
                ),
                epoch=classic.generation,
                previous_epoch=classic.generation,
                state=MemberState.STABLE,
                assigned=assigned,
            )
            group.members[m.member_id] = member
            group.target[m.member_id] = dict(assigned)
            if m.group_instance_id is not None:
                group.static_members[m.group_instance_id] = m.member_id
        return group

    def _detach(self, classic: Group) -> None:
        """Empty the classic group object (it stays, holding the committed offsets): its
        waiting JoinGroup/SyncGroup answers say REBALANCE_IN_PROGRESS, its timers stop."""
        for timer in (classic.join_timer, classic.sync_timer, *classic.pending_members.values()):
            if timer is not None:
                timer.cancel()
        for member in classic.members.values():
            if member.session_timer is not None:
                member.session_timer.cancel()
            for fut, answer in (
                (member.join_future, join_error(member.member_id, ErrorCode.rebalance_in_progress)),
                (member.sync_future, sync_result(ErrorCode.rebalance_in_progress)),
            ):
                if fut is not None and not fut.done():
                    fut.set_result(answer)
        classic.members.clear()
        classic.static_members.clear()
        classic.pending_members.clear()
        classic.pending_sync.clear()
        classic.join_timer = classic.sync_timer = None
        classic.leader_id = classic.protocol_name = classic.protocol_type = None
        classic.delaying = False
        classic.transition(GroupState.EMPTY)

    # --- consumer -> classic ---------------------------------------------------------------------
    def can_downgrade_without(self, group: ConsumerGroup, leaving_id: str) -> bool:
        """Kafka's validateOnlineDowngradeWithFencedMember."""
        if not group.all_classic_except(leaving_id):
            return False
        if len(group.members) <= 1:
            return False
        if not self.c.config.downgrade_enabled:
            log.info(
                "Cannot downgrade consumer group %s to classic group because the online downgrade is disabled.",
                group.group_id,
            )
            return False
        return len(group.members) - 1 <= self.c.config.classic_max_size

    def downgrade(self, group: ConsumerGroup, leaving_id: str) -> None:
        """Turn the consumer group into a classic group of its classic members and rebalance it."""
        group_id = group.group_id
        shell: Group = self.classic.groups.get(group_id) or Group(group_id)
        shell.generation = group.group_epoch
        shell.protocol_type = CONSUMER_PROTOCOL_TYPE
        for m in group.members.values():
            if m.member_id == leaving_id or m.subscription.classic is None:
                continue
            classic = m.subscription.classic
            version = version_of(classic.protocols[0][1]) if classic.protocols else 0
            named: dict[str, list[int]] = {}
            for topic_id, parts in m.assigned.items():
                name = self.c.topics.name_of(topic_id)
                if name is not None:
                    named[name] = sorted(parts)
            member = ClassicMember(
                m.member_id,
                m.instance_id,
                m.subscription.client_id,
                m.subscription.client_host,
                classic.session_timeout_ms,
                m.rebalance_timeout_ms,
                CONSUMER_PROTOCOL_TYPE,
                list(classic.protocols),
                assignment=encode_assignment(named, version),
            )
            shell.add(member)
        shell.protocol_name = shell.select_protocol()
        shell.transition(GroupState.STABLE)
        self.classic.groups[group_id] = shell
        for member_id in list(group.members):
            self.c.cancel_all(group_id, member_id)
        self.c.commit(group_id, group.tombstones())
        for member in shell.members.values():
            self.classic.membership.schedule_session(shell, member)
        log.info("[GroupId %s] Downgraded the consumer group to a classic group.", group_id)
        self.classic.membership.prepare_rebalance(
            shell, f"Downgrade group {group_id} from consumer to classic."
        )
        self.classic.metadata.store_group(shell)

    def delete_empty(self, group_id: str) -> None:
        """A classic JoinGroup for an empty consumer group: the consumer group goes (its
        offsets stay with the classic coordinator), the classic group takes its place."""
        group = self.c.groups.get(group_id)
        if group is None or group.members:
            return
        log.info("[GroupId %s] Converted the empty consumer group to a classic group.", group_id)
        self.c.commit(group_id, group.tombstones())
