"""Committed offsets of groups: OffsetCommit, TxnOffsetCommit, OffsetFetch, OffsetDelete, expiry.

Kafka's OffsetMetadataManager. The offsets live in each group's cache entry
(:class:`~kcli.server.coordinator.group.Group`) of :mod:`group_metadata_manager`; a commit is
validated against the group's members and generation, appended to ``__consumer_offsets`` and
applied to the cache once acknowledged. Transactional commits stay pending until their marker.
Offsets past ``offsets.retention.minutes`` are expired as Kafka expires them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group import Group, GroupState, Member, now_ms
from kcli.server.coordinator.group_metadata_manager import GroupMetadataManager
from kcli.server.coordinator.group_requests import CommitEntry, Settings
from kcli.server.coordinator.schema import OffsetKey, OffsetValue, encode_offset_key, encode_offset_value
from kcli.server.coordinator.store import AppendError, Record

log = logging.getLogger("kafka.coordinator.group.GroupCoordinator")

OFFSET_METADATA_MAX_BYTES = 4096


class OffsetMetadataManager:
    """The offsets of the groups in ``metadata``'s cache.

    ``keep_alive(group, member)`` restarts a member's session (a commit proves it is alive);
    ``has_live_members(group_id)`` says a KIP-848 consumer group of that id has members, whose
    offsets never expire; ``start()`` starts the coordinator's retention timer.
    """

    def __init__(
        self,
        metadata: GroupMetadataManager,
        settings: Settings,
        keep_alive: Callable[[Group, Member], None],
        has_live_members: Callable[[str], bool],
        start: Callable[[], None],
    ):
        self.metadata = metadata
        self.settings = settings
        self.keep_alive = keep_alive
        self.has_live_members = has_live_members
        self.start = start  # the coordinator's timers start with its first commit

    @property
    def groups(self) -> dict[str, Group]:
        return self.metadata.groups

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
        results, records, accepted = _offset_records(group_id, entries, partition_exists)
        if not records:
            return results
        # Appends are in call order, acknowledgements may interleave: each commit carries its
        # append's sequence number and the cache keeps the latest appended value per partition.
        sequence = next(self.metadata.append_sequence)
        code = await self.metadata.acknowledged(group_id, records, "offsets", commit=True)
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
            self.keep_alive(current, member)  # a commit proves the member is alive
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
        results, records, accepted = _offset_records(group_id, entries)
        if not records:
            return results
        sequence = next(self.metadata.append_sequence)
        try:
            await self.metadata.store.append_transactional(
                self.metadata.partition_for(group_id), records, producer_id, producer_epoch, guard
            )
        except AppendError as exc:
            log.info("Failed to write transactional offsets of group %s: %s", group_id, exc)
            results.update(dict.fromkeys(accepted, E.from_append_error(exc.code, offset_commit=True)))
            return results
        self.groups.setdefault(group_id, group)
        self.metadata.txn_offsets.add(group_id, producer_id, accepted, sequence)
        return results

    def complete_transaction(self, producer_id: int, offsets_partitions: set[int], commit: bool) -> None:
        """A marker of ``producer_id`` is in these ``__consumer_offsets`` partitions: its pending
        offsets become committed (or are dropped), as Kafka's handleTxnCompletion; a plain commit
        appended after the transactional one keeps its newer value."""
        for group_id, offsets in self.metadata.txn_offsets.complete(
            producer_id, offsets_partitions, self.metadata.partition_for
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
            pending = self.metadata.append(group_id, self.metadata.tombstones(group_id, doomed))
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

    # --- offset retention ---------------------------------------------------------------------
    def expire_offsets(self, now: int) -> int:
        """Drop offsets past ``offsets.retention.minutes``, as Kafka does: for an empty group,
        counted from when it became empty; for a group with no protocol (assign() consumers),
        from each commit. Groups left empty with no offsets are removed. Returns the count."""
        retention = self.settings.offsets_retention_ms
        expired_total = 0
        for group in list(self.groups.values()):
            if self.has_live_members(group.group_id):
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
                self.metadata.append(
                    group.group_id, self.metadata.tombstones(group.group_id, expired)
                ).add_done_callback(self._log_expiry_failure)
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
                self.metadata.delete_group(group).add_done_callback(self._log_expiry_failure)
        return expired_total

    @staticmethod
    def _log_expiry_failure(fut: asyncio.Future[None]) -> None:
        exc = fut.exception()
        if exc is not None:
            log.warning("Expired offsets or groups were not acknowledged: %s", exc)


def _offset_records(
    group_id: str,
    entries: list[CommitEntry],
    partition_exists: Callable[[str, int], bool] | None = None,
) -> tuple[dict[tuple[str, int], int], list[Record], dict[tuple[str, int], OffsetValue]]:
    """The records of one OffsetCommit or TxnOffsetCommit: (error by partition, the records to
    append, the accepted values by partition). A partition is refused when its metadata is over
    ``OFFSET_METADATA_MAX_BYTES`` or, when ``partition_exists`` is given, it does not exist (a
    transactional commit was checked by AddOffsetsToTxn instead)."""
    now = now_ms()
    results: dict[tuple[str, int], int] = {}
    records: list[Record] = []
    accepted: dict[tuple[str, int], OffsetValue] = {}
    for e in entries:
        key = (e.topic, e.partition)
        if partition_exists is not None and not partition_exists(e.topic, e.partition):
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
    return results, records, accepted
