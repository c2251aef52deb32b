"""The KIP-848 consumer group coordinator's entry points: ConsumerGroupHeartbeat, leaving, fencing,
describe, list, delete, and the member-epoch checks of offset commits and fetches.

How a heartbeat is handled (Kafka's GroupMetadataManager.consumerGroupHeartbeat): the request is
validated, the group is found, created or converted from a classic group (:mod:`migration`), the
member is updated and reconciled (:mod:`consumer_group_membership`), and the resulting records
are written (:mod:`consumer_group_runtime`); the answer is sent once they are acknowledged.
Classic-protocol members of a consumer group are served by :mod:`classic_members`.

The classic coordinator keeps owning committed offsets: a consumer group's offsets live in the
classic coordinator's group object for the same id (an empty shell with no members), and the
OffsetCommit/OffsetFetch handlers ask this coordinator to validate member epochs first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.server.base.consumer_group_config import ConsumerGroupConfig
from kcli.server.coordinator import errors as E
from kcli.server.coordinator.classic_members import ClassicMembers
from kcli.server.coordinator.consumer_group import (
    CONSUMER_PROTOCOL_TYPE,
    LEAVE_GROUP_EPOCH,
    LEAVE_GROUP_STATIC_EPOCH,
    ConsumerGroup,
    ConsumerGroupState,
    Member,
    member_records,
    new_member_id,
)
from kcli.server.coordinator.consumer_group_membership import ConsumerGroupMembership
from kcli.server.coordinator.consumer_group_records import (
    CURRENT_ASSIGNMENT,
    GROUP_EPOCH,
    SUBSCRIPTION_METADATA,
    Assignment,
    Record,
)
from kcli.server.coordinator.errors import GroupError
from kcli.server.coordinator.migration import Migration
from kcli.server.coordinator.reconciliation import Owned
from kcli.server.coordinator.subscriptions import TopicView

if TYPE_CHECKING:
    from kcli.server.coordinator.group_coordinator import GroupCoordinator

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


@dataclass(frozen=True)
class HeartbeatRequest:
    """A ConsumerGroupHeartbeat request, version-independent (None = not sent / unchanged)."""

    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    topic_names: tuple[str, ...] | None = None
    topic_regex: str | None = None
    server_assignor: str | None = None
    owned: Owned = None
    client_id: str = ""
    client_host: str = ""
    version: int = 1


class ConsumerGroupCoordinator(ConsumerGroupMembership):
    """All consumer groups whose ``__consumer_offsets`` partition this broker leads."""

    def __init__(
        self,
        classic: GroupCoordinator,
        config: ConsumerGroupConfig | None = None,
        topics: TopicView | None = None,
    ):
        super().__init__(classic, config, topics)
        self.classic_members = ClassicMembers(self)
        self.migration = Migration(self)
        if not classic.clustered:
            self.load()

    # --- ConsumerGroupHeartbeat ------------------------------------------------------------------
    def validate(self, req: HeartbeatRequest) -> None:
        """Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid."""

        def empty(value: str | None) -> bool:
            return value is not None and not value.strip()

        if not req.group_id or not req.group_id.strip():
            raise GroupError(ErrorCode.invalid_request, "GroupId can't be empty.")
        if empty(req.instance_id):
            raise GroupError(ErrorCode.invalid_request, "InstanceId can't be empty.")
        if empty(req.rack_id):
            raise GroupError(ErrorCode.invalid_request, "RackId can't be empty.")
        if req.version >= 1 and not req.member_id.strip():
            raise GroupError(ErrorCode.invalid_request, "MemberId can't be empty.")
        if req.member_epoch > 0 or req.member_epoch == LEAVE_GROUP_EPOCH:
            if not req.member_id.strip():
                raise GroupError(ErrorCode.invalid_request, "MemberId can't be empty.")
        elif req.member_epoch == 0:
            if req.rebalance_timeout_ms == -1:
                raise GroupError(
                    ErrorCode.invalid_request, "RebalanceTimeoutMs must be provided in first request."
                )
            if req.owned is None or len(req.owned) > 0:
                raise GroupError(
                    ErrorCode.invalid_request, "TopicPartitions must be empty when (re-)joining."
                )
            no_names = req.topic_names is None or len(req.topic_names) == 0
            if no_names and not req.topic_regex:
                if req.version >= 1:
                    raise GroupError(
                        ErrorCode.invalid_request,
                        "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                    )
                raise GroupError(
                    ErrorCode.invalid_request, "SubscribedTopicNames must be set in first request."
                )
        elif req.member_epoch == LEAVE_GROUP_STATIC_EPOCH:
            if not req.member_id.strip():
                raise GroupError(ErrorCode.invalid_request, "MemberId can't be empty.")
            if req.instance_id is None:
                raise GroupError(ErrorCode.invalid_request, "InstanceId can't be null.")
        else:
            raise GroupError(ErrorCode.invalid_request, "MemberEpoch is invalid.")
        if req.topic_regex is not None and req.version < 1:
            raise GroupError(
                ErrorCode.invalid_request, "SubscribedTopicRegex is not supported before version 1."
            )
        if req.server_assignor is not None and req.server_assignor not in self.assignors:
            raise GroupError(
                ErrorCode.unsupported_assignor,
                f"ServerAssignor {req.server_assignor} is not supported. Supported assignors: "
                f"{', '.join(self.assignors)}.",
            )

    async def heartbeat(self, req: HeartbeatRequest) -> dict[str, Any]:
        try:
            self.validate(req)
            if req.member_epoch in (LEAVE_GROUP_EPOCH, LEAVE_GROUP_STATIC_EPOCH):
                group_id, records, response = self._leave(req)
            else:
                group_id, records, response, extra = self._heartbeat(req)
                code = await self.commit(group_id, records, extra)
                if code:
                    return self.error_response(code)
                return response
        except GroupError as exc:
            return self.error_response(exc.code, exc.message)
        code = await self.commit(group_id, records)
        return self.error_response(code) if code else response

    @staticmethod
    def error_response(code: ErrorCode | int, message: str | None = None) -> dict[str, Any]:
        return {
            "throttle_time": 0,
            "error_code": code,
            "error_message": message,
            "member_id": None,
            "member_epoch": 0,
            "heartbeat_interval": 0,
            "assignment": None,
        }

    def _heartbeat(
        self, req: HeartbeatRequest
    ) -> tuple[str, list[Record], dict[str, Any], list[tuple[bytes, bytes | None]]]:
        records: list[Record] = []
        extra: list[tuple[bytes, bytes | None]] = []
        create = req.member_epoch == 0
        group = self.migration.consumer_group_for(req.group_id, create, records, extra)
        member_id = req.member_id or new_member_id()
        if len(group.members) >= self.config.max_size and member_id not in group.members:
            raise GroupError(
                ErrorCode.group_max_size_reached,
                f"The consumer group has reached its maximum capacity of {self.config.max_size} members.",
            )
        if req.instance_id is None:
            member = self._dynamic_member(group, member_id, req.member_epoch, req.owned, create)
        else:
            member = self.static_member(
                group, member_id, req.member_epoch, req.instance_id, req.owned, create, False, records
            )
        s = member.subscription
        subscription = dataclasses.replace(
            s,
            instance_id=req.instance_id if req.instance_id is not None else s.instance_id,
            rack_id=req.rack_id if req.rack_id is not None else s.rack_id,
            rebalance_timeout_ms=req.rebalance_timeout_ms
            if req.rebalance_timeout_ms != -1
            else s.rebalance_timeout_ms,
            server_assignor=req.server_assignor if req.server_assignor is not None else s.server_assignor,
            topic_names=tuple(req.topic_names) if req.topic_names is not None else s.topic_names,
            topic_regex=(req.topic_regex or None) if req.topic_regex is not None else s.topic_regex,
            client_id=req.client_id,
            client_host=req.client_host,
            classic=None,
        )
        updated = dataclasses.replace(member, subscription=subscription)
        response = self.update_and_reconcile(
            group,
            member,
            updated,
            req.owned,
            records,
            full=create
            or (req.rebalance_timeout_ms != -1 and req.topic_names is not None and req.owned is not None),
        )
        self.schedule_session(group.group_id, response["_member"])
        response.update(heartbeat_interval=self.config.heartbeat_interval_ms)
        response.pop("_member")
        return group.group_id, records, response, extra

    # --- leaving and fencing ---------------------------------------------------------------------
    def _leave(self, req: HeartbeatRequest) -> tuple[str, list[Record], dict[str, Any]]:
        group = self.groups.get(req.group_id)
        if group is None:
            raise GroupError(ErrorCode.group_id_not_found, f"Group {req.group_id} not found.")
        response = {
            "throttle_time": 0,
            "error_code": E.NONE,
            "error_message": None,
            "member_id": req.member_id,
            "member_epoch": req.member_epoch,
            "heartbeat_interval": 0,
            "assignment": None,
        }
        if req.instance_id is None:
            member = group.members.get(req.member_id)
            if member is None:
                raise GroupError(
                    ErrorCode.unknown_member_id,
                    f"Member {req.member_id} is not a member of group {group.group_id}.",
                )
            log.info("[GroupId %s] Member %s left the consumer group.", group.group_id, member.member_id)
            return group.group_id, self.fence_records(group, member), response
        member = group.static_member(req.instance_id)
        if member is None:
            raise GroupError(ErrorCode.unknown_member_id, f"Instance id {req.instance_id} is unknown.")
        if member.member_id != req.member_id:
            raise GroupError(
                ErrorCode.fenced_instance_id,
                f"Static member {req.member_id} with instance id {req.instance_id} was fenced by member "
                f"{member.member_id}.",
            )
        if req.member_epoch == LEAVE_GROUP_STATIC_EPOCH:
            log.info(
                "[GroupId %s] Static Member %s with instance id %s temporarily left the consumer group.",
                group.group_id,
                member.member_id,
                req.instance_id,
            )
            leaving = dataclasses.replace(member, epoch=LEAVE_GROUP_STATIC_EPOCH, pending_revocation={})
            self.cancel("rebalance", group.group_id, member.member_id)
            return (
                group.group_id,
                [Record(CURRENT_ASSIGNMENT, group.group_id, member.member_id, leaving.current_assignment())],
                dict(response, member_epoch=LEAVE_GROUP_STATIC_EPOCH),
            )
        log.info(
            "[GroupId %s] Static Member %s with instance id %s left the consumer group.",
            group.group_id,
            member.member_id,
            req.instance_id,
        )
        return group.group_id, self.fence_records(group, member), response

    def fence_records(self, group: ConsumerGroup, member: Member) -> list[Record]:
        """The records that remove ``member`` (Kafka's consumerGroupFenceMember), or that turn
        the group back into a classic group when only classic members would remain."""
        if self.migration.can_downgrade_without(group, member.member_id):
            self.migration.downgrade(group, member.member_id)
            return []  # the downgrade wrote its own records
        records = member_records(group.group_id, member.member_id)
        metadata = self.compute_metadata(group, member, None)
        if metadata != group.subscription_metadata:
            records.append(Record(SUBSCRIPTION_METADATA, group.group_id, None, metadata))
        records.append(Record(GROUP_EPOCH, group.group_id, None, group.group_epoch + 1))
        self.cancel_all(group.group_id, member.member_id)
        return records

    def fence(self, group: ConsumerGroup, member: Member) -> asyncio.Future[int]:
        return self.commit(group.group_id, self.fence_records(group, member))

    # --- describe, list, delete -------------------------------------------------------------------
    def describe(self, group_id: str, include_operations: bool = False) -> dict[str, Any]:
        group = self.groups.get(group_id)
        if group is None:
            return {
                "error_code": ErrorCode.group_id_not_found,
                "error_message": f"Group {group_id} not found.",
                "group_id": group_id,
                "group_state": ConsumerGroupState.DEAD.value,
                "group_epoch": 0,
                "assignment_epoch": 0,
                "assignor_name": "",
                "members": [],
                "authorized_operations": -2147483648,
            }
        return {
            "error_code": E.NONE,
            "error_message": None,
            "group_id": group_id,
            "group_state": group.state.value,
            "group_epoch": group.group_epoch,
            "assignment_epoch": group.assignment_epoch,
            "assignor_name": self.group_assignor_name(group),
            "members": [self._describe_member(group, m) for m in group.members.values()],
            "authorized_operations": -2147483648,
        }

    def _describe_member(self, group: ConsumerGroup, member: Member) -> dict[str, Any]:
        s = member.subscription
        return {
            "member_id": member.member_id,
            "instance_id": s.instance_id,
            "rack_id": s.rack_id,
            "member_epoch": member.epoch,
            "client_id": s.client_id,
            "client_host": s.client_host,
            "subscribed_topic_names": sorted(s.topic_names),
            "subscribed_topic_regex": s.topic_regex,
            "assignment": {"topic_partitions": self._named(member.assigned)},
            "target_assignment": {"topic_partitions": self._named(group.target_of(member.member_id))},
            "member_type": 0 if member.uses_classic_protocol else 1,
        }

    def _named(self, assignment: Assignment) -> list[dict[str, Any]]:
        out = []
        for topic_id, parts in sorted(assignment.items(), key=lambda kv: str(kv[0])):
            name = self.topics.name_of(topic_id)
            if name is None:
                continue  # a deleted topic: Kafka's describe leaves it out too
            out.append({"topic_id": topic_id, "topic_name": name, "partitions": sorted(parts)})
        return out

    def list_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> list[dict[str, Any]]:
        wanted_states = {s.strip().lower() for s in states}
        wanted_types = {t.strip().lower() for t in types}
        if wanted_types and "consumer" not in wanted_types:
            return []
        listed = []
        for group in self.groups.values():
            state = group.state.value
            if wanted_states and state.lower() not in wanted_states:
                continue
            listed.append(
                {
                    "group_id": group.group_id,
                    "protocol_type": CONSUMER_PROTOCOL_TYPE,
                    "group_state": state,
                    "group_type": "consumer",
                }
            )
        return listed

    def delete_group(self, group_id: str) -> asyncio.Future[int] | int:
        """DeleteGroups of a consumer group: only when Empty (NON_EMPTY_GROUP otherwise)."""
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.group_id_not_found
        if group.state is not ConsumerGroupState.EMPTY:
            return ErrorCode.non_empty_group
        log.info("Group %s deleted", group_id)
        return self.commit(group_id, group.tombstones())

    # --- committed offsets ------------------------------------------------------------------------
    def validate_commit(
        self,
        group_id: str,
        member_id: str,
        epoch: int,
        api_version: int,
        transactional: bool = False,
        instance_id: str | None = None,
    ) -> ErrorCode | None:
        """The error for an OffsetCommit (or, ``transactional``, a TxnOffsetCommit) to a consumer
        group (None: not a consumer group, let the classic coordinator validate; NONE: accepted).
        Kafka's ConsumerGroup.validateOffsetCommit; the caller of a TxnOffsetCommit answers
        STALE_MEMBER_EPOCH as ILLEGAL_GENERATION, as Kafka's OffsetMetadataManager does."""
        group = self.groups.get(group_id)
        if group is None:
            return None
        if epoch < 0 and not group.members:
            return E.NONE  # the admin client, or a consumer using assign()
        if transactional and epoch < 0 and not member_id and instance_id is None:
            return E.NONE  # TxnOffsetCommit v0-2 and old producers name no member (KAFKA-18060)
        member = group.members.get(member_id)
        if member is None:
            return E.UNKNOWN_MEMBER_ID
        if not transactional and not member.uses_classic_protocol and api_version < 9:
            return ErrorCode.unsupported_version
        if epoch != member.epoch:
            return E.ILLEGAL_GENERATION if member.uses_classic_protocol else ErrorCode.stale_member_epoch
        return E.NONE

    def validate_fetch(self, group_id: str, member_id: str | None, epoch: int) -> ErrorCode | None:
        """Kafka's ConsumerGroup.validateOffsetFetch (OffsetFetch v9+ with a member epoch)."""
        group = self.groups.get(group_id)
        if group is None:
            return None
        if member_id is None and epoch < 0:
            return E.NONE
        member = group.members.get(member_id or "")
        if member is None:
            return E.UNKNOWN_MEMBER_ID
        if epoch != member.epoch:
            return E.ILLEGAL_GENERATION if member.uses_classic_protocol else ErrorCode.stale_member_epoch
        return E.NONE

    def subscribed_topics(self, group_id: str) -> set[str] | None:
        """Topics a consumer group subscribes to (names and resolved regexes); None if not one."""
        group = self.groups.get(group_id)
        if group is None:
            return None
        topics: set[str] = set()
        for member in group.members.values():
            topics |= self.topics_of(member)
        return topics
