"""Offsets committed inside transactions (TxnOffsetCommit, KIP-98/KIP-447), until their marker.

A transactional producer commits its input offsets with TxnOffsetCommit: the coordinator appends
them to ``__consumer_offsets`` as a transactional batch of the producer, and keeps them here,
invisible to OffsetFetch, until the transaction's COMMIT marker reaches that partition (then they
become the group's committed offsets) or its ABORT marker (then they are dropped), as Kafka's
GroupMetadata pending transactional offsets. A plain OffsetCommit of the same partition appended
after the transactional one wins over it, as in Kafka (the later record in the log is newer): each
pending offset keeps its append's sequence number for that comparison.

:func:`replay` does the same while a coordinator loads ``__consumer_offsets``: transactional
records count only from their COMMIT marker on; those whose marker has not come yet are handed
back as pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from kcli.protocol.records import Record as LogRecord
from kcli.server.coordinator.schema import OffsetKey, OffsetValue, decode_key
from kcli.server.protocol.control_records import ABORT, COMMIT, parse_key

Key = tuple[str, int]  # (topic, partition)
KeyValue = tuple[bytes, bytes | None]


@dataclass
class PendingTransactionalOffsets:
    # group id -> producer id -> (topic, partition) -> (offset waiting for the marker, append sequence)
    by_group: dict[str, dict[int, dict[Key, tuple[OffsetValue, int]]]] = field(default_factory=dict)

    def add(self, group_id: str, producer_id: int, offsets: dict[Key, OffsetValue], sequence: int) -> None:
        pending = self.by_group.setdefault(group_id, {}).setdefault(producer_id, {})
        for key, value in offsets.items():
            pending[key] = (value, sequence)

    def has_pending(self, group_id: str, topic: str, partition: int) -> bool:
        """KIP-447: OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT meanwhile."""
        return any((topic, partition) in offsets for offsets in self.by_group.get(group_id, {}).values())

    def producers(self, group_id: str) -> list[int]:
        return sorted(self.by_group.get(group_id, {}))

    def complete(
        self, producer_id: int, offsets_partitions: set[int], partition_for: Callable[[str], int]
    ) -> Iterator[tuple[str, dict[Key, tuple[OffsetValue, int]]]]:
        """Take (group, offsets) of ``producer_id`` for groups in the given ``__consumer_offsets``
        partitions: a marker of the producer reached them."""
        for group_id in [g for g in self.by_group if partition_for(g) in offsets_partitions]:
            pending = self.by_group[group_id]
            offsets = pending.pop(producer_id, None)
            if not pending:
                del self.by_group[group_id]
            if offsets is not None:
                yield group_id, offsets

    def drop_group(self, group_id: str) -> None:
        self.by_group.pop(group_id, None)


def replay(records: Iterable[LogRecord]) -> tuple[list[KeyValue], dict[int, list[KeyValue]]]:
    """The records of ``__consumer_offsets`` in the order their writes took effect, and the
    transactional ones still waiting for a marker, by producer id.

    A transactional record takes effect at its COMMIT marker (unless a plain record of the same
    key came after it), and never after an ABORT."""
    effective: list[KeyValue] = []
    pending: dict[int, dict[bytes, KeyValue]] = {}
    for rec in records:
        if rec.is_control:
            control_type = parse_key(rec.key)
            waiting = pending.pop(rec.producer_id, None)
            if control_type == COMMIT and waiting:
                effective.extend(waiting.values())
            elif control_type not in (ABORT, COMMIT) and waiting is not None:
                pending[rec.producer_id] = waiting  # some other control record: keep waiting
            continue
        if rec.key is None:
            continue
        if rec.is_transactional:
            pending.setdefault(rec.producer_id, {})[rec.key] = (rec.key, rec.value)
        else:
            for waiting in pending.values():
                waiting.pop(rec.key, None)
            effective.append((rec.key, rec.value))
    return effective, {pid: list(w.values()) for pid, w in pending.items() if w}


def pending_offsets(pending: dict[int, list[KeyValue]]) -> Iterator[tuple[int, str, Key, OffsetValue]]:
    """(producer id, group, (topic, partition), value) of the pending transactional commits."""
    from kcli.server.coordinator.schema import decode_offset_value

    for producer_id, records in pending.items():
        for key_bytes, value_bytes in records:
            try:
                key = decode_key(key_bytes)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(key, OffsetKey) and value_bytes is not None:
                yield producer_id, key.group, (key.topic, key.partition), decode_offset_value(value_bytes)
