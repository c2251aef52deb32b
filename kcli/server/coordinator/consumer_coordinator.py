"""The KIP-848 consumer group coordinator: ConsumerGroupHeartbeat, member epochs, the target
assignment computed on the broker, incremental reconciliation, sessions and rebalance timeouts.

How a heartbeat is handled (Kafka's GroupMetadataManager.consumerGroupHeartbeat):

1. the member is created or updated; a changed subscription (or changed topic metadata) bumps the
   group epoch;
2. when the group epoch is ahead of the target assignment epoch, the assignor computes a new
   target assignment;
3. the member is reconciled one step towards its target (:mod:`reconciliation`): partitions are
   revoked before anyone else gets them.

Every change is a list of Kafka's records (:mod:`consumer_group_records`). They are appended to
the group's ``__consumer_offsets`` partition through the broker's one append path (the classic
coordinator's store, acks as ``offsets.commit.required.acks``) and replayed into the in-memory
group at once, in call order; the answer is sent when the append is acknowledged. When it is not
(too few in-sync replicas, leadership lost) the group is put back as it was and the member gets
Kafka's mapped error, so it retries. Loading a partition (start-up, becoming its leader after a
failover) replays the same records, so a group survives ``kill -9`` and coordinator moves.

The classic coordinator keeps owning committed offsets: a consumer group's offsets live in the
classic coordinator's group object for the same id (an empty shell with no members), and the
OffsetCommit/OffsetFetch handlers ask this coordinator to validate member epochs first.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.assignors import BUILTIN, Assignor, AssignorError
from kcli.server.coordinator.consumer_group import (
    CONSUMER_PROTOCOL_TYPE,
    LEAVE_GROUP_EPOCH,
    LEAVE_GROUP_STATIC_EPOCH,
    ConsumerGroup,
    ConsumerGroupState,
    Member,
    member_records,
)
from kcli.server.coordinator.consumer_group_config import ConsumerGroupConfig
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
    decode,
    encode,
)
from kcli.server.coordinator.reconciliation import FencedEpoch, Owned, reconcile
from kcli.server.coordinator.store import AppendError
from kcli.server.coordinator.subscriptions import (
    BrokerTopics,
    InvalidRegex,
    RegexResolver,
    TopicView,
    subscription_metadata,
)
from kcli.server.coordinator.target_assignment import build_target

if TYPE_CHECKING:
    from kcli.server.coordinator.group_coordinator import GroupCoordinator

log = logging.getLogger("kafka.coordinator.group.GroupMetadataManager")


class GroupError(Exception):
    """A request refused with Kafka's error code and message."""

    def __init__(self, code: ErrorCode, message: str | None = None):
        super().__init__(message or code.name)
        self.code = code
        self.message = message


def new_member_id() -> str:
    """Kafka's ``Uuid.randomUuid().toString()``: 22 characters of URL-safe base64."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def now_ms() -> int:
    return int(time.time() * 1000)


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


class ConsumerGroupCoordinator:
    """All consumer groups whose ``__consumer_offsets`` partition this broker leads."""

    def __init__(
        self,
        classic: GroupCoordinator,
        config: ConsumerGroupConfig | None = None,
        topics: TopicView | None = None,
    ):
        self.classic = classic
        broker = classic.broker
        if config is None:
            config = ConsumerGroupConfig.from_settings(broker.config.raw if broker is not None else {})
        self.config = config
        if topics is None:
            assert broker is not None
            topics = BrokerTopics(broker)
        self.topics = topics
        self.groups: dict[str, ConsumerGroup] = {}
        self.assignors: dict[str, Assignor] = {name: BUILTIN[name]() for name in config.assignors}
        self.regexes = RegexResolver()
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self._last_write: dict[str, asyncio.Future[int]] = {}
        self._write_seq = itertools.count(1)
        self._issued: dict[str, int] = {}
        self._closed = False
        # Filled in by the classic-member and migration helpers (they need this object).
        from kcli.server.coordinator.classic_members import ClassicMembers
        from kcli.server.coordinator.migration import Migration

        self.classic_members = ClassicMembers(self)
        self.migration = Migration(self)
        if not classic.clustered:
            self.load()

    # --- which groups are consumer groups ----------------------------------------------------
    def get(self, group_id: str) -> ConsumerGroup | None:
        return self.groups.get(group_id)

    def is_consumer_group(self, group_id: str) -> bool:
        return group_id in self.groups

    def has_members(self, group_id: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and bool(group.members)

    # --- loading and leadership --------------------------------------------------------------
    def load(self, partitions: set[int] | None = None) -> None:
        """Replay the consumer-group records of ``__consumer_offsets`` (every partition or only
        ``partitions``), then start the members' session timers."""
        count = 0
        for key, value in self.classic.store.read_all(partitions):
            try:
                record = decode(key, value)
            except (ValueError, UnicodeDecodeError) as exc:
                log.warning("Skipping an unreadable consumer group record: %s", exc)
                continue
            if record is not None:
                self._replay(record)
                count += 1
        if count:
            log.info("Loaded %d consumer group(s) from %d record(s)", len(self.groups), count)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        for group in self.groups.values():
            if partitions is not None and self.classic.partition_for(group.group_id) not in partitions:
                continue
            for member in group.members.values():
                self.schedule_session(group.group_id, member)
                if member.state is MemberState.UNREVOKED_PARTITIONS and not member.uses_classic_protocol:
                    self._schedule_rebalance_timeout(group.group_id, member)

    def on_leadership(self, topic: str, partition: int, is_leader: bool) -> None:
        from kcli.server.coordinator.store import OFFSETS_TOPIC

        if topic != OFFSETS_TOPIC or self._closed:
            return
        for group_id in [g for g in self.groups if self.classic.partition_for(g) == partition]:
            self._forget(group_id)
        if is_leader:
            self.load({partition})

    def _forget(self, group_id: str) -> None:
        self.groups.pop(group_id, None)
        for key in [k for k in self._timers if k[1] == group_id]:
            self._timers.pop(key).cancel()
        self.classic_members.forget(group_id)

    async def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.classic_members.close()

    # --- replay and writes ---------------------------------------------------------------------
    def _replay(self, record: Record) -> None:
        group = self.groups.get(record.group_id)
        if record.kind == GROUP_EPOCH and record.value is None:
            if group is not None:
                del self.groups[record.group_id]
            return
        if group is None:
            if record.value is None:
                return  # a tombstone of a group we do not have
            group = self.groups[record.group_id] = ConsumerGroup(record.group_id)
        group.replay(record)

    def commit(
        self,
        group_id: str,
        records: list[Record],
        extra: list[tuple[bytes, bytes | None]] = (),  # type: ignore[assignment]
    ) -> asyncio.Future[int]:
        """Append ``records`` (and ``extra`` raw records, e.g. a classic group's tombstone) to the
        group's partition now, apply them now, and return a future of the answer's error code:
        NONE once acknowledged, else Kafka's mapped error after undoing the change when no later
        write of the group built on it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        if not records and not extra:
            previous = self._last_write.get(group_id)
            if previous is None or previous.done():
                done.set_result(
                    previous.result() if previous is not None and not previous.cancelled() else E.NONE
                )
                return done
            # Nothing to write, but the answer must not reveal state that is not yet durable.
            previous.add_done_callback(
                lambda f: done.done() or done.set_result(0 if f.cancelled() else f.result())
            )
            return done
        group = self.groups.get(group_id)
        snapshot = group.snapshot() if group is not None else None
        seq = next(self._write_seq)
        self._issued[group_id] = seq
        encoded = list(extra) + [encode(r) for r in records]
        try:
            pending = self.classic.store.append(self.classic.partition_for(group_id), encoded)
        except Exception as exc:
            log.exception("Failed to append the records of consumer group %s", group_id)
            pending = loop.create_future()
            pending.set_exception(AppendError(ErrorCode.unknown_server_error, str(exc)))
        for record in records:
            self._replay(record)

        def settled(fut: asyncio.Future[None]) -> None:
            exc = None if fut.cancelled() else fut.exception()
            if exc is None and not fut.cancelled():
                done.set_result(E.NONE)
                return
            raw = exc.code if isinstance(exc, AppendError) else ErrorCode.unknown_server_error
            code = E.from_append_error(raw)
            log.warning("Failed to write the records of consumer group %s: %s", group_id, exc)
            if self._issued.get(group_id) == seq and not self._closed:
                if snapshot is None:
                    self.groups.pop(group_id, None)
                else:
                    restored = self.groups.get(group_id) or ConsumerGroup(group_id)
                    restored.restore(snapshot)
                    self.groups[group_id] = restored
            done.set_result(code)

        if pending.done():
            settled(pending)
        else:
            pending.add_done_callback(settled)
        self._last_write[group_id] = done
        return done

    # --- timers ---------------------------------------------------------------------------------
    def _schedule(
        self, kind: str, group_id: str, member_id: str, delay_ms: int, callback: Callable[[], None]
    ) -> None:
        self.cancel(kind, group_id, member_id)
        if self._closed:
            return

        def fire() -> None:
            self._timers.pop((kind, group_id, member_id), None)
            if self._closed:
                return
            try:
                callback()
            except Exception:
                log.exception("Consumer group timer %s of %s/%s failed", kind, group_id, member_id)

        loop = asyncio.get_running_loop()
        self._timers[(kind, group_id, member_id)] = loop.call_later(max(delay_ms, 0) / 1000, fire)

    def schedule_if_absent(
        self, kind: str, group_id: str, member_id: str, delay_ms: int, callback: Callable[[], None]
    ) -> None:
        if (kind, group_id, member_id) not in self._timers:
            self._schedule(kind, group_id, member_id, delay_ms, callback)

    def cancel(self, kind: str, group_id: str, member_id: str) -> None:
        timer = self._timers.pop((kind, group_id, member_id), None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self, group_id: str, member_id: str) -> None:
        for kind in ("session", "rebalance", "join", "sync"):
            self.cancel(kind, group_id, member_id)

    def schedule_session(self, group_id: str, member: Member, timeout_ms: int | None = None) -> None:
        if timeout_ms is None:
            classic = member.subscription.classic
            timeout_ms = classic.session_timeout_ms if classic is not None else self.config.session_timeout_ms
        member_id = member.member_id
        self._schedule(
            "session",
            group_id,
            member_id,
            timeout_ms,
            lambda: self.fence_later(group_id, member_id, "the member session expired"),
        )

    def _schedule_rebalance_timeout(self, group_id: str, member: Member) -> None:
        member_id, epoch, timeout = member.member_id, member.epoch, member.rebalance_timeout_ms

        def expired() -> None:
            group = self.groups.get(group_id)
            current = group.members.get(member_id) if group is not None else None
            if (
                current is not None
                and current.epoch == epoch
                and current.state is MemberState.UNREVOKED_PARTITIONS
            ):
                log.info(
                    "[GroupId %s] Member %s fenced from the group because it failed to transition "
                    "from epoch %d within %dms.",
                    group_id,
                    member_id,
                    epoch,
                    timeout,
                )
                self.fence_later(group_id, member_id, None)

        self._schedule(
            "rebalance",
            group_id,
            member_id,
            timeout if timeout > 0 else self.config.session_timeout_ms,
            expired,
        )

    def fence_later(self, group_id: str, member_id: str, reason: str | None) -> None:
        """Remove a member from a timer (its write is not waited for; failures are logged)."""
        group = self.groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            return
        if reason is not None:
            log.info("[GroupId %s] Member %s fenced from the group because %s.", group_id, member_id, reason)
        self.fence(group, member)

    # --- subscriptions and metadata --------------------------------------------------------------
    def topics_of(self, member: Member) -> set[str]:
        topics = set(member.subscription.topic_names)
        if member.subscription.topic_regex:
            topics |= self.regexes.resolve(member.subscription.topic_regex, self.topics)
        return topics

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
        self.classic_members.forget_member(group.group_id, member.member_id)
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
