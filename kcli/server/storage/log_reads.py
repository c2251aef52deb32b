"""Reading a partition's log (the read half of Kafka's LocalLog): whole batches from an offset,
as bytes or as a pinned region of a segment file, and the offsets of timestamps.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from typing import NamedTuple

from kcli.protocol.records import (
    LOG_APPEND_TIME,
    BatchHeader,
    decode_batch,
    iter_batches,
)
from kcli.server.storage.errors import CorruptBatchError, OffsetOutOfRangeError
from kcli.server.storage.handles import FileRegion
from kcli.server.storage.segment import (
    LogSegment,
)

log = logging.getLogger("kafka.log.LogLoader")


class ReadResult(NamedTuple):
    """A read's batches (bytes, or a pinned region of a segment file for sendfile) and an offset
    at or after the end of the last of them (the upper bound for aborted transactions)."""

    records: bytes | FileRegion
    end_offset: int


class LogReads:
    """The reads of :class:`~kcli.server.storage.partition_log.PartitionLog`, under its lock."""

    # --- read ---------------------------------------------------------------------------------
    def read(
        self, offset: int, max_bytes: int, *, upper_bound: int | None = None, min_one_batch: bool = True
    ) -> bytes:
        """Whole batches from the one holding ``offset``, within one segment and ``max_bytes``."""
        records = self.read_records(
            offset, max_bytes, upper_bound=upper_bound, min_one_batch=min_one_batch, zero_copy=False
        ).records
        assert isinstance(records, bytes)
        return records

    def read_records(
        self,
        offset: int,
        max_bytes: int,
        *,
        upper_bound: int | None = None,
        min_one_batch: bool = True,
        zero_copy: bool = True,
        copy_max_bytes: int | None = None,
    ) -> ReadResult:
        """What :meth:`read` returns, as a :class:`ReadResult`: with ``zero_copy``, batches that
        were CRC-checked or appended by this process come back as a pinned :class:`FileRegion`
        of the segment file (the Fetch response sends it with sendfile, the bytes never entering
        Python); batches nothing vouches for yet are read and checked first, exactly as
        :meth:`read` does, so zero-copy never serves a batch that was not validated once; so are
        batches beyond the budget of pinned regions (see ``HandleCache.region_budget``).
        ``copy_max_bytes`` caps what such a read copies into memory (still one whole batch at
        least): a region costs no memory, bytes do."""
        with self._lock:
            if offset < self.log_start_offset or offset > self.log_end_offset:
                raise OffsetOutOfRangeError(
                    f"offset {offset} is outside [{self.log_start_offset}, {self.log_end_offset}] "
                    f"of {self.directory.name}"
                )
            bound = self.log_end_offset if upper_bound is None else min(upper_bound, self.log_end_offset)
            if offset >= bound:
                return ReadResult(b"", offset)
            i = max(0, bisect_right(self._bases, offset) - 1)
            for k, seg in enumerate(self._segments[i:], i):
                found = seg.find_position(offset)
                if found is None:
                    start = seg.index.lookup(offset)[1]
                    if seg is not self.active_segment and not seg.frames_to_end(start):
                        # No batch at or after the offset, and the bytes stop framing before the
                        # end of the file: damage, not a hole left by compaction or truncation.
                        raise self._corrupt(seg, start, offset, "the batches after it do not frame up")
                    continue  # compaction (even to an empty segment) left nothing at or after offset
                pos, first = found
                if first.base_offset >= bound:
                    return ReadResult(b"", offset)
                if first.size > max_bytes and not min_one_batch:
                    return ReadResult(b"", offset)
                limit = pos + min(max(max_bytes, first.size), seg.size - pos)
                following = self._bases[k + 1] if k + 1 < len(self._bases) else self.log_end_offset
                end, end_offset = _whole_batches_end(seg, pos, limit, bound, following)
                if zero_copy and seg.vouched_for(pos, end):
                    region = seg.region(pos, end - pos)
                    if region is not None:
                        return ReadResult(region, end_offset)
                if copy_max_bytes is not None and end - pos > max(copy_max_bytes, first.size):
                    end, beyond = seg.last_batch_before(pos + max(copy_max_bytes, first.size), pos)
                    if beyond is not None:
                        end_offset = beyond.base_offset
                data = seg.read_bytes(pos, end - pos)
                bad = seg.first_invalid_batch(pos, data)
                if bad is not None:
                    bad_pos, reason = bad
                    if bad_pos == pos:
                        raise self._corrupt(seg, bad_pos, offset, reason)
                    self._corrupt(seg, bad_pos, None, reason)
                    data = data[: bad_pos - pos]  # the valid batches before it; the next fetch errs
                    end_offset = min(end_offset, _next_offset_of(data, offset))
                return ReadResult(data, end_offset)
            return ReadResult(b"", offset)

    def _corrupt(self, seg: LogSegment, position: int, offset: int | None, reason: str) -> CorruptBatchError:
        """A damaged stored batch met by a read: an ERROR the first time, and the fetch error."""
        name = self.directory.name
        if position not in seg.reported_corrupt:
            seg.reported_corrupt.add(position)
            log.error(
                "Found a corrupt batch in segment %s of %s at position %d: %s. It is not served; fetches "
                "at it answer CORRUPT_MESSAGE (kafka-storage verify lists every damaged batch)",
                seg.log_path,
                name,
                position,
                reason,
            )
        at = "" if offset is None else f" at offset {offset}"
        return CorruptBatchError(
            f"Corrupt record batch in {name}{at} (segment {seg.log_path.name}, position {position}): {reason}"
        )

    def read_batches(self, offset: int) -> list[tuple[BatchHeader, bytes]]:
        """Every batch from ``offset`` to the end, as (header, bytes): for tools and tests."""
        out: list[tuple[BatchHeader, bytes]] = []
        with self._lock:
            for seg in self._segments:
                if seg.next_offset <= offset and seg is not self.active_segment:
                    continue
                for pos, h in seg.headers_from(0):
                    if h.last_offset >= offset:
                        out.append((h, seg.read_bytes(pos, h.size)))
        return out

    # --- timestamps ---------------------------------------------------------------------------
    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with a timestamp >= ``timestamp_ms``."""
        with self._lock:
            for seg in self._segments:
                found = seg.batch_for_timestamp(timestamp_ms)
                if found is None:
                    continue
                pos, h = found
                if h.timestamp_type == LOG_APPEND_TIME:
                    return max(h.base_offset, self.log_start_offset), h.max_timestamp
                _, records = decode_batch(seg.read_bytes(pos, h.size))
                for rec in records:
                    if rec.timestamp >= timestamp_ms and rec.offset >= self.log_start_offset:
                        return rec.offset, rec.timestamp
            return None

    def max_timestamp(self) -> tuple[int, int]:
        """(offset, timestamp) of the record with the largest timestamp, (-1, -1) when empty."""
        with self._lock:
            best: LogSegment | None = None
            for seg in self._segments:
                if seg.size and (best is None or seg.max_timestamp > best.max_timestamp):
                    best = seg
            if best is None or best.max_timestamp < 0:
                return -1, -1
            found = best.find_position(best.offset_of_max_timestamp)
            if found is not None:
                pos, h = found
                if h.timestamp_type != LOG_APPEND_TIME:
                    for rec in decode_batch(best.read_bytes(pos, h.size))[1]:
                        if rec.timestamp == best.max_timestamp:
                            return rec.offset, rec.timestamp
                else:
                    return h.base_offset, h.max_timestamp
            return best.offset_of_max_timestamp, best.max_timestamp


def _whole_batches_end(seg: LogSegment, pos: int, limit: int, bound: int, following: int) -> tuple[int, int]:
    """Where a read from ``pos`` (a batch boundary) ends: at the last whole batch within the byte
    position ``limit`` and below the offset ``bound``; and an offset at or after the end of the
    last batch read (exact when the walk saw that batch, else the next batch's base offset or
    ``following``, the next segment's base or the log end), which read_committed fetches bound
    their aborted transactions with, as Kafka's ``fetchUpperBoundOffset`` does."""
    end, end_offset = limit, following
    at_boundary = end == seg.size  # a segment holds only whole batches
    if bound < seg.next_offset:
        found = seg.find_position(bound)
        if found is not None:
            bpos, bh = found
            if bh.base_offset >= bound:
                cut, cut_offset = bpos, bh.base_offset
            else:  # a batch straddling the bound is served whole
                cut, cut_offset = bpos + bh.size, bh.next_offset
            if cut <= end:
                end, end_offset, at_boundary = cut, cut_offset, True
    if not at_boundary:
        end, beyond = seg.last_batch_before(end, pos)
        if beyond is not None:
            end_offset = beyond.base_offset
    return end, end_offset


def _next_offset_of(data: bytes, default: int) -> int:
    """One past the last offset of the whole batches in ``data`` (``default`` when none)."""
    end = default
    for _, h in iter_batches(data):
        end = h.next_offset
    return end
