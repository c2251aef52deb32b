"""The classic groups and their records on ``__consumer_offsets``: the cache, loading it, writing it.

Kafka's GroupMetadataManager for classic groups: every group and its committed offsets are
kept in memory (:attr:`GroupMetadataManager.groups`) and each change is appended to the group's
``__consumer_offsets`` partition through the broker's one append path (:mod:`store`). Loading
replays that partition (last record wins), so groups and offsets survive ``kill -9`` and move
with the partition's leadership. Listing, describing and deleting groups read or write the
same cache and records.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.coordinator_timers import CoordinatorTimers
from kcli.server.coordinator.group import Group, GroupState, Member
from kcli.server.coordinator.group_requests import join_error, resolve, sync_result
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
    partition_for,
)
from kcli.server.coordinator.store import OFFSETS_TOPIC, AppendError, Record, Store
from kcli.server.coordinator.transactional_offsets import PendingTransactionalOffsets, pending_offsets

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")


class GroupMetadataManager:
    """The classic groups this broker coordinates, in memory and in ``__consumer_offsets``."""

    def __init__(self, store: Store, timers: CoordinatorTimers):
        self.store = store
        self.timers = timers
        self.groups: dict[str, Group] = {}
        # Appends are numbered in call order: a cached offset is only replaced by a later one.
        self.append_sequence = itertools.count()
        self.txn_offsets = PendingTransactionalOffsets()  # TxnOffsetCommit, until the marker

    def partition_for(self, group_id: str) -> int:
        return partition_for(group_id, self.store.partition_count())

    def group_value(self, group: Group, assignment: dict[str, bytes] | None = None) -> GroupValue:
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

    def append(self, group_id: str, records: list[Record]) -> asyncio.Future[None]:
        """Append to the group's ``__consumer_offsets`` partition now; the future completes when
        the write is acknowledged and fails with :class:`AppendError` otherwise."""
        try:
            return self.store.append(self.partition_for(group_id), records)
        except Exception as exc:  # a bug or a broken store: answer an error, never hang
            log.exception("Failed to append to %s for group %s", OFFSETS_TOPIC, group_id)
            fut: asyncio.Future[None] = self.timers.loop().create_future()
            fut.set_exception(AppendError(E.UNKNOWN_SERVER_ERROR, str(exc)))
            return fut

    async def acknowledged(
        self, group_id: str, records: list[Record], what: str, commit: bool = False
    ) -> int:
        """Append and wait for the acknowledgement: NONE, or the coordinator's answer for the
        failure (Kafka's mapping of append errors)."""
        try:
            await self.append(group_id, records)
        except AppendError as exc:
            log.warning("Failed to write %s of group %s: %s", what, group_id, exc)
            return E.from_append_error(exc.code, offset_commit=commit)
        return E.NONE

    def store_group(
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
            value = encode_group_value(self.group_value(group, assignment))
        except Exception:
            log.exception("Failed to encode the metadata of group %s", group.group_id)
            if then is not None:
                then(E.UNKNOWN_SERVER_ERROR)
            return
        pending = self.append(group.group_id, [(encode_group_key(GroupKey(group.group_id)), value)])

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
            if then is not None and not self.timers.closed:
                self.timers.guard(then, (code,))

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
            self.txn_offsets.add(group_id, producer_id, {tp: value}, next(self.append_sequence))
        if count:
            log.info("Loaded %d group(s) from %d record(s) of __consumer_offsets", len(self.groups), count)

    def tombstones(self, group_id: str, keys: Iterable[tuple[str, int]]) -> list[Record]:
        return [(encode_offset_key(OffsetKey(group_id, t, p)), None) for t, p in keys]

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
                pending[group_id] = self.delete_group(group)
                results[group_id] = E.NONE
        for group_id, fut in pending.items():
            try:
                await fut
            except AppendError as exc:
                log.warning("Failed to delete group %s: %s", group_id, exc)
                results[group_id] = E.from_append_error(exc.code)
        return results

    def delete_group(self, group: Group) -> asyncio.Future[None]:
        """Write the group's tombstones and forget it now; the future says whether the tombstones
        were acknowledged (the answer to DeleteGroups waits for it)."""
        records = self.tombstones(group.group_id, list(group.offsets))
        records.append((encode_group_key(GroupKey(group.group_id)), None))
        pending = self.append(group.group_id, records)
        group.transition(GroupState.DEAD)
        self.timers.cancel(group.join_timer)
        self.timers.cancel(group.sync_timer)
        del self.groups[group.group_id]
        self.txn_offsets.drop_group(group.group_id)
        log.info("Group %s deleted", group.group_id)
        return pending

    # --- leadership moves -------------------------------------------------------------------
    def unload(self, partition: int) -> None:
        for group_id in [g for g in self.groups if self.partition_for(g) == partition]:
            self.release(self.groups.pop(group_id))
            self.txn_offsets.drop_group(group_id)

    @staticmethod
    def release(group: Group) -> None:
        """Stop a group's timers and answer its waiting joins/syncs NOT_COORDINATOR (the group
        moved away, or the broker is closing), so no client request hangs."""
        for timer in (group.join_timer, group.sync_timer, *group.pending_members.values()):
            if timer is not None:
                timer.cancel()
        for member in group.members.values():
            if member.session_timer is not None:
                member.session_timer.cancel()
            resolve(member.join_future, join_error(member.member_id, E.NOT_COORDINATOR))
            resolve(member.sync_future, sync_result(E.NOT_COORDINATOR))
