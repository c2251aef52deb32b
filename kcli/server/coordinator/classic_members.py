"""Classic-protocol members (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) inside a KIP-848
consumer group, as Kafka 4.0 serves them during an online migration.

A consumer group may hold members that still speak the classic protocol (clients not yet
upgraded in a rolling restart). The coordinator treats them like any member: their JoinGroup
subscription (topics and owned partitions) updates the member, the broker's assignor computes the
target, and their partitions are reconciled incrementally. The classic client sees a JoinGroup
answer whose generation is its member epoch and in which it is a follower (no member list), and
its SyncGroup answer carries the partitions it may own now, encoded in the consumer protocol
version it subscribed with. Its Heartbeat says REBALANCE_IN_PROGRESS whenever it has something
to do (the group moved on, partitions to revoke, or freed partitions to take), so it rejoins.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.consumer_group import (
    CONSUMER_PROTOCOL_TYPE,
    ConsumerGroup,
    Member,
    member_records,
    new_member_id,
)
from kcli.server.coordinator.consumer_group_records import (
    GROUP_EPOCH,
    SUBSCRIPTION_METADATA,
    Assignment,
    ClassicMetadata,
    MemberState,
    Record,
)
from kcli.server.coordinator.consumer_protocol import (
    ProtocolError,
    decode_subscription,
    encode_assignment,
    version_of,
)
from kcli.server.coordinator.errors import GroupError
from kcli.server.coordinator.subscriptions import subscription_metadata

if TYPE_CHECKING:
    from kcli.server.coordinator.consumer_group_membership import ConsumerGroupMembership
    from kcli.server.coordinator.group_requests import JoinRequest

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


def join_answer(member_id: str, code: int, **fields: Any) -> dict[str, Any]:
    answer = {
        "error_code": code,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }
    answer.update(fields)
    return answer


def sync_answer(code: int, **fields: Any) -> dict[str, Any]:
    answer = {"error_code": code, "protocol_type": None, "protocol_name": None, "assignment": b""}
    answer.update(fields)
    return answer


class ClassicMembers:
    def __init__(self, coordinator: ConsumerGroupMembership):
        self.c = coordinator

    # --- helpers ------------------------------------------------------------------------------
    def _member(self, group: ConsumerGroup, member_id: str, instance_id: str | None) -> Member:
        """Kafka's validateConsumerGroupMember then throwIfMemberDoesNotUseClassicProtocol."""
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                raise GroupError(
                    E.UNKNOWN_MEMBER_ID, f"Member {member_id} is not a member of group {group.group_id}."
                )
        else:
            member = group.static_member(instance_id)
            if member is None:
                raise GroupError(
                    E.UNKNOWN_MEMBER_ID,
                    f"Member with instance id {instance_id} is not a member of group {group.group_id}.",
                )
            if member.member_id != member_id:
                raise GroupError(
                    E.FENCED_INSTANCE_ID, f"Static member {member_id} was fenced by {member.member_id}."
                )
        if not member.uses_classic_protocol:
            raise GroupError(
                E.UNKNOWN_MEMBER_ID, f"Member {member.member_id} does not use the classic protocol."
            )
        return member

    def _named(self, assignment: Assignment) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for topic_id, parts in assignment.items():
            name = self.c.topics.name_of(topic_id)
            if name is not None:
                out[name] = sorted(parts)
        return out

    def _join_timeout(self, group_id: str, member: Member) -> None:
        member_id = member.member_id
        self.c.schedule_if_absent(
            "join",
            group_id,
            member_id,
            member.rebalance_timeout_ms,
            lambda: self.c.fence_later(
                group_id, member_id, "the classic member failed to join within the rebalance timeout"
            ),
        )

    # --- JoinGroup ------------------------------------------------------------------------------
    async def join(self, req: JoinRequest) -> dict[str, Any]:
        group = self.c.groups.get(req.group_id)
        if group is None:
            return join_answer(req.member_id, E.UNKNOWN_MEMBER_ID)
        unknown = not req.member_id
        member_id = req.member_id or new_member_id()
        records: list[Record] = []
        try:
            if len(group.members) >= self.c.config.max_size and member_id not in group.members:
                raise GroupError(ErrorCode.group_max_size_reached)
            names = {name for name, _ in req.protocols}
            if not group.supports_classic_protocols(req.protocol_type, names):
                raise GroupError(
                    E.INCONSISTENT_GROUP_PROTOCOL, f"Member {member_id}'s protocols are not supported."
                )
            if unknown and req.require_known_member_id and req.group_instance_id is None:
                log.info(
                    "[GroupId %s] Dynamic member with unknown member id joins the consumer group. Created a new "
                    "member id %s and requesting the member to rejoin with this id.",
                    req.group_id,
                    member_id,
                )
                return join_answer(member_id, E.MEMBER_ID_REQUIRED)
            if req.group_instance_id is None:
                member = group.members.get(member_id)
                if member is None:
                    log.info(
                        "[GroupId %s] Member %s joins the consumer group using the classic protocol.",
                        req.group_id,
                        member_id,
                    )
                    member = Member(member_id)
            else:
                member = self.c.static_member(
                    group, member_id, -1, req.group_instance_id, [], unknown, True, records
                )
            try:
                subscription = decode_subscription(req.protocols[0][1])
            except (ProtocolError, IndexError) as exc:
                raise GroupError(
                    E.INCONSISTENT_GROUP_PROTOCOL, f"Malformed consumer protocol subscription: {exc}"
                ) from None
            s = member.subscription
            updated = dataclasses.replace(
                member,
                subscription=dataclasses.replace(
                    s,
                    instance_id=req.group_instance_id if req.group_instance_id is not None else s.instance_id,
                    rack_id=subscription.rack_id if subscription.rack_id is not None else s.rack_id,
                    rebalance_timeout_ms=req.rebalance_timeout_ms,
                    topic_names=tuple(subscription.topics),
                    client_id=req.client_id,
                    client_host=req.client_host,
                    classic=ClassicMetadata(req.session_timeout_ms, tuple(req.protocols)),
                ),
            )
            owned = []
            for topic, partitions in subscription.owned:
                meta = self.c.topics.metadata(topic)
                if meta is not None:
                    owned.append((meta.topic_id, list(partitions)))
            answer = self.c.update_and_reconcile(group, member, updated, owned, records, full=True)
        except GroupError as exc:
            return join_answer(member_id if not unknown else "", exc.code)
        reconciled: Member = answer["_member"]
        code = await self.c.commit(req.group_id, records)
        if code:
            return join_answer(member_id, code)
        self.c.cancel("join", req.group_id, member_id)
        self.c.schedule_session(req.group_id, reconciled, req.session_timeout_ms)
        self.c.schedule_if_absent(
            "sync",
            req.group_id,
            member_id,
            req.rebalance_timeout_ms,
            lambda: self.c.fence_later(req.group_id, member_id, "the member failed to sync within timeout"),
        )
        return join_answer(
            reconciled.member_id,
            E.NONE,
            generation_id=reconciled.epoch,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            protocol_name=req.protocols[0][0],
        )

    # --- SyncGroup ------------------------------------------------------------------------------
    async def sync(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
    ) -> dict[str, Any]:
        group = self.c.groups.get(group_id)
        if group is None:
            return sync_answer(E.UNKNOWN_MEMBER_ID)
        try:
            member = self._member(group, member_id, instance_id)
            if generation != member.epoch:
                raise GroupError(E.ILLEGAL_GENERATION)
            protocols = member.subscription.classic.protocols  # type: ignore[union-attr]
            chosen = protocols[0][0] if protocols else ""
            if protocol_type is not None and protocol_type != CONSUMER_PROTOCOL_TYPE:
                raise GroupError(E.INCONSISTENT_GROUP_PROTOCOL)
            if protocol_name is not None and protocol_name != chosen:
                raise GroupError(E.INCONSISTENT_GROUP_PROTOCOL)
            if group.group_epoch > member.epoch and member.state is not MemberState.UNREVOKED_PARTITIONS:
                self._join_timeout(group_id, member)
                raise GroupError(E.REBALANCE_IN_PROGRESS)
        except GroupError as exc:
            return sync_answer(exc.code)
        code = await self.c.commit(group_id, [])  # answer only from acknowledged state
        if code:
            return sync_answer(code)
        self.c.cancel("sync", group_id, member.member_id)
        self.c.schedule_session(group_id, member)
        version = version_of(protocols[0][1]) if protocols else 0
        return sync_answer(
            E.NONE,
            protocol_type=protocol_type or CONSUMER_PROTOCOL_TYPE,
            protocol_name=protocol_name or chosen,
            assignment=encode_assignment(self._named(member.assigned), version),
        )

    # --- Heartbeat ------------------------------------------------------------------------------
    def heartbeat(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        group = self.c.groups.get(group_id)
        if group is None:
            return E.UNKNOWN_MEMBER_ID
        try:
            member = self._member(group, member_id, instance_id)
        except GroupError as exc:
            return exc.code
        if generation != member.epoch:
            return E.ILLEGAL_GENERATION
        self.c.schedule_session(group_id, member)
        if (
            member.epoch < group.group_epoch
            or member.state is MemberState.UNREVOKED_PARTITIONS
            or (member.state is MemberState.UNRELEASED_PARTITIONS and not group.waiting_on_unreleased(member))
        ):
            self._join_timeout(group_id, member)
            return E.REBALANCE_IN_PROGRESS
        return E.NONE

    # --- LeaveGroup -----------------------------------------------------------------------------
    async def leave(
        self, group_id: str, identities: list[tuple[str, str | None]]
    ) -> tuple[int, list[tuple[str, str | None, int]]]:
        group = self.c.groups.get(group_id)
        if group is None:
            return E.UNKNOWN_MEMBER_ID, [(m, i, E.UNKNOWN_MEMBER_ID) for m, i in identities]
        results: list[tuple[str, str | None, int]] = []
        records: list[Record] = []
        leaving: set[str] = set()
        for member_id, instance_id in identities:
            try:
                if instance_id is None:
                    member = self._member(group, member_id, None)
                else:
                    member = group.static_member(instance_id)
                    if member is None:
                        raise GroupError(E.UNKNOWN_MEMBER_ID)
                    if member_id and member.member_id != member_id:
                        raise GroupError(E.FENCED_INSTANCE_ID)
                    if not member.uses_classic_protocol:
                        raise GroupError(E.UNKNOWN_MEMBER_ID)
                log.info(
                    "[Group %s] Member %s has left group through explicit `LeaveGroup` request",
                    group_id,
                    member.member_id,
                )
                records.extend(member_records(group_id, member.member_id))
                self.c.cancel_all(group_id, member.member_id)
                leaving.add(member.member_id)
                results.append((member.member_id, instance_id, E.NONE))
            except GroupError as exc:
                results.append((member_id, instance_id, exc.code))
        if records:
            names: set[str] = set()
            for member in group.members.values():
                if member.member_id not in leaving:
                    names |= self.c.topics_of(member)
            metadata = subscription_metadata(names, self.c.topics)
            if metadata != group.subscription_metadata:
                records.append(Record(SUBSCRIPTION_METADATA, group_id, None, metadata))
            records.append(Record(GROUP_EPOCH, group_id, None, group.group_epoch + 1))
        code = await self.c.commit(group_id, records)
        if code:
            return code, [(m, i, code) for m, i, _ in results]
        return E.NONE, results
