"""The data of a drawn partition: what the cluster said, nothing computed for looks.

Every field that a cluster may not provide is ``None`` (drawn as ``n/a``) with a note saying why,
rather than guessed: a follower's log end offset is not in Kafka's consumer-facing protocol, a
segment boundary is not in the protocol at all, a consumer's in-memory position is known only to
that consumer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BatchInfo:
    """One record batch header (magic 2), as the leader served it."""

    base_offset: int
    last_offset: int
    count: int
    size: int
    partition_leader_epoch: int
    crc: int
    crc_ok: bool
    compression: str
    timestamp_type: str
    transactional: bool
    control: bool
    producer_id: int
    producer_epoch: int
    base_sequence: int
    base_timestamp: int
    max_timestamp: int
    #: offsets of the records the batch still holds (compaction leaves holes); None: not decoded
    offsets: tuple[int, ...] | None = None

    def holds(self, offset: int) -> bool:
        return self.base_offset <= offset <= self.last_offset


@dataclass(frozen=True)
class RecordCell:
    """One record of the window: enough to label a cell and open it."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    batch_base: int | None = None


@dataclass(frozen=True)
class ReplicaEnd:
    """What one replica holds: its log end offset when something could tell it (``source`` says
    what: ``ListOffsets`` asked as a debugging replica, or the replica's log dir on this machine)."""

    broker: int
    leo: int | None
    source: str
    in_isr: bool
    alive: bool
    leader: bool = False
    log_start: int | None = None


@dataclass(frozen=True)
class GroupMark:
    """A consumer group's committed offset on this partition and who owns the partition."""

    group_id: str
    committed: int | None
    state: str
    owner: str | None = None  # client id of the member the partition is assigned to
    owner_host: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Segment:
    """A segment of one replica's log, from its file name (the base offset) and size."""

    base_offset: int
    size_bytes: int


@dataclass(frozen=True)
class PartitionLog:
    """One partition: offsets, markers, and the records and batches of the window
    ``[first, stop)`` (``stop`` may be below the high watermark when the window is smaller)."""

    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    log_start: int | None
    high_watermark: int | None
    last_stable: int | None
    first: int
    stop: int
    batches: tuple[BatchInfo, ...] = ()
    records: tuple[RecordCell, ...] = ()
    replica_ends: tuple[ReplicaEnd, ...] = ()
    #: None: the cluster does not tell (see ``notes``)
    segments: tuple[Segment, ...] | None = None
    segments_of: int | None = None  # the broker whose log dir the segments were read from
    groups: tuple[GroupMark, ...] | None = None
    groups_error: str | None = None
    notes: tuple[str, ...] = ()
    #: False when batches could not be read (secured listener): records only
    batches_known: bool = True
    fetched_bytes: int = 0
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def record_offsets(self) -> set[int]:
        return {r.offset for r in self.records}

    def record(self, offset: int) -> RecordCell | None:
        for r in self.records:
            if r.offset == offset:
                return r
        return None

    def batch_of(self, offset: int) -> BatchInfo | None:
        for b in self.batches:
            if b.holds(offset):
                return b
        return None

    @property
    def lag_by_group(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for g in self.groups or ():
            if self.high_watermark is None:
                out[g.group_id] = None
            elif g.committed is None:
                start = self.log_start
                out[g.group_id] = None if start is None else max(0, self.high_watermark - start)
            else:
                out[g.group_id] = max(0, self.high_watermark - g.committed)
        return out


@dataclass(frozen=True)
class XRayInput:
    """The batch holding one record, as the leader stores it, for :mod:`kcli.logview.xray`."""

    topic: str
    partition: int
    offset: int
    batch: BatchInfo
    raw: bytes
    record: RecordCell
