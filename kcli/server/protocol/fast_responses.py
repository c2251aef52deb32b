"""Hand-written encoders for the two hot responses, Produce (v3-12) and Fetch (v4-16).

The generic path (:func:`kcli.protocol.messages.build` then kio's pure-Python writer) costs
tens of microseconds per response and copies a Fetch response's record batches several times
(into a BytesIO, out of it, into the frame). These encoders take the same plain dicts the
handlers return and produce the same bytes as kio does for the same version (the unit tests in
``tests/server/test_fast_responses.py`` compare them for every version served), but as a list of
chunks: the record batches of a Fetch response are passed through as they came from the
segment, never copied: bytes as they are, and a ``kcli.server.storage.handles.FileRegion``
(batches still in the segment file) as a chunk of its own, which the network layer sends with
``sendfile`` (a region under ``SENDFILE_MIN`` bytes is read into the frame instead: below that
size a read costs less than a sendfile's round through the event loop).

Layout facts come from Kafka's ProduceResponse.json and FetchResponse.json: flexible versions
(Produce 9+, Fetch 12+) use the response header v1 (with tagged fields), compact strings,
arrays and bytes (unsigned varint length + 1, 0 for null) and end each structure with its tagged
fields; older versions use int16 string lengths and int32 array and bytes lengths (-1 for null).

Only what the handlers fill in is encoded here. A response that sets a tagged field to a
non-default value (``current_leader``, ``node_endpoints``, ``diverging_epoch``, ``snapshot_id``)
makes the encoder return None, and the caller falls back to kio, so handlers may use such fields
without touching this module.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol


class Region(Protocol):
    """What the encoder needs of a file region (``kcli.server.storage.handles.FileRegion``,
    not imported: the protocol package does not depend on storage): its size, its bytes, and
    unpinning it."""

    def __len__(self) -> int: ...
    def read(self) -> bytes: ...
    def release(self) -> None: ...


_BUFFERS = (bytes, bytearray, memoryview)


def is_region(chunk: object) -> bool:
    """Whether a chunk or a partition's records is a file region rather than a buffer."""
    return chunk is not None and not isinstance(chunk, _BUFFERS)


Chunks = list[bytes | bytearray | memoryview | Region]

_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")
# partition_index, error_code, high_watermark, last_stable_offset, log_start_offset
_FETCH_PART = struct.Struct(">ihqqq")
_FETCH_PART_V4 = struct.Struct(">ihqq")
_ABORTED = struct.Struct(">qq")
# index, error_code, base_offset, log_append_time, log_start_offset
_PRODUCE_PART = struct.Struct(">ihqqq")
_FETCH_TOP = struct.Struct(">ihi")  # throttle_time, error_code, session_id

# Record batches at least this large are sent as their own chunk rather than copied.
_INLINE_MAX = 16 * 1024
# File regions at least this large are sent with sendfile; smaller ones are read into the frame.
SENDFILE_MIN = 32 * 1024

_TAGGED_DEFAULTS = {
    "current_leader": (None, {"leader_id": -1, "leader_epoch": -1}),
    "diverging_epoch": (None, {"epoch": -1, "end_offset": -1}),
    "snapshot_id": (None, {"end_offset": -1, "epoch": -1}),
    "node_endpoints": (None, (), []),
}


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_UVARINT = [_uvarint(i) for i in range(128)]


def _write_uvarint(buf: bytearray, value: int) -> None:
    if value < 128:
        buf += _SMALL_UVARINT[value]
    else:
        buf += _uvarint(value)


def _write_string(buf: bytearray, value: str | None, flexible: bool) -> None:
    if value is None:
        buf += b"\0" if flexible else b"\xff\xff"
        return
    raw = value.encode()
    if flexible:
        _write_uvarint(buf, len(raw) + 1)
    else:
        buf += _I16.pack(len(raw))
    buf += raw


def _write_array_len(buf: bytearray, items: Any, flexible: bool) -> None:
    if items is None:
        buf += b"\0" if flexible else b"\xff\xff\xff\xff"
    elif flexible:
        _write_uvarint(buf, len(items) + 1)
    else:
        buf += _I32.pack(len(items))


def _has_tagged(data: dict[str, Any]) -> bool:
    """True when ``data`` sets a tagged field to something other than its default."""
    return any(key in data and data[key] not in defaults for key, defaults in _TAGGED_DEFAULTS.items())


def _header(correlation_id: int, flexible: bool) -> bytearray:
    buf = bytearray(b"\0\0\0\0")
    buf += _I32.pack(correlation_id)
    if flexible:
        buf += b"\0"
    return buf


def _ms(value: Any) -> int:
    """Milliseconds from an int or a timedelta (as kio's dataclasses carry throttle times)."""
    if isinstance(value, int):
        return value
    return int(value.total_seconds() * 1000)


def _finish(chunks: Chunks, buf: bytearray) -> Chunks:
    if buf:
        chunks.append(buf)
    first = chunks[0]
    assert isinstance(first, bytearray)
    _I32.pack_into(first, 0, sum(len(c) for c in chunks) - 4)
    return chunks


def encode_produce_response(version: int, correlation_id: int, data: dict[str, Any]) -> Chunks | None:
    """The framed ProduceResponse of ``version`` (3..12) for the handler's dict, or None to fall
    back to kio (a non-default tagged field)."""
    if not 3 <= version <= 12 or _has_tagged(data):
        return None
    flexible = version >= 9
    buf = _header(correlation_id, flexible)
    responses = data["responses"]
    _write_array_len(buf, responses, flexible)
    for topic in responses:
        _write_string(buf, topic["name"], flexible)
        parts = topic["partition_responses"]
        _write_array_len(buf, parts, flexible)
        for p in parts:
            if _has_tagged(p):
                return None
            append_time = p.get("log_append_time", -1)
            if append_time is None:
                append_time = -1
            elif not isinstance(append_time, int):
                return None
            packed = _PRODUCE_PART.pack(
                p["index"], p["error_code"], p["base_offset"], append_time, p.get("log_start_offset", -1)
            )
            buf += packed if version >= 5 else packed[:-8]
            if version >= 8:
                errors = p.get("record_errors") or ()
                _write_array_len(buf, errors, flexible)
                for e in errors:
                    buf += _I32.pack(e["batch_index"])
                    _write_string(buf, e.get("batch_index_error_message"), flexible)
                    if flexible:
                        buf += b"\0"
                _write_string(buf, p.get("error_message"), flexible)
            if flexible:
                buf += b"\0"
        if flexible:
            buf += b"\0"
    buf += _I32.pack(_ms(data.get("throttle_time", 0)))
    if flexible:
        buf += b"\0"
    return _finish([], buf)


def _fetch_partitions(data: dict[str, Any]) -> Any:
    for topic in data.get("responses") or ():
        yield from topic.get("partitions") or ()


def release_regions(data: dict[str, Any]) -> None:
    """Unpin the file regions of a Fetch response dict that will not be sent."""
    for p in _fetch_partitions(data):
        records = p.get("records")
        if is_region(records):
            records.release()


def _materialize(data: dict[str, Any]) -> None:
    """Read every file region of the dict into bytes, for kio's generic encoder."""
    for p in _fetch_partitions(data):
        records = p.get("records")
        if is_region(records):
            try:
                p["records"] = records.read()
            finally:
                records.release()


def encode_fetch_response(version: int, correlation_id: int, data: dict[str, Any]) -> Chunks | None:
    """The framed FetchResponse of ``version`` (4..16) for the handler's dict, as chunks whose
    large record batches are the handler's own buffers or file regions; None to fall back to kio
    (with every file region read into bytes first, as kio needs)."""
    if not 4 <= version <= 16 or _has_tagged(data) or any(_has_tagged(p) for p in _fetch_partitions(data)):
        _materialize(data)
        return None
    flexible = version >= 12
    by_id = version >= 13
    chunks: Chunks = []
    buf = _header(correlation_id, flexible)
    throttle = _ms(data.get("throttle_time", 0))
    if version >= 7:
        buf += _FETCH_TOP.pack(throttle, data.get("error_code", 0), data.get("session_id", 0))
    else:
        buf += _I32.pack(throttle)
    responses = data["responses"]
    _write_array_len(buf, responses, flexible)
    for topic in responses:
        if by_id:
            topic_id = topic.get("topic_id")
            buf += topic_id.bytes if topic_id is not None else bytes(16)
        else:
            _write_string(buf, topic["topic"], flexible)
        parts = topic["partitions"]
        _write_array_len(buf, parts, flexible)
        for p in parts:
            hw = p["high_watermark"]
            if version >= 5:
                buf += _FETCH_PART.pack(
                    p["partition_index"],
                    p["error_code"],
                    hw,
                    p.get("last_stable_offset", -1),
                    p.get("log_start_offset", -1),
                )
            else:
                buf += _FETCH_PART_V4.pack(
                    p["partition_index"], p["error_code"], hw, p.get("last_stable_offset", -1)
                )
            aborted = p.get("aborted_transactions")
            _write_array_len(buf, aborted, flexible)
            for a in aborted or ():
                buf += _ABORTED.pack(a["producer_id"], a["first_offset"])
                if flexible:
                    buf += b"\0"
            if version >= 11:
                buf += _I32.pack(p.get("preferred_read_replica", -1))
            records = p.get("records")
            if records is None:
                buf += b"\0" if flexible else b"\xff\xff\xff\xff"
            else:
                size = len(records)
                if flexible:
                    _write_uvarint(buf, size + 1)
                else:
                    buf += _I32.pack(size)
                if is_region(records):
                    if size < SENDFILE_MIN:
                        try:
                            buf += records.read()
                        finally:
                            records.release()
                    else:
                        chunks.append(buf)
                        chunks.append(records)
                        buf = bytearray()
                elif size < _INLINE_MAX:
                    buf += records
                else:
                    chunks.append(buf)
                    chunks.append(records)
                    buf = bytearray()
            if flexible:
                buf += b"\0"
        if flexible:
            buf += b"\0"
    if flexible:
        buf += b"\0"
    if not chunks:
        return _finish([], buf)
    return _finish(chunks, buf)
