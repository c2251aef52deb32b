"""Reading Kafka's on-disk log segments without a broker (for kafka-dump-log).

A ``.log`` segment is a sequence of record batches (magic 2) exactly as on the wire, with absolute
offsets. A batch header is 61 bytes: base offset (int64), batch length (int32), partition leader
epoch (int32), magic (int8), CRC-32C (uint32, over everything after it), attributes (int16),
last offset delta (int32), base and max timestamps (int64), producer id (int64), producer epoch
(int16), base sequence (int32) and record count (int32). Records use zig-zag varints.

``.index`` holds (int32 relative offset, int32 file position) pairs and ``.timeindex`` holds
(int64 timestamp, int32 relative offset) pairs, big-endian, zero-filled past the last entry.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from kcli.protocol.records import BATCH_HEADER_SIZE as HEADER_SIZE  # 61
from kcli.protocol.records import parse_header

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


class SegmentError(ValueError):
    """Bytes that are not a well-formed record batch."""


@dataclass
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    sequence: int = -1


@dataclass
class Batch:
    """One record batch header plus where it lies in the file."""

    position: int
    base_offset: int
    length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    count: int
    raw: bytes

    @property
    def size(self) -> int:
        return self.length + 12

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> str:
        return CODECS.get(self.attributes & 0x07, f"unknown({self.attributes & 0x07})")

    @property
    def timestamp_type(self) -> str:
        return "LogAppendTime" if self.attributes & 0x08 else "CreateTime"

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & 0x10)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & 0x20)

    @property
    def delete_horizon_ms(self) -> int | None:
        return self.base_timestamp if self.attributes & 0x40 else None

    @property
    def last_sequence(self) -> int:
        if self.base_sequence == -1:
            return -1
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF

    def is_valid(self) -> bool:
        import crc32c

        return crc32c.crc32c(self.raw[21:]) == self.crc

    def records(self) -> list[Record]:
        return decode_records(self)


def iter_batches(data: bytes, max_bytes: int | None = None) -> Iterator[Batch]:
    """Batches of a segment's bytes, stopping at the first incomplete one (trailing bytes)."""
    limit = len(data) if max_bytes is None else min(len(data), max_bytes)
    position = 0
    while position + 17 <= limit:
        _base, length = struct.unpack_from(">qi", data, position)
        size = length + 12
        if length < HEADER_SIZE - 12 or position + size > limit:
            return
        fields = parse_header(data, position)  # the record format's one header layout
        yield Batch(position, *fields, raw=data[position : position + size])
        position += size


def valid_bytes(data: bytes) -> int:
    return sum(batch.size for batch in iter_batches(data))


def decode_records(batch: Batch) -> list[Record]:
    """The records of a batch (decompressed), with absolute offsets and timestamps.

    Decoding is the broker's own record codec (``kcli.protocol.records``), so dump-log shows
    exactly what the broker would read back.
    """
    from kcli.protocol.records import RecordError, decode_batch

    try:
        _header, decoded = decode_batch(batch.raw)
    except RecordError as exc:
        raise SegmentError(str(exc)) from None
    return [Record(r.offset, r.timestamp, r.key, r.value, list(r.headers), r.sequence) for r in decoded]


def read_index(data: bytes, base_offset: int) -> list[tuple[int, int]]:
    """(absolute offset, position) entries, up to the first zero-filled slot."""
    entries = []
    for i in range(len(data) // 8):
        relative, position = struct.unpack_from(">ii", data, i * 8)
        if i > 0 and relative == 0:
            break
        entries.append((base_offset + relative, position))
    return entries


def read_time_index(data: bytes, base_offset: int) -> list[tuple[int, int]]:
    """(timestamp, absolute offset) entries, up to the first zero-filled slot."""
    entries = []
    for i in range(len(data) // 12):
        timestamp, relative = struct.unpack_from(">qi", data, i * 12)
        if i > 0 and relative == 0:
            break
        entries.append((timestamp, base_offset + relative))
    return entries
