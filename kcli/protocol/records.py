"""Record batches v2 (magic 2) as bytes: header view, validation, offset assignment, and a codec.

The broker's hot path (Produce, Fetch) only needs the fixed 61-byte batch header: it validates a
batch by its header and CRC-32C, rewrites the base offset and leader epoch (both outside the CRC)
and appends the bytes as they came. Decoding the records themselves (varints, compression) is
kept for the few places that need it: compaction, dump-log and the broker's own internal topics.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import cramjam
from crc32c import crc32c
from kio.schema.errors import ErrorCode

BATCH_HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset int64 + batchLength int32: the part of a batch not counted in batchLength
# Bytes counted by batchLength that belong to the header (everything after the length field).
_HEADER_AFTER_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD
_CRC_START = 21  # the CRC covers attributes .. end of batch
MAGIC = 2

# Attribute bits.
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
CREATE_TIME, LOG_APPEND_TIME = 0, 1
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == BATCH_HEADER_SIZE
_BASE_OFFSET = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_ATTRS_AND_MAX_TS = struct.Struct(">h")
_INT64 = struct.Struct(">q")
_UINT32 = struct.Struct(">I")

# Kafka error codes carried by the exceptions below.
CORRUPT_MESSAGE = int(ErrorCode.corrupt_message)
MESSAGE_TOO_LARGE = int(ErrorCode.message_too_large)
INVALID_RECORD = int(ErrorCode.invalid_record)


class RecordError(Exception):
    """A produce-path rejection; ``error_code`` is the Kafka error code for the partition response."""

    error_code = int(ErrorCode.unknown_server_error)  # each subclass names its own

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CorruptRecordError(RecordError):
    error_code = CORRUPT_MESSAGE


class RecordTooLargeError(RecordError):
    error_code = MESSAGE_TOO_LARGE


class InvalidRecordError(RecordError):
    error_code = INVALID_RECORD


class BatchHeader(NamedTuple):
    base_offset: int
    batch_length: int
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
    record_count: int

    @property
    def size(self) -> int:
        """Bytes the batch occupies in a log or a fetch response."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        return LOG_APPEND_TIME if self.attributes & TIMESTAMP_TYPE_BIT else CREATE_TIME

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)

    @property
    def last_sequence(self) -> int:
        """Sequence of the last record; sequences wrap at int32 max like Kafka's."""
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) % 0x80000000


def parse_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """The batch header at ``pos``; the caller makes sure 61 bytes are there."""
    return BatchHeader._make(_HEADER.unpack_from(buf, pos))


def batch_crc(buf: bytes | bytearray | memoryview, pos: int, size: int) -> int:
    """CRC-32C of the batch at ``pos`` as Kafka computes it (attributes to end)."""
    return crc32c(memoryview(buf)[pos + _CRC_START : pos + size])


def check_batch(buf: bytes | bytearray | memoryview, pos: int, end: int) -> BatchHeader:
    """Header of a complete, well-formed, CRC-valid batch at ``pos``, else CorruptRecordError."""
    if end - pos < BATCH_HEADER_SIZE:
        raise CorruptRecordError(f"truncated record batch at position {pos}: {end - pos} bytes left")
    header = parse_header(buf, pos)
    if header.magic != MAGIC:
        raise CorruptRecordError(f"unsupported record batch magic {header.magic} at position {pos}")
    if header.batch_length < _HEADER_AFTER_LENGTH:
        raise CorruptRecordError(f"record batch length {header.batch_length} is smaller than its header")
    if pos + header.size > end:
        raise CorruptRecordError(f"truncated record batch at position {pos}: needs {header.size} bytes")
    if header.record_count < 0:
        raise CorruptRecordError(f"negative record count {header.record_count}")
    if batch_crc(buf, pos, header.size) != header.crc:
        raise CorruptRecordError(f"record batch at position {pos} failed its CRC-32C check")
    return header


def validate_batches(
    data: bytes | bytearray | memoryview, max_batch_bytes: int, *, allow_control: bool = False
) -> list[BatchHeader]:
    """Check the ``records`` field of a produce request without decoding a single record.

    Every batch must be complete, magic 2, within ``max_batch_bytes`` (the topic's
    max.message.bytes, compared with the batch size including its log overhead, as Kafka does),
    CRC-valid, and its record count must match its offset range. Clients may not write control
    batches (transaction markers); the broker itself may, with ``allow_control``.
    """
    headers: list[BatchHeader] = []
    end = len(data)
    pos = 0
    while pos < end:
        if end - pos < LOG_OVERHEAD:
            raise CorruptRecordError(f"{end - pos} trailing bytes after the last record batch")
        batch_length = _INT32.unpack_from(data, pos + 8)[0]
        size = batch_length + LOG_OVERHEAD
        if size > max_batch_bytes:
            raise RecordTooLargeError(
                f"the record batch is {size} bytes, larger than max.message.bytes {max_batch_bytes}"
            )
        header = check_batch(data, pos, end)
        if header.record_count == 0 or header.record_count != header.last_offset_delta + 1:
            raise InvalidRecordError(
                f"record count {header.record_count} does not match last offset delta "
                f"{header.last_offset_delta}"
            )
        if header.is_control and not allow_control:
            raise InvalidRecordError("clients are not allowed to write control records")
        headers.append(header)
        pos += size
    return headers


def assign_offsets(
    buf: bytearray,
    headers: Sequence[BatchHeader],
    first_offset: int,
    leader_epoch: int,
    log_append_time_ms: int | None,
) -> tuple[int, int, int]:
    """Give the batches in ``buf`` (laid out back to back, as validated) their offsets, in place.

    Base offset and partition leader epoch sit outside the CRC, so this is two small writes per
    batch. With ``log_append_time_ms`` the timestamp type bit and maxTimestamp are set too, and the
    CRC is recomputed (both are covered by it). Returns (last offset, max timestamp, offset of the
    max timestamp), the offset being the last offset of the batch that holds it, as Kafka indexes it.
    """
    pos = 0
    offset = first_offset
    max_ts = -1
    offset_of_max_ts = first_offset
    for header in headers:
        _BASE_OFFSET.pack_into(buf, pos, offset)
        _INT32.pack_into(buf, pos + 12, leader_epoch)
        last = offset + header.last_offset_delta
        if log_append_time_ms is not None:
            _ATTRS_AND_MAX_TS.pack_into(buf, pos + 21, header.attributes | TIMESTAMP_TYPE_BIT)
            _INT64.pack_into(buf, pos + 35, log_append_time_ms)
            _UINT32.pack_into(buf, pos + 17, batch_crc(buf, pos, header.size))
            batch_max = log_append_time_ms
        else:
            batch_max = header.max_timestamp
        if batch_max > max_ts:
            max_ts, offset_of_max_ts = batch_max, last
        offset = last + 1
        pos += header.size
    return offset - 1, max_ts, offset_of_max_ts


def iter_batches(buf: bytes | bytearray | memoryview, start: int = 0) -> Iterator[tuple[int, BatchHeader]]:
    """(position, header) of each complete batch from ``start``; stops at an incomplete tail.

    No CRC check: this is for trusted bytes (our own segments, fetch responses).
    """
    end = len(buf)
    pos = start
    while end - pos >= BATCH_HEADER_SIZE:
        header = parse_header(buf, pos)
        if header.batch_length < _HEADER_AFTER_LENGTH or pos + header.size > end:
            return
        yield pos, header
        pos += header.size


# --- record codec (not on the hot path) ---------------------------------------------------------


class Record(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp_type: int = CREATE_TIME
    producer_id: int = NO_PRODUCER_ID
    producer_epoch: int = NO_PRODUCER_EPOCH
    sequence: int = NO_SEQUENCE
    is_transactional: bool = False
    is_control: bool = False


_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)


def _snappy_decompress(data: bytes | memoryview) -> bytes:
    """Raw snappy (librdkafka) or xerial-framed snappy (the Java client's SnappyOutputStream)."""
    if bytes(data[:8]) == _XERIAL_MAGIC and len(data) >= 16:
        out = bytearray()
        pos, end = 16, len(data)
        while pos + 4 <= end:
            (chunk,) = _INT32.unpack_from(data, pos)
            pos += 4
            out += bytes(cramjam.snappy.decompress_raw(bytes(data[pos : pos + chunk])))
            pos += chunk
        return bytes(out)
    return bytes(cramjam.snappy.decompress_raw(bytes(data)))


def _snappy_compress(data: bytes) -> bytes:
    """Xerial framing, as the Java client writes it (librdkafka and Java both read it)."""
    out = bytearray(_XERIAL_HEADER)
    chunk_size = 32 * 1024
    for i in range(0, len(data), chunk_size):
        block = bytes(cramjam.snappy.compress_raw(data[i : i + chunk_size]))
        out += _INT32.pack(len(block)) + block
    return bytes(out)


def decompress(codec: int, data: bytes | memoryview) -> bytes:
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        return bytes(cramjam.gzip.decompress(bytes(data)))
    if codec == SNAPPY:
        return _snappy_decompress(data)
    if codec == LZ4:
        return bytes(cramjam.lz4.decompress(bytes(data)))
    if codec == ZSTD:
        return bytes(cramjam.zstd.decompress(bytes(data)))
    raise CorruptRecordError(f"unknown compression codec {codec}")


def compress(codec: int, data: bytes) -> bytes:
    if codec == NONE:
        return data
    if codec == GZIP:
        return bytes(cramjam.gzip.compress(data))
    if codec == SNAPPY:
        return _snappy_compress(data)
    if codec == LZ4:
        return bytes(cramjam.lz4.compress(data))
    if codec == ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(f"unknown compression codec {codec}")


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Zig-zag varint (also varlong) at ``pos``: (value, next position)."""
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint is too long")


def _write_varint(out: bytearray, value: int) -> None:
    v = (value << 1) ^ (value >> 63)
    v &= 0xFFFFFFFFFFFFFFFF
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _read_bytes(buf: bytes, pos: int) -> tuple[bytes | None, int]:
    length, pos = _read_varint(buf, pos)
    if length < 0:
        return None, pos
    if pos + length > len(buf):
        raise CorruptRecordError("record field runs past the end of the batch")
    return buf[pos : pos + length], pos + length


def decode_batch(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[BatchHeader, list[Record]]:
    """One batch's header and records, decompressing as needed. Checks structure, not the CRC."""
    end = len(buf)
    if end - pos < BATCH_HEADER_SIZE:
        raise CorruptRecordError("truncated record batch")
    header = parse_header(buf, pos)
    if header.magic != MAGIC:
        raise CorruptRecordError(f"unsupported record batch magic {header.magic}")
    if header.batch_length < _HEADER_AFTER_LENGTH or pos + header.size > end:
        raise CorruptRecordError("truncated record batch")
    body = decompress(header.compression, memoryview(buf)[pos + BATCH_HEADER_SIZE : pos + header.size])
    log_append = header.timestamp_type == LOG_APPEND_TIME
    tx, control = header.is_transactional, header.is_control
    records: list[Record] = []
    p = 0
    try:
        for _ in range(header.record_count):
            length, p = _read_varint(body, p)
            record_end = p + length
            p += 1  # attributes, unused in v2
            ts_delta, p = _read_varint(body, p)
            offset_delta, p = _read_varint(body, p)
            key, p = _read_bytes(body, p)
            value, p = _read_bytes(body, p)
            count, p = _read_varint(body, p)
            headers: list[tuple[str, bytes | None]] = []
            for _ in range(count):
                hkey, p = _read_bytes(body, p)
                hvalue, p = _read_bytes(body, p)
                headers.append(((hkey or b"").decode("utf-8", "replace"), hvalue))
            if p != record_end:
                raise CorruptRecordError("record length does not match its fields")
            sequence = NO_SEQUENCE
            if header.base_sequence != NO_SEQUENCE:
                sequence = (header.base_sequence + offset_delta) % 0x80000000
            records.append(
                Record(
                    header.base_offset + offset_delta,
                    header.max_timestamp if log_append else header.base_timestamp + ts_delta,
                    key,
                    value,
                    headers,
                    header.timestamp_type,
                    header.producer_id,
                    header.producer_epoch,
                    sequence,
                    tx,
                    control,
                )
            )
    except IndexError as exc:
        raise CorruptRecordError("record runs past the end of the batch") from exc
    return header, records


def decode_records(data: bytes | bytearray | memoryview) -> list[Record]:
    """Every record of every complete batch in ``data`` (one batch, a fetch response, a segment)."""
    out: list[Record] = []
    for pos, _ in iter_batches(data):
        out.extend(decode_batch(data, pos)[1])
    return out


def build_batch(
    records: Sequence[Sequence[Any]],
    base_offset: int = 0,
    compression: int = NONE,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_control: bool = False,
    timestamp_type: int = CREATE_TIME,
    *,
    timestamp: int | None = None,
    is_transactional: bool = False,
    partition_leader_epoch: int = -1,
    offset_deltas: Sequence[int] | None = None,
    last_offset_delta: int | None = None,
) -> bytes:
    """A v2 batch with a correct CRC, from (key, value[, headers[, timestamp_ms]]) tuples.

    A missing or None per-record timestamp takes ``timestamp`` (default: now). ``offset_deltas``
    and ``last_offset_delta`` let compaction keep the original offsets of the records it retains
    and the batch's original offset range (which idempotent producer state relies on).
    """
    if not records:
        raise ValueError("a record batch needs at least one record")
    default_ts = int(time.time() * 1000) if timestamp is None else timestamp
    rows: list[tuple[bytes | None, bytes | None, Sequence[tuple[str, bytes | None]], int]] = []
    for rec in records:
        key, value = rec[0], rec[1]
        hdrs = rec[2] if len(rec) > 2 and rec[2] is not None else ()
        ts = rec[3] if len(rec) > 3 and rec[3] is not None else default_ts
        rows.append((key, value, hdrs, ts))
    base_ts = min(r[3] for r in rows)
    max_ts = max(r[3] for r in rows)
    deltas = list(offset_deltas) if offset_deltas is not None else list(range(len(rows)))
    body = bytearray()
    for delta, (key, value, hdrs, ts) in zip(deltas, rows, strict=True):
        rec = bytearray(b"\x00")
        _write_varint(rec, ts - base_ts)
        _write_varint(rec, delta)
        for field in (key, value):
            if field is None:
                _write_varint(rec, -1)
            else:
                _write_varint(rec, len(field))
                rec += field
        _write_varint(rec, len(hdrs))
        for hkey, hvalue in hdrs:
            encoded = hkey.encode() if isinstance(hkey, str) else bytes(hkey)
            _write_varint(rec, len(encoded))
            rec += encoded
            if hvalue is None:
                _write_varint(rec, -1)
            else:
                _write_varint(rec, len(hvalue))
                rec += hvalue
        _write_varint(body, len(rec))
        body += rec
    payload = compress(compression, bytes(body))
    attributes = compression & COMPRESSION_MASK
    if timestamp_type == LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_BIT
    if is_transactional:
        attributes |= TRANSACTIONAL_BIT
    if is_control:
        attributes |= CONTROL_BIT
    out = bytearray(BATCH_HEADER_SIZE) + payload
    _HEADER.pack_into(
        out,
        0,
        base_offset,
        len(out) - LOG_OVERHEAD,
        partition_leader_epoch,
        MAGIC,
        0,
        attributes,
        deltas[-1] if last_offset_delta is None else last_offset_delta,
        base_ts,
        max_ts,
        producer_id,
        producer_epoch,
        base_sequence,
        len(rows),
    )
    _UINT32.pack_into(out, 17, batch_crc(out, 0, len(out)))
    return bytes(out)
