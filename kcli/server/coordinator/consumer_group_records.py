"""Kafka's records of a KIP-848 consumer group in ``__consumer_offsets``, byte for byte.

A consumer group is stored as six record types (group-coordinator/src/main/resources/common/
message/ConsumerGroup*.json in Apache Kafka), so a broker restarted after ``kill -9``, or a
replica that becomes the coordinator, rebuilds the group by replaying them in log order:

=====  ===========================================  ============================================
key v  record                                        value (version 0, flexible)
=====  ===========================================  ============================================
3      ConsumerGroupMetadata (group)                 the group epoch
4      ConsumerGroupPartitionMetadata (group)        subscribed topics: id, name, partition count
5      ConsumerGroupMemberMetadata (group, member)   the member's subscription and identity
6      ConsumerGroupTargetAssignmentMetadata (group) the target assignment epoch
7      ConsumerGroupTargetAssignmentMember (g, m)    the member's target partitions
8      ConsumerGroupCurrentMemberAssignment (g, m)   member epoch, state, owned and revoking
=====  ===========================================  ============================================

Keys are Kafka's old-style encoding (int16 version, int16-length strings); values start with an
int16 version and use the flexible encoding (varint-length compact strings and arrays, tagged
fields), written and read with kio's serial primitives. A record with a null value is a
tombstone. Unknown tagged fields are skipped, as Kafka's generated readers do.
"""

from __future__ import annotations

import enum
import io
import struct
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kio.serial import readers as R
from kio.serial import writers as W

GROUP_EPOCH = 3
SUBSCRIPTION_METADATA = 4
MEMBER_METADATA = 5
TARGET_ASSIGNMENT_EPOCH = 6
TARGET_ASSIGNMENT_MEMBER = 7
CURRENT_ASSIGNMENT = 8
KINDS = frozenset(range(GROUP_EPOCH, CURRENT_ASSIGNMENT + 1))
_MEMBER_KINDS = frozenset({MEMBER_METADATA, TARGET_ASSIGNMENT_MEMBER, CURRENT_ASSIGNMENT})

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")

#: topic id -> partitions; the unit of every assignment in a consumer group.
Assignment = Mapping[uuid.UUID, frozenset[int]]
EMPTY: Assignment = {}


class MemberState(enum.IntEnum):
    """Kafka's MemberState values (the ``State`` byte of CurrentMemberAssignment)."""

    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127

    @classmethod
    def of(cls, value: int) -> MemberState:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class TopicMetadata:
    topic_id: uuid.UUID
    name: str
    partitions: int


@dataclass(frozen=True)
class ClassicMetadata:
    """What a member using the classic protocol (JoinGroup) joined with."""

    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Subscription:
    """ConsumerGroupMemberMetadataValue."""

    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    topic_names: tuple[str, ...] = ()
    topic_regex: str | None = None
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    classic: ClassicMetadata | None = None


@dataclass(frozen=True)
class CurrentAssignment:
    """ConsumerGroupCurrentMemberAssignmentValue."""

    member_epoch: int
    previous_member_epoch: int
    state: MemberState
    assigned: Assignment
    pending_revocation: Assignment


@dataclass(frozen=True)
class Record:
    """One consumer-group record: ``kind`` is its key version; ``value`` None is a tombstone.

    ``value`` is an int (group epoch, assignment epoch), a dict of TopicMetadata by name
    (subscription metadata), a :class:`Subscription`, an Assignment (target) or a
    :class:`CurrentAssignment`.
    """

    kind: int
    group_id: str
    member_id: str | None = None
    value: Any = None


# --- writing ---------------------------------------------------------------------------------------


def _key(record: Record) -> bytes:
    def string(text: str) -> bytes:
        raw = text.encode()
        return _I16.pack(len(raw)) + raw

    key = _I16.pack(record.kind) + string(record.group_id)
    if record.kind in _MEMBER_KINDS:
        key += string(record.member_id or "")
    return key


def _tagged_none(buf: io.BytesIO) -> None:
    W.write_unsigned_varint(buf, 0)


def _write_assignment(buf: io.BytesIO, assignment: Assignment) -> None:
    topics = sorted(assignment.items(), key=lambda kv: str(kv[0]))
    W.write_compact_array_length(buf, len(topics))
    for topic_id, partitions in topics:
        W.write_uuid(buf, topic_id)
        W.write_compact_array_length(buf, len(partitions))
        for p in sorted(partitions):
            W.write_int32(buf, p)
        _tagged_none(buf)


def _write_subscription(buf: io.BytesIO, s: Subscription) -> None:
    W.write_nullable_compact_string(buf, s.instance_id)
    W.write_nullable_compact_string(buf, s.rack_id)
    W.write_compact_string(buf, s.client_id)
    W.write_compact_string(buf, s.client_host)
    W.write_compact_array_length(buf, len(s.topic_names))
    for name in s.topic_names:
        W.write_compact_string(buf, name)
    W.write_nullable_compact_string(buf, s.topic_regex)
    W.write_int32(buf, s.rebalance_timeout_ms)
    W.write_nullable_compact_string(buf, s.server_assignor)
    if s.classic is None:
        _tagged_none(buf)
        return
    inner = io.BytesIO()
    W.write_int32(inner, s.classic.session_timeout_ms)
    W.write_compact_array_length(inner, len(s.classic.protocols))
    for name, metadata in s.classic.protocols:
        W.write_compact_string(inner, name)
        W.write_unsigned_varint(inner, len(metadata) + 1)  # compact bytes
        inner.write(metadata)
        _tagged_none(inner)
    _tagged_none(inner)
    body = inner.getvalue()
    W.write_unsigned_varint(buf, 1)  # one tagged field
    W.write_unsigned_varint(buf, 0)  # tag 0: ClassicMemberMetadata, a nullable struct
    W.write_unsigned_varint(buf, len(body) + 1)
    W.write_unsigned_varint(buf, 1)  # present
    buf.write(body)


def _write_value(record: Record) -> bytes:
    buf = io.BytesIO()
    W.write_int16(buf, 0)
    v = record.value
    if record.kind in (GROUP_EPOCH, TARGET_ASSIGNMENT_EPOCH):
        W.write_int32(buf, int(v))
    elif record.kind == SUBSCRIPTION_METADATA:
        topics = sorted(v.values(), key=lambda t: t.name)
        W.write_compact_array_length(buf, len(topics))
        for t in topics:
            W.write_uuid(buf, t.topic_id)
            W.write_compact_string(buf, t.name)
            W.write_int32(buf, t.partitions)
            W.write_compact_array_length(buf, 0)  # PartitionMetadata (racks): unused since 4.0
            _tagged_none(buf)
    elif record.kind == MEMBER_METADATA:
        _write_subscription(buf, v)
        return buf.getvalue()
    elif record.kind == TARGET_ASSIGNMENT_MEMBER:
        _write_assignment(buf, v)
    elif record.kind == CURRENT_ASSIGNMENT:
        W.write_int32(buf, v.member_epoch)
        W.write_int32(buf, v.previous_member_epoch)
        W.write_int8(buf, int(v.state))
        _write_assignment(buf, v.assigned)
        _write_assignment(buf, v.pending_revocation)
    else:
        raise ValueError(f"unknown consumer group record kind {record.kind}")
    _tagged_none(buf)
    return buf.getvalue()


def encode(record: Record) -> tuple[bytes, bytes | None]:
    """(key, value) bytes as Kafka writes them; a tombstone has a None value."""
    return _key(record), None if record.value is None else _write_value(record)


# --- reading ---------------------------------------------------------------------------------------


class _Cursor:
    """Sequential reads with kio's readers; any overrun raises ValueError."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def read(self, reader: Callable[[bytes, int], tuple[Any, int]]) -> Any:
        try:
            value, size = reader(self.data, self.pos)
        except Exception as exc:  # kio's native readers raise several types on truncation
            raise ValueError(f"truncated consumer group record: {exc}") from None
        self.pos += size
        if self.pos > len(self.data):
            raise ValueError("truncated consumer group record")
        return value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated consumer group record")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def count(self) -> int:
        n = self.read(R.read_compact_array_length)
        return max(n, 0)

    def skip_tagged(self) -> dict[int, bytes]:
        fields = {}
        for _ in range(self.read(R.read_unsigned_varint)):
            tag = self.read(R.read_unsigned_varint)
            fields[tag] = self.take(self.read(R.read_unsigned_varint))
        return fields


def _read_assignment(c: _Cursor) -> Assignment:
    out: dict[uuid.UUID, frozenset[int]] = {}
    for _ in range(c.count()):
        topic_id = c.read(R.read_uuid)
        parts = frozenset(c.read(R.read_int32) for _ in range(c.count()))
        c.skip_tagged()
        if parts:
            out[topic_id] = parts
    return out


def _read_classic(data: bytes) -> ClassicMetadata | None:
    c = _Cursor(data)
    if c.read(R.read_unsigned_varint) <= 0:
        return None
    session = c.read(R.read_int32)
    protocols = []
    for _ in range(c.count()):
        name = c.read(R.read_compact_string)
        size = c.read(R.read_unsigned_varint) - 1
        metadata = c.take(size) if size >= 0 else b""
        c.skip_tagged()
        protocols.append((name, metadata))
    return ClassicMetadata(session, tuple(protocols))


def _read_value(kind: int, data: bytes) -> Any:
    c = _Cursor(data)
    version = c.read(R.read_int16)
    if version != 0:
        raise ValueError(f"consumer group record kind {kind} value version {version} is not supported")
    if kind in (GROUP_EPOCH, TARGET_ASSIGNMENT_EPOCH):
        value: Any = c.read(R.read_int32)
    elif kind == SUBSCRIPTION_METADATA:
        value = {}
        for _ in range(c.count()):
            topic_id = c.read(R.read_uuid)
            name = c.read(R.read_compact_string)
            partitions = c.read(R.read_int32)
            for _ in range(c.count()):  # PartitionMetadata: partition, racks
                c.read(R.read_int32)
                for _ in range(c.count()):
                    c.read(R.read_compact_string)
                c.skip_tagged()
            c.skip_tagged()
            value[name] = TopicMetadata(topic_id, name, partitions)
    elif kind == MEMBER_METADATA:
        instance_id = c.read(R.read_compact_string_nullable)
        rack_id = c.read(R.read_compact_string_nullable)
        client_id = c.read(R.read_compact_string)
        client_host = c.read(R.read_compact_string)
        names = tuple(c.read(R.read_compact_string) for _ in range(c.count()))
        regex = c.read(R.read_compact_string_nullable)
        rebalance = c.read(R.read_int32)
        assignor = c.read(R.read_compact_string_nullable)
        tagged = c.skip_tagged()
        classic = _read_classic(tagged[0]) if 0 in tagged else None
        return Subscription(
            instance_id, rack_id, client_id, client_host, names, regex, rebalance, assignor, classic
        )
    elif kind == TARGET_ASSIGNMENT_MEMBER:
        value = _read_assignment(c)
    elif kind == CURRENT_ASSIGNMENT:
        epoch = c.read(R.read_int32)
        previous = c.read(R.read_int32)
        state = MemberState.of(c.read(R.read_int8))
        assigned = _read_assignment(c)
        pending = _read_assignment(c)
        value = CurrentAssignment(epoch, previous, state, assigned, pending)
    else:
        raise ValueError(f"unknown consumer group record kind {kind}")
    c.skip_tagged()
    return value


def decode(key: bytes, value: bytes | None) -> Record | None:
    """The consumer-group record, or None when the key is another record type (offset commits,
    classic group metadata, or a type this broker does not know). Raises ValueError when a
    consumer-group record is damaged."""
    if len(key) < 2:
        return None
    kind = _I16.unpack_from(key, 0)[0]
    if kind not in KINDS:
        return None
    c = _Cursor(key)
    c.pos = 2
    group_id = c.read(R.read_legacy_string)
    member_id = c.read(R.read_legacy_string) if kind in _MEMBER_KINDS else None
    return Record(kind, group_id, member_id, None if value is None else _read_value(kind, value))
