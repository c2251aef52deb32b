"""The group coordinator: Kafka's classic group protocol on this broker's event loop.

Lifecycle of a group (as in Kafka)::

    Empty --join--> PreparingRebalance --all rejoined / rebalance timeout--> CompletingRebalance
    CompletingRebalance --leader's SyncGroup--> Stable --join, leave, session expiry--> PreparingRebalance
    PreparingRebalance --last member gone--> Empty --deleted / expired--> Dead

JoinGroup and SyncGroup answers wait on asyncio futures until the rebalance step they belong to
completes; every deadline (session, rebalance, initial delay, pending sync, offset retention) is
one ``loop.call_later`` handle, so nothing blocks and every change happens on the event loop.
The coordinator never interprets assignments: it picks the protocol all members support and
relays the leader's bytes, which is why every client-side assignor works.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group import Group, GroupState, Member, now_ms
from kcli.server.coordinator.schema import (
    GroupKey,
    GroupValue,
    MemberRecord,
    OffsetKey,
    OffsetValue,
    decode_group_value,
    decode_key,
    decode_offset_value,
    encode_group_key,
    encode_group_value,
    encode_offset_key,
    encode_offset_value,
    partition_for,
)
from kcli.server.coordinator.store import OFFSETS_TOPIC, AppendError, OffsetsTopicStore, Record, Store
from kcli.server.coordinator.transactional_offsets import PendingTransactionalOffsets, pending_offsets

if TYPE_CHECKING:
    from kcli.server.broker import Broker

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")

OFFSET_METADATA_MAX_BYTES = 4096


@dataclass(frozen=True)
class Settings:
    """The broker settings the coordinator reads (names as in server.properties)."""

    initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    max_session_timeout_ms: int = 1_800_000  # group.max.session.timeout.ms
    offsets_retention_ms: int = 10080 * 60_000  # offsets.retention.minutes
    offsets_retention_check_ms: int = 600_000  # offsets.retention.check.interval.ms

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms=config.group_min_session_timeout_ms,
            max_session_timeout_ms=config.group_max_session_timeout_ms,
            offsets_retention_ms=config.offsets_retention_minutes * 60_000,
            offsets_retention_check_ms=config.offsets_retention_check_interval_ms,
        )


@dataclass(frozen=True)
class JoinRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    require_known_member_id: bool
    # JoinGroup v9+ (KIP-814) can tell a rejoining static leader to skip the assignment step.
    supports_skip_assignment: bool = True


@dataclass(frozen=True)
class CommitEntry:
    topic: str
    partition: int
    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""


def _resolve(fut: asyncio.Future[Any] | None, value: Any) -> None:
    if fut is not None and not fut.done():
        fut.set_result(value)


def join_error(member_id: str, code: int) -> dict[str, Any]:
    return {
        "error_code": code,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }


def sync_result(code: int, group: Group | None = None, assignment: bytes = b"") -> dict[str, Any]:
    return {
        "error_code": code,
        "protocol_type": group.protocol_type if group is not None and code == E.NONE else None,
        "protocol_name": group.protocol_name if group is not None and code == E.NONE else None,
        "assignment": assignment,
    }


class GroupCoordinator:
    """All classic groups of this broker; the API handlers call its methods."""

    def __init__(self, broker: Broker | None, store: Store | None = None, settings: Settings | None = None):
        self.broker = broker
        if store is None:
            assert broker is not None
            store = OffsetsTopicStore(broker)
        self.store = store
        self.settings = settings or Settings.from_config(broker.config)  # type: ignore[union-attr]
        self.groups: dict[str, Group] = {}
        self._append_sequence = itertools.count()
        self.txn_offsets = PendingTransactionalOffsets()  # TxnOffsetCommit, until the marker
        self._retention_timer: asyncio.TimerHandle | None = None
        self._closed = False
        # KIP-848 consumer groups (consumer_coordinator.py), attached by the daemon; a consumer
        # group's committed offsets stay in this coordinator's (member-less) group of the same id.
        self.consumer: Any = None
        if not self.clustered:
            self.load()  # in a cluster, groups load as this broker gains offsets partitions

    # --- cluster: the coordinator of a group leads its __consumer_offsets partition -----------
    @property
    def clustered(self) -> bool:
        return self.broker is not None and self.broker.cluster is not None

    def owns(self, group_id: str) -> bool:
        if not self.clustered:
            return True
        assert self.broker is not None
        partition, _ = self.broker.leader_partition(OFFSETS_TOPIC, self.partition_for(group_id))
        return partition is not None

    def coordinator_node(self, group_id: str, listener: str | None = None) -> Any:
        """In a cluster, the broker FindCoordinator names: the offsets partition's leader, on
        the listener the request came in on."""
        assert self.broker is not None
        view = self.broker.partition_view(OFFSETS_TOPIC, self.partition_for(group_id))
        return None if view is None or view.leader < 0 else self.broker.broker_node(view.leader, listener)

    def on_leadership(self, topic: str, partition: int, is_leader: bool) -> None:
        """Load the groups of an offsets partition this broker now leads; drop those it lost."""
        if topic != OFFSETS_TOPIC or self._closed:
            return
        self._unload(partition)
        if is_leader:
            self.load({partition})

    def _unload(self, partition: int) -> None:
        for group_id in [g for g in self.groups if self.partition_for(g) == partition]:
            self._release(self.groups.pop(group_id))
            self.txn_offsets.drop_group(group_id)

    @staticmethod
    def _release(group: Group) -> None:
        """Stop a group's timers and answer its waiting joins/syncs NOT_COORDINATOR (the group
        moved away, or the broker is closing), so no client request hangs."""
        for timer in (group.join_timer, group.sync_timer, *group.pending_members.values()):
            if timer is not None:
                timer.cancel()
        for member in group.members.values():
            if member.session_timer is not None:
                member.session_timer.cancel()
            _resolve(member.join_future, join_error(member.member_id, E.NOT_COORDINATOR))
            _resolve(member.sync_future, sync_result(E.NOT_COORDINATOR))

    # --- event loop helpers -------------------------------------------------------------------
    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _later(self, delay_ms: int, callback: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        return self._loop().call_later(max(delay_ms, 0) / 1000, self._guard, callback, args)

    def _guard(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        """Timer callbacks must not raise into the loop; a bug is logged, the broker keeps going."""
        if self._closed:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("Group coordinator timer %s failed", getattr(callback, "__name__", callback))

    def start(self) -> None:
        """Start the offset-retention timer (needs a running loop; called on first request)."""
        if self._retention_timer is None and not self._closed:
            self._retention_timer = self._later(
                self.settings.offsets_retention_check_ms, self._retention_tick
            )

    async def close(self) -> None:
        """Cancel every timer and answer pending joins/syncs, so shutdown never hangs."""
        self._closed = True
        if self._retention_timer is not None:
            self._retention_timer.cancel()
        for group in self.groups.values():
            self._release(group)

    # --- persistence ------------------------------------------------------------------------------
    def partition_for(self, group_id: str) -> int:
        return partition_for(group_id, self.store.partition_count())

    async def ensure_offsets_topic(self) -> bool:
        return await self.store.ensure()

    def _group_value(self, group: Group, assignment: dict[str, bytes] | None = None) -> GroupValue:
        """The group's metadata record; ``assignment`` (member id -> bytes) replaces the members'
        current assignments (SyncGroup stores the leader's before it takes effect)."""
        members = [
            MemberRecord(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.rebalance_timeout_ms,
                m.session_timeout_ms,
                m.metadata(group.protocol_name),
                m.assignment if assignment is None else assignment.get(m.member_id, b""),
            )
            for m in group.members.values()
        ]
        return GroupValue(
            group.protocol_type or "",
            group.generation,
            group.protocol_name,
            group.leader_id,
            group.state_timestamp,
            members,
        )

    def _append(self, group_id: str, records: list[Record]) -> asyncio.Future[None]:
        """Append to the group's ``__consumer_offsets`` partition now; the future completes when
        the write is acknowledged and fails with :class:`AppendError` otherwise."""
        try:
            return self.store.append(self.partition_for(group_id), records)
        except Exception as exc:  # a bug or a broken store: answer an error, never hang
            log.exception("Failed to append to %s for group %s", OFFSETS_TOPIC, group_id)
            fut: asyncio.Future[None] = self._loop().create_future()
            fut.set_exception(AppendError(E.UNKNOWN_SERVER_ERROR, str(exc)))
            return fut

    async def _acknowledged(
        self, group_id: str, records: list[Record], what: str, commit: bool = False
    ) -> int:
        """Append and wait for the acknowledgement: NONE, or the coordinator's answer for the
        failure (Kafka's mapping of append errors)."""
        try:
            await self._append(group_id, records)
        except AppendError as exc:
            log.warning("Failed to write %s of group %s: %s", what, group_id, exc)
            return E.from_append_error(exc.code, offset_commit=commit)
        return E.NONE

    def _store_group(
        self,
        group: Group,
        then: Callable[[int], None] | None = None,
        assignment: dict[str, bytes] | None = None,
    ) -> None:
        """Append the group's metadata record now; ``then(error)`` runs once it is acknowledged
        (NONE) or has failed (the coordinator's answer for it). An append already settled - one
        broker, or acks=1 - calls ``then`` at once, so a lone broker answers in the same turn."""
        generation = group.generation
        try:
            value = encode_group_value(self._group_value(group, assignment))
        except Exception:
            log.exception("Failed to encode the metadata of group %s", group.group_id)
            if then is not None:
                then(E.UNKNOWN_SERVER_ERROR)
            return
        pending = self._append(group.group_id, [(encode_group_key(GroupKey(group.group_id)), value)])

        def settled(fut: asyncio.Future[None]) -> None:
            exc = fut.exception()
            code = E.NONE
            if exc is not None:
                raw = exc.code if isinstance(exc, AppendError) else E.UNKNOWN_SERVER_ERROR
                code = E.from_append_error(raw)
                log.warning(
                    "Failed to write the metadata of group %s generation %d: %s",
                    group.group_id,
                    generation,
                    exc,
                )
            if then is not None and not self._closed:
                self._guard(then, (code,))

        if pending.done():
            settled(pending)
        else:
            pending.add_done_callback(settled)

    def load(self, partitions: set[int] | None = None) -> None:
        """Rebuild groups and committed offsets from ``__consumer_offsets`` (last record wins),
        from every partition or only ``partitions``."""
        group_values: dict[str, GroupValue | None] = {}
        offsets: dict[OffsetKey, OffsetValue | None] = {}
        count = 0
        pending_txns = getattr(self.store, "pending_transactions", None)
        if pending_txns is not None:
            pending_txns.clear()
        for key_bytes, value_bytes in self.store.read_all(partitions):
            try:
                key = decode_key(key_bytes)
                if isinstance(key, OffsetKey):
                    offsets[key] = None if value_bytes is None else decode_offset_value(value_bytes)
                elif isinstance(key, GroupKey):
                    group_values[key.group] = None if value_bytes is None else decode_group_value(value_bytes)
                count += 1
            except (ValueError, UnicodeDecodeError) as exc:
                log.warning("Skipping an unreadable %s record: %s", "__consumer_offsets", exc)
        for group_id, value in group_values.items():
            if value is None:
                continue
            group = Group(group_id)
            group.protocol_type = value.protocol_type or None
            group.generation = value.generation
            group.protocol_name = value.protocol
            group.leader_id = value.leader
            if value.current_state_timestamp >= 0:
                group.state_timestamp = value.current_state_timestamp
            for m in value.members:
                member = Member(
                    m.member_id,
                    m.group_instance_id,
                    m.client_id,
                    m.client_host,
                    m.session_timeout_ms,
                    m.rebalance_timeout_ms,
                    group.protocol_type or "",
                    [(value.protocol or "", m.subscription)],
                    assignment=m.assignment,
                )
                group.members[m.member_id] = member
                if m.group_instance_id is not None:
                    group.static_members[m.group_instance_id] = m.member_id
            group.state = GroupState.STABLE if group.members else GroupState.EMPTY
            if group.leader_id not in group.members:
                group.leader_id = next(iter(group.members), None)
            self.groups[group_id] = group
        for key, value in offsets.items():
            if value is None:
                continue
            group = self.groups.get(key.group)
            if group is None:
                group = self.groups[key.group] = Group(key.group)
            group.offsets[(key.topic, key.partition)] = value
        # Offsets committed in transactions whose marker is not in the log yet: pending, newer
        # than anything loaded (a later plain commit of the same partition already replaced them).
        for producer_id, group_id, tp, value in pending_offsets(pending_txns or {}):
            if group_id not in self.groups:
                self.groups[group_id] = Group(group_id)
            self.txn_offsets.add(group_id, producer_id, {tp: value}, next(self._append_sequence))
        if count:
            log.info("Loaded %d group(s) from %d record(s) of __consumer_offsets", len(self.groups), count)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        for group in self.groups.values():
            for member in group.members.values():
                self._schedule_session(group, member)
        self.start()  # offsets of groups nobody touches after a restart still expire

    # --- JoinGroup ------------------------------------------------------------------------------
    async def join_group(self, req: JoinRequest) -> dict[str, Any]:
        self.start()
        fut: asyncio.Future[dict[str, Any]] = self._loop().create_future()
        self._handle_join(req, fut)
        return await fut

    def _handle_join(self, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]) -> None:
        s = self.settings
        if not req.group_id:
            return _resolve(fut, join_error(req.member_id, E.INVALID_GROUP_ID))
        if not s.min_session_timeout_ms <= req.session_timeout_ms <= s.max_session_timeout_ms:
            return _resolve(fut, join_error(req.member_id, E.INVALID_SESSION_TIMEOUT))
        group = self.groups.get(req.group_id)
        if group is None:
            if req.member_id:
                return _resolve(fut, join_error(req.member_id, E.UNKNOWN_MEMBER_ID))
            group = self.groups[req.group_id] = Group(req.group_id)
        if group.state is GroupState.DEAD:
            return _resolve(fut, join_error(req.member_id, E.COORDINATOR_NOT_AVAILABLE))
        names = [name for name, _ in req.protocols]
        if not group.supports(req.protocol_type, names, req.member_id or None):
            return _resolve(fut, join_error(req.member_id, E.INCONSISTENT_GROUP_PROTOCOL))
        if not req.member_id:
            new_id = f"{req.group_instance_id or req.client_id}-{uuid.uuid4()}"
            if req.group_instance_id is not None:
                return self._static_join(group, req, new_id, fut)
            if req.require_known_member_id:
                # The client must come back with this id; until then it is only "pending", and
                # forgotten after a session timeout if it never does.
                group.pending_members[new_id] = self._later(
                    req.session_timeout_ms, self._expire_pending, group, new_id
                )
                return _resolve(fut, join_error(new_id, E.MEMBER_ID_REQUIRED))
            return self._add_member_and_rebalance(group, req, new_id, fut)
        return self._existing_member_join(group, req, fut)

    def _existing_member_join(
        self, group: Group, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        member_id = req.member_id
        if member_id in group.pending_members:
            timer = group.pending_members.pop(member_id)
            if timer is not None:
                timer.cancel()
            return self._add_member_and_rebalance(group, req, member_id, fut)
        if group.is_static_member_fenced(req.group_instance_id, member_id):
            return _resolve(fut, join_error(member_id, E.FENCED_INSTANCE_ID))
        member = group.members.get(member_id)
        if member is None or group.state in (GroupState.EMPTY, GroupState.DEAD):
            return _resolve(fut, join_error(member_id, E.UNKNOWN_MEMBER_ID))
        if group.state is GroupState.PREPARING_REBALANCE:
            self._update_member(member, req, fut)
            return self._try_complete_join(group)
        if group.state is GroupState.COMPLETING_REBALANCE:
            if member.matches(req.protocols):
                # A retried JoinGroup whose answer was lost: send the same answer again.
                return _resolve(fut, self._join_response(group, member))
            self._update_member(member, req, fut)
            return self._prepare_rebalance(group, f"member {member_id} changed its protocols")
        # Stable: a follower with unchanged metadata just gets the current generation back; the
        # leader rejoining (e.g. because topic metadata changed) or new metadata means a rebalance.
        if group.leader_id != member_id and member.matches(req.protocols):
            self._schedule_session(group, member)
            return _resolve(fut, self._join_response(group, member))
        self._update_member(member, req, fut)
        return self._prepare_rebalance(group, f"member {member_id} rejoined")

    def _static_join(
        self, group: Group, req: JoinRequest, new_id: str, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        """A static member joins without a member id: a newcomer, or a restart of a known instance.

        A restart takes over the old incarnation's place (KIP-345). As in Kafka's coordinator, a
        Stable group keeps its generation and assignment unless the protocol the group would pick
        changes; a group in CompletingRebalance rebalances again (the leader may already be
        assigning to the old member id); a PreparingRebalance group just counts the member as joined.
        """
        instance_id = req.group_instance_id
        assert instance_id is not None
        old_id = group.static_members.get(instance_id)
        if old_id is None:
            return self._add_member_and_rebalance(group, req, new_id, fut)
        previous_leader = group.leader_id
        member = group.members[old_id]
        # The old incarnation is fenced: its pending answers say so.
        _resolve(member.join_future, join_error(old_id, E.FENCED_INSTANCE_ID))
        _resolve(member.sync_future, sync_result(E.FENCED_INSTANCE_ID))
        member.join_future = member.sync_future = None
        saved = (member.protocols, member.session_timeout_ms, member.rebalance_timeout_ms)
        group.replace_static_member(instance_id, new_id)
        member.client_id, member.client_host = req.client_id, req.client_host
        self._update_member(member, req, fut)
        self._schedule_session(group, member)
        log.info("Static member %s of group %s rejoined as %s", instance_id, group.group_id, new_id)
        if group.state is GroupState.PREPARING_REBALANCE:
            return self._try_complete_join(group)
        if group.state is GroupState.STABLE and group.select_protocol() == group.protocol_name:
            return self._static_rejoin_stable(group, member, old_id, saved, previous_leader, req)
        reason = f"static member {instance_id} rejoined"
        if group.state is GroupState.STABLE:
            reason += " with a change of protocol"
        return self._prepare_rebalance(group, reason)

    def _static_rejoin_stable(
        self,
        group: Group,
        member: Member,
        old_id: str,
        saved: tuple[list[tuple[str, bytes]], int, int],
        previous_leader: str | None,
        req: JoinRequest,
    ) -> None:
        """Answer a restarted static member of a Stable group without a rebalance.

        Kafka stores the group with the new member id first; if that fails the replacement is
        undone. The answer must not make the member run the assignor: a Stable group ignores the
        assignments in SyncGroup, and a leader busy assigning (fetching metadata, then syncing)
        is one more in-flight step a closing client waits for. So before JoinGroup v9 the answer
        names the *previous* leader id (a restarted leader does not recognise itself) and lists
        no members; from v9 the leader gets the members with ``skip_assignment`` (KIP-814).
        """
        fut = member.join_future
        member.join_future = None
        new_id = member.member_id

        def stored(code: int) -> None:
            if fut is None or fut.done():
                return
            if code:
                # Undo the replacement, unless the group has moved on since (then the member's
                # fate is already decided elsewhere).
                if group.members.get(new_id) is member and member.group_instance_id is not None:
                    member.protocols, member.session_timeout_ms, member.rebalance_timeout_ms = saved
                    group.replace_static_member(member.group_instance_id, old_id)
                    self._schedule_session(group, member)
                return _resolve(fut, join_error("", code))
            log.info(
                "Static member %s of group %s rejoined a Stable group without changing its protocol: no rebalance",
                member.member_id,
                group.group_id,
            )
            if req.supports_skip_assignment:
                return _resolve(fut, self._join_response(group, member, skip_assignment=True))
            answer = self._join_response(group, member)
            answer.update(leader=previous_leader or "", members=[])
            return _resolve(fut, answer)

        self._store_group(group, stored)

    def _add_member_and_rebalance(
        self, group: Group, req: JoinRequest, member_id: str, fut: asyncio.Future[dict[str, Any]]
    ) -> None:
        member = Member(
            member_id,
            req.group_instance_id,
            req.client_id,
            req.client_host,
            req.session_timeout_ms,
            req.rebalance_timeout_ms,
            req.protocol_type,
            list(req.protocols),
            join_future=fut,
            is_new=True,
        )
        group.add(member)
        log.info("Member %s joins group %s (state %s)", member_id, group.group_id, group.state.value)
        if group.state is GroupState.PREPARING_REBALANCE:
            group.new_member_added = True
            return self._try_complete_join(group)
        return self._prepare_rebalance(group, f"adding new member {member_id}")

    def _update_member(self, member: Member, req: JoinRequest, fut: asyncio.Future[dict[str, Any]]) -> None:
        if member.join_future is not fut:
            _resolve(member.join_future, join_error(member.member_id, E.REBALANCE_IN_PROGRESS))
        member.protocols = list(req.protocols)
        member.session_timeout_ms = req.session_timeout_ms
        member.rebalance_timeout_ms = req.rebalance_timeout_ms
        member.join_future = fut

    def _expire_pending(self, group: Group, member_id: str) -> None:
        if group.pending_members.pop(member_id, "absent") != "absent":
            log.info("Pending member %s of group %s never joined; forgetting it", member_id, group.group_id)
            if group.state is GroupState.PREPARING_REBALANCE:
                self._try_complete_join(group)

    def _join_response(self, group: Group, member: Member, skip_assignment: bool = False) -> dict[str, Any]:
        is_leader = group.leader_id == member.member_id
        members = []
        if is_leader:
            members = [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "metadata": m.metadata(group.protocol_name),
                }
                for m in group.members.values()
            ]
        return {
            "error_code": E.NONE,
            "generation_id": group.generation,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "leader": group.leader_id or "",
            "skip_assignment": skip_assignment and is_leader,
            "member_id": member.member_id,
            "members": members,
        }

    # --- rebalance --------------------------------------------------------------------------------
    def _cancel(self, timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.state is GroupState.COMPLETING_REBALANCE:
            # Members waiting for the assignment of a generation that will never be: retry.
            for member in group.members.values():
                member.assignment = b""
                _resolve(member.sync_future, sync_result(E.REBALANCE_IN_PROGRESS))
                member.sync_future = None
        self._cancel(group.sync_timer)
        group.sync_timer = None
        group.pending_sync.clear()
        self._cancel(group.join_timer)
        initial = group.state is GroupState.EMPTY and self.settings.initial_rebalance_delay_ms > 0
        group.transition(GroupState.PREPARING_REBALANCE)
        log.info(
            "Preparing to rebalance group %s in state PreparingRebalance with old generation %d (reason: %s)",
            group.group_id,
            group.generation,
            reason,
        )
        if initial:
            delay = self.settings.initial_rebalance_delay_ms
            group.new_member_added = False
            self._schedule_initial_join(group, delay, max(group.rebalance_timeout_ms() - delay, 0))
        else:
            group.delaying = False
            group.join_timer = self._later(group.rebalance_timeout_ms(), self._on_join_timeout, group)
            self._try_complete_join(group)

    def _schedule_initial_join(self, group: Group, delay_ms: int, remaining_ms: int) -> None:
        """group.initial.rebalance.delay.ms: wait for more members; each newcomer extends the wait
        by another delay, bounded by the rebalance timeout."""
        group.delaying = True

        def fire() -> None:
            group.join_timer = None
            if group.state is not GroupState.PREPARING_REBALANCE:
                return
            if group.new_member_added and remaining_ms > 0:
                group.new_member_added = False
                step = min(self.settings.initial_rebalance_delay_ms, remaining_ms)
                self._schedule_initial_join(group, step, remaining_ms - step)
                return
            group.delaying = False
            self._complete_join(group)

        group.join_timer = self._later(delay_ms, fire)

    def _try_complete_join(self, group: Group) -> None:
        if group.state is GroupState.PREPARING_REBALANCE and not group.delaying and group.all_joined():
            self._complete_join(group)

    def _on_join_timeout(self, group: Group) -> None:
        group.join_timer = None
        if group.state is GroupState.PREPARING_REBALANCE:
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        self._cancel(group.join_timer)
        group.join_timer = None
        group.delaying = False
        # Dynamic members that did not rejoin within the rebalance timeout are out; static
        # members keep their place until their session expires.
        for member in group.not_yet_rejoined():
            if member.group_instance_id is None:
                log.info(
                    "Member %s of group %s did not rejoin in time; removing it",
                    member.member_id,
                    group.group_id,
                )
                self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        for pending_id, timer in list(group.pending_members.items()):
            self._cancel(timer)
            del group.pending_members[pending_id]
        if not group.members:
            group.generation += 1
            group.protocol_name = None
            group.leader_id = None
            group.transition(GroupState.EMPTY)
            log.info("Group %s with generation %d is now empty", group.group_id, group.generation)
            self._store_group(group)  # a failure is logged; the next change stores the group again
            return
        if not group.elect_joined_leader():
            # Only static members that have not rejoined remain: wait for them (or their expiry).
            group.join_timer = self._later(group.rebalance_timeout_ms(), self._on_join_timeout, group)
            return
        group.generation += 1
        group.protocol_name = group.select_protocol()
        group.transition(GroupState.COMPLETING_REBALANCE)
        group.pending_sync = set(group.members)
        log.info(
            "Stabilized group %s generation %d with %d member(s), protocol %s",
            group.group_id,
            group.generation,
            len(group.members),
            group.protocol_name,
        )
        for member in list(group.members.values()):
            if member.awaiting_join:
                _resolve(member.join_future, self._join_response(group, member))
            member.join_future = None
            member.is_new = False
            self._schedule_session(group, member)
        group.sync_timer = self._later(
            group.rebalance_timeout_ms(), self._on_sync_timeout, group, group.generation
        )

    def _on_sync_timeout(self, group: Group, generation: int) -> None:
        group.sync_timer = None
        if group.generation != generation or not group.pending_sync:
            return
        if group.state not in (GroupState.COMPLETING_REBALANCE, GroupState.STABLE):
            return
        for member_id in list(group.pending_sync):
            member = group.members.get(member_id)
            if member is not None:
                log.info("Member %s of group %s did not sync in time; removing it", member_id, group.group_id)
                self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        group.pending_sync.clear()
        self._prepare_rebalance(group, "members did not send SyncGroup in time")

    # --- sessions -----------------------------------------------------------------------------
    def _schedule_session(self, group: Group, member: Member) -> None:
        self._cancel(member.session_timer)
        member.session_timer = self._later(member.session_timeout_ms, self._on_session_expired, group, member)

    def _on_session_expired(self, group: Group, member: Member) -> None:
        member.session_timer = None
        if group.members.get(member.member_id) is not member:
            return
        if member.awaiting_join or member.awaiting_sync:
            # The rebalance timeout governs members waiting for an answer.
            self._schedule_session(group, member)
            return
        log.info(
            "Member %s in group %s has failed, removing it from the group (session timeout %d ms)",
            member.member_id,
            group.group_id,
            member.session_timeout_ms,
        )
        self._remove_member_and_update(group, member, "session timeout")

    def _remove_member(self, group: Group, member: Member, code: int) -> None:
        self._cancel(member.session_timer)
        member.session_timer = None
        _resolve(member.join_future, join_error(member.member_id, code))
        _resolve(member.sync_future, sync_result(code))
        member.join_future = member.sync_future = None
        group.remove(member.member_id)

    def _remove_member_and_update(self, group: Group, member: Member, reason: str) -> None:
        self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, f"removing member {member.member_id} ({reason})")
        elif group.state is GroupState.PREPARING_REBALANCE:
            self._try_complete_join(group)

    def _check_member(
        self, group: Group | None, member_id: str, instance_id: str | None
    ) -> tuple[int, Member | None]:
        if group is None:
            return E.UNKNOWN_MEMBER_ID, None
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE, None
        if group.is_static_member_fenced(instance_id, member_id):
            return E.FENCED_INSTANCE_ID, None
        if instance_id is not None and instance_id not in group.static_members:
            return E.UNKNOWN_MEMBER_ID, None
        member = group.members.get(member_id)
        if member is None:
            return E.UNKNOWN_MEMBER_ID, None
        return E.NONE, member

    # --- SyncGroup ----------------------------------------------------------------------------
    async def sync_group(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: Iterable[tuple[str, bytes]],
    ) -> dict[str, Any]:
        self.start()
        group = self.groups.get(group_id)
        code, member = self._check_member(group, member_id, instance_id)
        if code:
            return sync_result(code)
        assert group is not None and member is not None
        if generation != group.generation:
            return sync_result(E.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return sync_result(E.INCONSISTENT_GROUP_PROTOCOL)
        if group.state is GroupState.EMPTY:
            return sync_result(E.UNKNOWN_MEMBER_ID)
        if group.state is GroupState.PREPARING_REBALANCE:
            return sync_result(E.REBALANCE_IN_PROGRESS)
        group.pending_sync.discard(member_id)
        self._schedule_session(group, member)
        if group.state is GroupState.STABLE:
            return sync_result(E.NONE, group, member.assignment)
        # CompletingRebalance: wait for the leader's assignment.
        fut: asyncio.Future[dict[str, Any]] = self._loop().create_future()
        _resolve(member.sync_future, sync_result(E.REBALANCE_IN_PROGRESS))
        member.sync_future = fut
        if member_id == group.leader_id:
            given = dict(assignments)
            generation = group.generation

            def stored(code: int) -> None:
                # As Kafka's coordinator: the assignment takes effect only once the group record
                # holding it is acknowledged, and only if the group is still in that rebalance.
                if (
                    self.groups.get(group.group_id) is not group
                    or group.generation != generation
                    or group.state is not GroupState.COMPLETING_REBALANCE
                ):
                    return
                if code:
                    for m in group.members.values():
                        m.assignment = b""
                        _resolve(m.sync_future, sync_result(code))
                        m.sync_future = None
                    self._prepare_rebalance(group, f"error storing the assignment of member {member_id}")
                    return
                for m in group.members.values():
                    m.assignment = given.get(m.member_id, b"")
                group.transition(GroupState.STABLE)
                log.info(
                    "Assignment received from leader %s for group %s for generation %d",
                    member_id,
                    group.group_id,
                    group.generation,
                )
                for m in group.members.values():
                    _resolve(m.sync_future, sync_result(E.NONE, group, m.assignment))
                    m.sync_future = None

            self._store_group(group, stored, assignment=given)
        return await fut

    # --- Heartbeat and LeaveGroup ---------------------------------------------------------------
    def heartbeat(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        group = self.groups.get(group_id)
        code, member = self._check_member(group, member_id, instance_id)
        if code:
            return code
        assert group is not None and member is not None
        if generation != group.generation:
            return E.ILLEGAL_GENERATION
        if group.state is GroupState.EMPTY:
            return E.UNKNOWN_MEMBER_ID
        self._schedule_session(group, member)
        if group.state is GroupState.PREPARING_REBALANCE:
            return E.REBALANCE_IN_PROGRESS
        return E.NONE

    def leave_group(
        self, group_id: str, members: list[tuple[str, str | None]]
    ) -> tuple[int, list[tuple[str, str | None, int]]]:
        """Remove each (member id, instance id); returns (group error, per-member errors)."""
        group = self.groups.get(group_id)
        if group is None:
            return E.UNKNOWN_MEMBER_ID, [(m, i, E.UNKNOWN_MEMBER_ID) for m, i in members]
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE, [(m, i, E.COORDINATOR_NOT_AVAILABLE) for m, i in members]
        results = []
        removed = False
        for member_id, instance_id in members:
            if not member_id and instance_id is not None:
                member_id = group.static_members.get(instance_id, "")
                if not member_id:
                    results.append((member_id, instance_id, E.UNKNOWN_MEMBER_ID))
                    continue
            if group.is_static_member_fenced(instance_id, member_id):
                results.append((member_id, instance_id, E.FENCED_INSTANCE_ID))
                continue
            if member_id in group.pending_members:
                self._cancel(group.pending_members.pop(member_id))
                results.append((member_id, instance_id, E.NONE))
                removed = True
                continue
            member = group.members.get(member_id)
            if member is None:
                results.append((member_id, instance_id, E.UNKNOWN_MEMBER_ID))
                continue
            log.info("Member %s has left group %s through explicit LeaveGroup", member_id, group_id)
            self._remove_member(group, member, E.UNKNOWN_MEMBER_ID)
            results.append((member_id, instance_id, E.NONE))
            removed = True
        if removed:
            if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
                self._prepare_rebalance(group, "member left the group")
            elif group.state is GroupState.PREPARING_REBALANCE:
                self._try_complete_join(group)
        return E.NONE, results

    # --- offsets --------------------------------------------------------------------------------
    def _validate_commit(self, group: Group, generation: int, member_id: str, instance_id: str | None) -> int:
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if generation < 0 and group.state is GroupState.EMPTY:
            return E.NONE  # a consumer using assign(), or the admin client
        if generation >= 0 or member_id or instance_id is not None:
            if instance_id is not None:
                known = group.static_members.get(instance_id)
                if known is None:
                    return E.UNKNOWN_MEMBER_ID
                if known != member_id:
                    return E.FENCED_INSTANCE_ID
            if member_id not in group.members:
                return E.UNKNOWN_MEMBER_ID
            if generation != group.generation:
                return E.ILLEGAL_GENERATION
        elif group.state is not GroupState.EMPTY:
            return E.UNKNOWN_MEMBER_ID
        if group.state is GroupState.COMPLETING_REBALANCE:
            return E.REBALANCE_IN_PROGRESS
        return E.NONE

    async def commit_offsets(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        entries: list[CommitEntry],
        partition_exists: Callable[[str, int], bool],
    ) -> dict[tuple[str, int], int]:
        """Validate, append to ``__consumer_offsets``, wait until the append is acknowledged
        (``offsets.commit.required.acks``), then update the cache: errors by partition.

        A commit that could not be secured answers Kafka's mapped error (COORDINATOR_NOT_AVAILABLE
        when the in-sync replicas are too few or did not confirm within
        ``offsets.commit.timeout.ms``, NOT_COORDINATOR when leadership moved) and leaves the
        cached offsets as they were."""
        self.start()
        keys = [(e.topic, e.partition) for e in entries]
        if not group_id:
            return dict.fromkeys(keys, E.INVALID_GROUP_ID)
        group = self.groups.get(group_id)
        if group is None:
            if generation >= 0:
                return dict.fromkeys(keys, E.ILLEGAL_GENERATION)
            group = Group(group_id)
        code = self._validate_commit(group, generation, member_id, instance_id)
        if code:
            return dict.fromkeys(keys, code)
        now = now_ms()
        results: dict[tuple[str, int], int] = {}
        records: list[Record] = []
        accepted: dict[tuple[str, int], OffsetValue] = {}
        for e in entries:
            key = (e.topic, e.partition)
            if not partition_exists(e.topic, e.partition):
                results[key] = E.UNKNOWN_TOPIC_OR_PARTITION
                continue
            if e.metadata is not None and len(e.metadata.encode()) > OFFSET_METADATA_MAX_BYTES:
                results[key] = E.OFFSET_METADATA_TOO_LARGE
                continue
            value = OffsetValue(e.offset, e.leader_epoch, e.metadata or "", now)
            records.append(
                (encode_offset_key(OffsetKey(group_id, e.topic, e.partition)), encode_offset_value(value))
            )
            accepted[key] = value
            results[key] = E.NONE
        if not records:
            return results
        # Appends are in call order, acknowledgements may interleave: each commit carries its
        # append's sequence number and the cache keeps the latest appended value per partition.
        sequence = next(self._append_sequence)
        code = await self._acknowledged(group_id, records, "offsets", commit=True)
        if code:
            results.update(dict.fromkeys(accepted, code))
            return results
        current = self.groups.get(group_id)
        if current is None:
            if group.state is GroupState.DEAD:
                return results  # deleted meanwhile: the commit landed before the tombstones
            current = self.groups[group_id] = group
        for key, value in accepted.items():
            if current.offset_sequences.get(key, -1) < sequence:
                current.offsets[key] = value
                current.offset_sequences[key] = sequence
        member = current.members.get(member_id)
        if member is not None and current.state is not GroupState.EMPTY:
            self._schedule_session(current, member)  # a commit proves the member is alive
        return results

    # --- transactional offsets (KIP-98 / KIP-447) ---------------------------------------------------
    def _validate_txn_commit(
        self, group: Group, generation: int, member_id: str, instance_id: str | None
    ) -> int:
        """Kafka's validateOffsetCommit for a transactional commit: member and generation are
        checked when given; without them (older producers) any group accepts the commit."""
        if group.state is GroupState.DEAD:
            return E.COORDINATOR_NOT_AVAILABLE
        if generation < 0 and group.state is GroupState.EMPTY:
            return E.NONE
        if generation >= 0 or member_id or instance_id is not None:
            if instance_id is not None:
                known = group.static_members.get(instance_id)
                if known is None:
                    return E.UNKNOWN_MEMBER_ID
                if known != member_id:
                    return E.FENCED_INSTANCE_ID
            if member_id not in group.members:
                return E.UNKNOWN_MEMBER_ID
            if generation != group.generation:
                return E.ILLEGAL_GENERATION
        return E.NONE

    async def commit_transactional_offsets(
        self,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        generation: int,
        member_id: str,
        instance_id: str | None,
        entries: list[CommitEntry],
        guard: object,
    ) -> dict[tuple[str, int], int]:
        """TxnOffsetCommit: append the offsets as the producer's transactional batch (acknowledged
        as any commit); they stay pending, invisible to OffsetFetch, until the transaction's
        marker (:meth:`complete_transaction`). Errors by partition."""
        self.start()
        keys = [(e.topic, e.partition) for e in entries]
        if not group_id:
            return dict.fromkeys(keys, E.INVALID_GROUP_ID)
        group = self.groups.get(group_id) or Group(group_id)
        code = self._validate_txn_commit(group, generation, member_id, instance_id)
        if code:
            return dict.fromkeys(keys, code)
        now = now_ms()
        results: dict[tuple[str, int], int] = {}
        records: list[Record] = []
        accepted: dict[tuple[str, int], OffsetValue] = {}
        for e in entries:
            key = (e.topic, e.partition)
            if e.metadata is not None and len(e.metadata.encode()) > OFFSET_METADATA_MAX_BYTES:
                results[key] = E.OFFSET_METADATA_TOO_LARGE
                continue
            value = OffsetValue(e.offset, e.leader_epoch, e.metadata or "", now)
            records.append(
                (encode_offset_key(OffsetKey(group_id, e.topic, e.partition)), encode_offset_value(value))
            )
            accepted[key] = value
            results[key] = E.NONE
        if not records:
            return results
        sequence = next(self._append_sequence)
        try:
            await self.store.append_transactional(
                self.partition_for(group_id), records, producer_id, producer_epoch, guard
            )
        except AppendError as exc:
            log.info("Failed to write transactional offsets of group %s: %s", group_id, exc)
            results.update(dict.fromkeys(accepted, E.from_append_error(exc.code, offset_commit=True)))
            return results
        self.groups.setdefault(group_id, group)
        self.txn_offsets.add(group_id, producer_id, accepted, sequence)
        return results

    def complete_transaction(self, producer_id: int, offsets_partitions: set[int], commit: bool) -> None:
        """A marker of ``producer_id`` is in these ``__consumer_offsets`` partitions: its pending
        offsets become committed (or are dropped), as Kafka's handleTxnCompletion; a plain commit
        appended after the transactional one keeps its newer value."""
        for group_id, offsets in self.txn_offsets.complete(
            producer_id, offsets_partitions, self.partition_for
        ):
            if not commit:
                continue
            group = self.groups.get(group_id)
            if group is None:  # expired while only pending offsets kept it: they revive it
                group = self.groups[group_id] = Group(group_id)
            if group.state is GroupState.DEAD:
                continue
            for key, (value, sequence) in offsets.items():
                if group.offset_sequences.get(key, -1) < sequence:
                    group.offsets[key] = value
                    group.offset_sequences[key] = sequence

    def fetch_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]] | None
    ) -> tuple[int, list[tuple[str, list[tuple[int, OffsetValue | None]]]]]:
        """Committed offsets of the requested partitions (None = all); None value = no commit."""
        group = self.groups.get(group_id)
        if group is not None and group.state is GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND, []
        offsets = group.offsets if group is not None else {}
        if topics is None:
            by_topic: dict[str, list[tuple[int, OffsetValue | None]]] = {}
            for (topic, partition), value in sorted(offsets.items()):
                by_topic.setdefault(topic, []).append((partition, value))
            return E.NONE, list(by_topic.items())
        return E.NONE, [(topic, [(p, offsets.get((topic, p))) for p in parts]) for topic, parts in topics]

    def _tombstones(self, group_id: str, keys: Iterable[tuple[str, int]]) -> list[Record]:
        return [(encode_offset_key(OffsetKey(group_id, t, p)), None) for t, p in keys]

    async def delete_offsets(
        self, group_id: str, topics: list[tuple[str, list[int]]]
    ) -> tuple[int, dict[tuple[str, int], int]]:
        """OffsetDelete: only for empty groups, or for topics a consumer group does not subscribe to."""
        group = self.groups.get(group_id)
        if group is None or group.state is GroupState.DEAD:
            return E.GROUP_ID_NOT_FOUND, {}
        subscribed: set[str] = set()
        if group.state is not GroupState.EMPTY:
            found = group.subscribed_topics()
            if group.protocol_type != "consumer" or found is None:
                return E.NON_EMPTY_GROUP, {}
            subscribed = found
        results: dict[tuple[str, int], int] = {}
        doomed = []
        for topic, parts in topics:
            for p in parts:
                if topic in subscribed:
                    results[(topic, p)] = E.GROUP_SUBSCRIBED_TO_TOPIC
                else:
                    results[(topic, p)] = E.NONE
                    if (topic, p) in group.offsets:
                        doomed.append((topic, p))
        if doomed:
            pending = self._append(group_id, self._tombstones(group_id, doomed))
            # The cache follows the log at once (the tombstones are written); the answer waits
            # for them to be acknowledged, as Kafka's coordinator runtime answers.
            for key in doomed:
                group.offsets.pop(key, None)
            try:
                await pending
            except AppendError as exc:
                log.warning("Failed to delete offsets of group %s: %s", group_id, exc)
                return E.from_append_error(exc.code), {}
        return E.NONE, results

    # --- list, describe, delete -------------------------------------------------------------------
    def list_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> list[dict[str, Any]]:
        wanted_states = {s.lower() for s in states}
        wanted_types = {t.lower() for t in types}
        if wanted_types and "classic" not in wanted_types:
            return []
        listed = []
        for group in self.groups.values():
            if group.state is GroupState.DEAD:
                continue
            if wanted_states and group.state.value.lower() not in wanted_states:
                continue
            listed.append(
                {
                    "group_id": group.group_id,
                    "protocol_type": group.protocol_type or "",
                    "group_state": group.state.value,
                    "group_type": "classic",
                }
            )
        return listed

    def describe_group(self, group_id: str) -> dict[str, Any] | None:
        """Kafka's group summary: member metadata and assignments only once the group is Stable."""
        group = self.groups.get(group_id)
        if group is None or group.state is GroupState.DEAD:
            return None
        stable = group.state is GroupState.STABLE
        return {
            "error_code": E.NONE,
            "group_id": group_id,
            "group_state": group.state.value,
            "protocol_type": group.protocol_type or "",
            "protocol_data": (group.protocol_name or "") if stable else "",
            "members": [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "member_metadata": m.metadata(group.protocol_name) if stable else b"",
                    "member_assignment": m.assignment if stable else b"",
                }
                for m in group.members.values()
            ],
            "authorized_operations": -2147483648,
        }

    async def delete_groups(self, group_ids: Iterable[str]) -> dict[str, int]:
        results: dict[str, int] = {}
        pending: dict[str, asyncio.Future[None]] = {}
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if not group_id:
                results[group_id] = E.INVALID_GROUP_ID
            elif group is None or group.state is GroupState.DEAD:
                results[group_id] = E.GROUP_ID_NOT_FOUND
            elif group.state is not GroupState.EMPTY or group.pending_members:
                results[group_id] = E.NON_EMPTY_GROUP
            else:
                pending[group_id] = self._delete_group(group)
                results[group_id] = E.NONE
        for group_id, fut in pending.items():
            try:
                await fut
            except AppendError as exc:
                log.warning("Failed to delete group %s: %s", group_id, exc)
                results[group_id] = E.from_append_error(exc.code)
        return results

    def _delete_group(self, group: Group) -> asyncio.Future[None]:
        """Write the group's tombstones and forget it now; the future says whether the tombstones
        were acknowledged (the answer to DeleteGroups waits for it)."""
        records = self._tombstones(group.group_id, list(group.offsets))
        records.append((encode_group_key(GroupKey(group.group_id)), None))
        pending = self._append(group.group_id, records)
        group.transition(GroupState.DEAD)
        self._cancel(group.join_timer)
        self._cancel(group.sync_timer)
        del self.groups[group.group_id]
        self.txn_offsets.drop_group(group.group_id)
        log.info("Group %s deleted", group.group_id)
        return pending

    # --- offset retention ---------------------------------------------------------------------
    def _retention_tick(self) -> None:
        self._retention_timer = None
        try:
            self.expire_offsets(now_ms())
        finally:
            if not self._closed:
                self._retention_timer = self._later(
                    self.settings.offsets_retention_check_ms, self._retention_tick
                )

    def expire_offsets(self, now: int) -> int:
        """Drop offsets past ``offsets.retention.minutes``, as Kafka does: for an empty group,
        counted from when it became empty; for a group with no protocol (assign() consumers),
        from each commit. Groups left empty with no offsets are removed. Returns the count."""
        retention = self.settings.offsets_retention_ms
        expired_total = 0
        for group in list(self.groups.values()):
            if self.consumer is not None and self.consumer.has_members(group.group_id):
                continue  # a live consumer group keeps its offsets
            if group.state is GroupState.EMPTY and group.protocol_type is not None:
                expired = list(group.offsets) if group.state_timestamp + retention <= now else []
            elif group.protocol_type is None and not group.members:
                expired = [k for k, v in group.offsets.items() if v.commit_timestamp + retention <= now]
            else:
                expired = []
            if expired:
                # Not waited for, as Kafka's expiry: tombstones that are lost are written again by
                # the next expiry pass of whichever broker then coordinates the group.
                self._append(group.group_id, self._tombstones(group.group_id, expired)).add_done_callback(
                    self._log_expiry_failure
                )
                for key in expired:
                    group.offsets.pop(key, None)
                expired_total += len(expired)
                log.info("Removed %d expired offset(s) of group %s", len(expired), group.group_id)
            if (
                group.state is GroupState.EMPTY
                and not group.offsets
                and not group.members
                and not group.pending_members
            ):
                self._delete_group(group).add_done_callback(self._log_expiry_failure)
        return expired_total

    @staticmethod
    def _log_expiry_failure(fut: asyncio.Future[None]) -> None:
        exc = fut.exception()
        if exc is not None:
            log.warning("Expired offsets or groups were not acknowledged: %s", exc)
