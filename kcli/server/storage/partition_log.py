"""The log of one partition: a directory of segments, offsets, recovery, retention and idempotence.

Appends validate the batches by header and CRC, stamp them with offsets and append the bytes to
the active segment in one ``os.write``: the call returns only once the data is in the file, so an
acknowledged record survives ``kill -9`` of the broker. Reads return whole batches sliced out of
one segment file with ``os.pread``.

Flushes and recovery follow Kafka's ``UnifiedLog``/``LogLoader``: a rolled segment is fsynced in
the background and the *recovery point* (the offset below which everything is on disk) moves up
when it is; ``flush.messages``/``flush.ms`` flush more often when asked to; a clean shutdown
flushes everything before its marker. An unclean start CRC-checks every segment from the one
holding the recovery point on, cuts the log at the first invalid batch and drops the unflushed
segments after it; every byte cut is logged with the partition and offsets, and an offset range
lost below the high watermark is logged as an ERROR naming it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import mmap
import os
import shutil
import threading
import time
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kio.schema.errors import ErrorCode

from kcli.server.protocol.records import (
    LOG_APPEND_TIME,
    BatchHeader,
    InvalidRecordError,
    assign_offsets,
    decode_batch,
    iter_batches,
    validate_batches,
)
from kcli.server.storage import log_transactions
from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.cleaner import CleanerStats, clean_log
from kcli.server.storage.dir_health import dir_health
from kcli.server.storage.errors import CorruptBatchError, KafkaStorageError
from kcli.server.storage.flusher import Flusher, default_flusher
from kcli.server.storage.handles import FileRegion
from kcli.server.storage.leader_epoch import LeaderEpochCache
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.producer_state import ProducerStateManager, VerificationGuard
from kcli.server.storage.segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    INDEX_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    TIME_INDEX_SUFFIX,
    BatchInfo,
    LogSegment,
    Truncation,
)
from kcli.server.storage.transaction_index import TXN_INDEX_SUFFIX, AbortedTxn

log = logging.getLogger("kafka.log.LogLoader")

OFFSET_OUT_OF_RANGE = int(ErrorCode.offset_out_of_range)
_MARKS_KEPT = 4096  # appends the high watermark may lag behind and still have a known position
PRODUCER_SNAPSHOT_FILE = "producer-state.json"
_INT32_MAX = 0x7FFFFFFF


class OffsetOutOfRangeError(Exception):
    error_code = OFFSET_OUT_OF_RANGE

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class AppendResult:
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 for CreateTime topics
    log_start_offset: int
    duplicate: bool = False
    max_timestamp: int = -1


class ReadResult(NamedTuple):
    """A read's batches (bytes, or a pinned region of a segment file for sendfile) and an offset
    at or after the end of the last of them (the upper bound for aborted transactions)."""

    records: bytes | FileRegion
    end_offset: int


class SegmentInfo(NamedTuple):
    base_offset: int
    size_bytes: int
    next_offset: int
    max_timestamp: int


class PartitionLog:
    def __init__(self, directory: Path, config: LogConfig, segments: list[LogSegment]):
        self.directory = directory
        self.config = config
        self._segments = segments
        self._bases = [s.base_offset for s in segments]
        self._lock = threading.RLock()  # the segment list, offsets and the active segment
        # Held by whatever removes or rewrites closed segments (cleaner, retention, truncation,
        # close), taken before _lock: the cleaner works on closed segments without _lock.
        self._maintenance_lock = threading.RLock()
        tp = parse_partition_dir(directory.name)
        self.topic_partition = tp if tp is not None else (directory.name, -1)
        self._checkpoints = LogDirCheckpoints.for_dir(directory.parent)
        self.producer_state = ProducerStateManager()
        self.epoch_cache = LeaderEpochCache(directory)
        self.log_end_offset = segments[-1].next_offset
        self.log_start_offset = segments[0].base_offset
        self._high_watermark = self.log_end_offset
        # Where recent appends ended, (next offset, segment base, byte position), so that the
        # high watermark's position is known when it moves (a waiting Fetch measures the bytes
        # available as a difference of positions, as Kafka's LogOffsetMetadata, never by reading).
        self._marks: deque[tuple[int, int, int]] = deque(maxlen=_MARKS_KEPT)
        self._hw_mark: tuple[int, int, int] | None = None
        self.truncated_on_recovery = 0  # bytes recovery cut off or deleted when the log was opened
        self.cleaned_up_to = self.log_start_offset  # the cleaner's progress (compacted topics)
        self.tombstone_expiry_ms: int | None = None  # when cleaned segments' tombstones may go
        self._closed = False
        self.truncations = 0  # how many times the log was cut back (see _after_truncation)
        # Everything below the recovery point is fsynced; an unclean start recovers from there.
        self._recovery_point = 0
        self.last_flush_ms = int(time.time() * 1000)
        self.flusher: Flusher = default_flusher()
        self._flush_lock = threading.Lock()  # one flush at a time; never held with _lock waiting

    # --- opening ------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        directory: Path,
        config: LogConfig,
        *,
        clean_shutdown: bool = False,
        flusher: Flusher | None = None,
    ) -> PartitionLog:
        """Create the partition directory, or load and recover the one there (Kafka's LogLoader)."""
        directory.mkdir(parents=True, exist_ok=True)
        _finish_interrupted_operations(directory)
        bases = sorted(
            int(p.name[: -len(LOG_SUFFIX)])
            for p in directory.iterdir()
            if p.name.endswith(LOG_SUFFIX) and p.name[: -len(LOG_SUFFIX)].isdigit()
        )
        ckpt = LogDirCheckpoints.for_dir(directory.parent)
        tp = parse_partition_dir(directory.name) or (directory.name, -1)
        recovery_point = ckpt.recovery_points.get(tp, 0)
        interval = config.index_interval_bytes
        segments: list[LogSegment] = []
        cuts: list[tuple[LogSegment, Truncation]] = []
        dropped: list[tuple[int, int, int]] = []  # (base offset, bytes, next offset) of deleted segments
        if not bases:
            start = max(0, ckpt.log_start_offsets.get(tp, 0))
            segments.append(LogSegment.create(directory, start, interval))
        corrupt_unflushed = False
        for i, base in enumerate(bases):
            active = i == len(bases) - 1
            # The segments holding offsets from the recovery point on, as Kafka's
            # ``segments.values(recoveryPoint, Long.MaxValue)``.
            unflushed = not clean_shutdown and (active or bases[i + 1] > recovery_point)
            if corrupt_unflushed:
                # Kafka deletes the unflushed segments after a corrupt one: what follows a torn
                # or lost write cannot be trusted to continue the log.
                dropped.append(_delete_segment_files(directory, base))
                continue
            seg, cut, index_problem = LogSegment.load(
                directory, base, interval, active=active, recover=unflushed
            )
            if index_problem is not None:
                log.warning(
                    "Found a corrupted index file corresponding to log file %s due to %s, recovering "
                    "segment and rebuilding index files...",
                    seg.log_path,
                    index_problem,
                )
            if cut is not None:
                cuts.append((seg, cut))
                corrupt_unflushed = unflushed
            segments.append(seg)
        log_ = cls(directory, config, segments)
        if flusher is not None:
            log_.flusher = flusher
        active_seg = segments[-1]
        log_.log_end_offset = active_seg.next_offset if active_seg.size else active_seg.base_offset
        log_.log_start_offset = min(
            max(ckpt.log_start_offsets.get(tp, 0), segments[0].base_offset), log_.log_end_offset
        )
        hw = ckpt.high_watermarks.get(tp)
        log_._report_recovery(cuts, dropped, hw)
        log_.high_watermark = (
            log_.log_end_offset if hw is None else max(log_.log_start_offset, min(hw, log_.log_end_offset))
        )
        # A clean shutdown flushed everything; otherwise what recovery checked is still unflushed.
        log_.recovery_point = (
            log_.log_end_offset if clean_shutdown else min(recovery_point, log_.log_end_offset)
        )
        snapshot = directory / PRODUCER_SNAPSHOT_FILE
        if not (clean_shutdown and not cuts and log_.producer_state.load(snapshot, log_.log_end_offset)):
            log_transactions.rebuild(log_.producer_state, segments, log_.high_watermark)  # and .txnindex
        try:
            snapshot.unlink()  # any later append makes it stale; a crash must not find it
        except FileNotFoundError:
            pass
        if log_.epoch_cache.damaged:
            log_.epoch_cache.rebuild(
                (h.partition_leader_epoch, h.base_offset) for seg in segments for _, h in seg.headers_from(0)
            )
        log_.epoch_cache.truncate_from_end(log_.log_end_offset)
        return log_

    def _report_recovery(
        self, cuts: list[tuple[LogSegment, Truncation]], dropped: list[tuple[int, int, int]], hw: int | None
    ) -> None:
        """Log every byte recovery cut or deleted, and as ERRORs the offsets lost below the high
        watermark or left as a hole in the middle of the log."""
        name = self.directory.name
        by_base = {s.base_offset: i for i, s in enumerate(self._segments)}
        for seg, cut in cuts:
            self.truncated_on_recovery += cut.bytes
            log.warning(
                "Truncated %d invalid bytes at the end of segment %s of %s, from position %d and offset %d: %s",
                cut.bytes,
                seg.log_path.name,
                name,
                cut.position,
                cut.next_offset,
                cut.reason,
            )
            i = by_base[seg.base_offset]
            if i + 1 < len(self._segments):
                following = self._segments[i + 1].base_offset
                if following > cut.next_offset:
                    log.error(
                        "Partition %s lost offsets %d to %d: the %d corrupt bytes cut from segment %s held "
                        "them; the log continues at offset %d",
                        name,
                        cut.next_offset,
                        following - 1,
                        cut.bytes,
                        seg.log_path.name,
                        following,
                    )
        if dropped:
            self.truncated_on_recovery += sum(size for _, size, _ in dropped)
            log.warning(
                "Deleting segments as part of log recovery of %s, after the corruption found before them: %s",
                name,
                ", ".join(
                    f"{base} ({size} bytes, offsets {base} to {nxt - 1})" for base, size, nxt in dropped
                ),
            )
        if hw is not None and hw > self.log_end_offset:
            log.error(
                "Partition %s lost acknowledged records: offsets %d to %d were below its high watermark %d, "
                "but the log now ends at %d (%s)",
                name,
                self.log_end_offset,
                hw - 1,
                hw,
                self.log_end_offset,
                "recovery found them corrupt or incomplete"
                if cuts or dropped
                else "its segment files are gone",
            )

    # --- state --------------------------------------------------------------------------------
    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @high_watermark.setter
    def high_watermark(self, value: int) -> None:
        self._high_watermark = value
        marks, last = self._marks, None
        while marks and marks[0][0] <= value:
            last = marks.popleft()
        if last is not None and last[0] == value:
            self._hw_mark = last
        self._checkpoints.high_watermarks[self.topic_partition] = value
        self.producer_state.on_high_watermark(value)

    @property
    def last_stable_offset(self) -> int:
        """The LSO: below it every transaction is decided (Kafka's UnifiedLog.lastStableOffset);
        read_committed consumers never read past it, and it never passes the high watermark."""
        first_unstable = self.producer_state.first_unstable_offset()
        if first_unstable is None or first_unstable >= self._high_watermark:
            return self._high_watermark
        return max(first_unstable, self.log_start_offset)

    def position_of(self, offset: int, *, look_up: bool = False) -> tuple[int, int] | None:
        """(segment base offset, byte position) of the batch boundary at ``offset``: at once for
        the log end and the high watermark (Kafka's LogOffsetMetadata), with ``look_up`` through
        the index and batch headers for other offsets (the start of the batch holding it); None
        when not known that way. A waiting Fetch measures bytes available as the difference."""
        with self._lock:
            seg = self._segments[-1]
            if offset == self.log_end_offset:
                return seg.base_offset, seg.size
            mark = self._hw_mark
            if mark is not None and mark[0] == offset:
                return mark[1], mark[2]
            if not look_up or offset < self.log_start_offset or offset > self.log_end_offset:
                return None
            i = max(0, bisect_right(self._bases, offset) - 1)
            for seg in self._segments[i:]:
                found = seg.find_position(offset)
                if found is not None:
                    return seg.base_offset, found[0]
            return None

    def collect_aborted(self, fetch_offset: int, upper_bound: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping [fetch_offset, upper_bound), for a read_committed fetch."""
        with self._lock:
            return log_transactions.collect_aborted(self._segments, self._bases, fetch_offset, upper_bound)

    def start_transaction_verification(self, producer_id: int) -> VerificationGuard | None:
        """KIP-890: a guard for a producer's first transactional write (None: already open here)."""
        with self._lock:
            return self.producer_state.start_verification(producer_id)

    @property
    def recovery_point(self) -> int:
        """The offset below which every segment is flushed (what the checkpoint file records)."""
        return self._recovery_point

    @recovery_point.setter
    def recovery_point(self, value: int) -> None:
        self._recovery_point = value
        self._checkpoints.recovery_points[self.topic_partition] = value

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def segments(self) -> list[SegmentInfo]:
        with self._lock:
            return [
                SegmentInfo(s.base_offset, s.size, s.next_offset, s.max_timestamp) for s in self._segments
            ]

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    def update_config(self, config: LogConfig) -> None:
        with self._lock:
            self.config = config
            for seg in self._segments:
                seg.index_interval_bytes = config.index_interval_bytes

    # --- append -------------------------------------------------------------------------------
    def append(
        self,
        records: bytes,
        *,
        leader_epoch: int = 0,
        now_ms: int | None = None,
        allow_control: bool = False,
        origin_coordinator: bool = False,
        txn_guard: VerificationGuard | None = None,
        verify_txn: bool = False,
    ) -> AppendResult:
        """Validate, deduplicate, stamp and write the batches of one produce request.

        ``origin_coordinator``: written by a coordinator (transaction markers, transactional offset
        commits), so only epochs are checked, not sequences, as Kafka's AppendOrigin.COORDINATOR.
        ``verify_txn``: a producer's first transactional batch needs ``txn_guard`` (KIP-890)."""
        headers = validate_batches(records, self.config.max_message_bytes, allow_control=allow_control)
        if self.config.compact:
            _require_keys(records, headers, self.directory.name)
        markers = log_transactions.markers_in(records, headers) if allow_control else {}
        with self._lock:
            if not headers:
                return AppendResult(-1, -1, -1, self.log_start_offset)
            if not origin_coordinator:
                duplicate = self.producer_state.find_duplicate(headers)
                if duplicate is not None:
                    return AppendResult(
                        duplicate.first_offset,
                        duplicate.last_offset,
                        -1,
                        self.log_start_offset,
                        duplicate=True,
                    )
                self.producer_state.check(headers)
            self.producer_state.check_transactions(headers, markers, txn_guard, verify_txn)
            log_append_ms = None
            if self.config.log_append_time:
                log_append_ms = int(time.time() * 1000) if now_ms is None else now_ms
            buf = bytearray(records)
            first = self.log_end_offset
            last, max_ts, _ = assign_offsets(buf, headers, first, leader_epoch, log_append_ms)
            infos = []
            offset = first
            for h in headers:
                infos.append(
                    BatchInfo(
                        offset + h.last_offset_delta,
                        h.max_timestamp if log_append_ms is None else log_append_ms,
                        h.size,
                    )
                )
                offset += h.last_offset_delta + 1
            try:
                # The epoch's start offset is recorded before the write, as Kafka does: a failed
                # write then leaves nothing behind that the next append would duplicate.
                self.epoch_cache.assign(leader_epoch, first)
                self._maybe_roll(
                    len(buf),
                    max(h.max_timestamp for h in headers) if log_append_ms is None else log_append_ms,
                    last,
                    now_ms,
                )
                self.active_segment.append(buf, infos)
            except OSError as exc:
                raise self._storage_error("appending records to", exc) from exc
            log_transactions.apply_appended(self.producer_state, self.active_segment, headers, first, markers)
            self.log_end_offset = last + 1
            seg = self.active_segment
            self._marks.append((self.log_end_offset, seg.base_offset, seg.size))
            result = AppendResult(
                first,
                last,
                -1 if log_append_ms is None else log_append_ms,
                self.log_start_offset,
                max_timestamp=max_ts,
            )
        self._after_append()
        return result

    def append_as_follower(self, records: bytes | memoryview) -> int:
        """Write batches fetched from the leader exactly as they are, offsets and epochs included.

        The leader assigned offsets, epochs and timestamps; a follower only checks CRCs and that
        the batches continue its log, so the replicas stay byte-identical. Returns the new log
        end offset.
        """
        headers = validate_batches(records, 0x7FFFFFFF, allow_control=True)
        with self._lock:
            if not headers:
                return self.log_end_offset
            # Offsets may jump (a compacted leader, or one whose recovery left a hole, as its ERROR
            # said) but never go back, as in Kafka's follower append.
            if headers[0].base_offset < self.log_end_offset:
                raise ValueError(
                    f"fetched batch starts at {headers[0].base_offset}, the log ends at {self.log_end_offset}"
                )
            infos = [BatchInfo(h.last_offset, h.max_timestamp, h.size) for h in headers]
            try:
                for h in headers:
                    self.epoch_cache.assign(h.partition_leader_epoch, h.base_offset)
                self._maybe_roll(
                    len(records), max(h.max_timestamp for h in headers), headers[-1].last_offset, None
                )
                self.active_segment.append(records, infos)
            except OSError as exc:
                raise self._storage_error("appending replicated records to", exc) from exc
            markers = log_transactions.markers_in(records, headers)
            log_transactions.apply_appended(
                self.producer_state,
                self.active_segment,
                headers,
                headers[0].base_offset,
                markers,
                assigned=False,
            )
            self.log_end_offset = headers[-1].last_offset + 1
            seg = self.active_segment
            self._marks.append((self.log_end_offset, seg.base_offset, seg.size))
            end = self.log_end_offset
        self._after_append()
        return end

    def _storage_error(self, what: str, exc: OSError) -> KafkaStorageError:
        """Note the failing log dir (logged once per state change) and make Kafka's exception."""
        log_dir = self.directory.parent
        dir_health().failed(log_dir, f"{what} {self.directory.name}", exc)
        return KafkaStorageError(
            f"Error while {what} {self.directory.name} in dir {log_dir}: {exc.strerror or exc}"
        )

    def _after_append(self) -> None:
        """An append succeeded: the dir is writable; flush.messages may ask for an fsync now.

        Like Kafka, that fsync runs in the appending request (here the event loop), so a
        flush.messages of 1 costs each produce an fsync; the default never asks for one."""
        dir_health().succeeded(self.directory.parent)
        if self.log_end_offset - self.recovery_point >= self.config.flush_messages:
            try:
                self.flush()
            except OSError:
                pass  # logged by flush; the records are written and stay acknowledged

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Empty the log and start it at ``offset`` (a follower behind the leader's log start)."""
        with self._maintenance_lock, self._lock:
            self._truncate_fully(offset)

    def _maybe_roll(
        self, incoming: int, max_ts_in_messages: int, last_offset: int, now_ms: int | None
    ) -> None:
        seg = self.active_segment
        if seg.size == 0:
            return
        if (
            seg.size > self.config.segment_bytes - incoming
            or self._segment_expired(seg, max_ts_in_messages, now_ms)
            or last_offset - seg.base_offset > _INT32_MAX
        ):
            self.roll()

    def _segment_expired(self, seg: LogSegment, timestamp: int | None, now_ms: int | None) -> bool:
        """Kafka's time-based roll: from the first batch's timestamp, else from creation."""
        if seg.size == 0:
            return False
        if seg.first_batch_timestamp >= 0 and timestamp is not None:
            waited = timestamp - seg.first_batch_timestamp
        else:
            waited = (int(time.time() * 1000) if now_ms is None else now_ms) - seg.created_ms
        return waited > self.config.segment_ms

    def roll(self) -> LogSegment:
        """Close the active segment for writing and start a new one at the log end offset."""
        with self._lock:
            seg = self.active_segment
            if seg.size == 0:
                return seg
            seg.on_become_inactive()
            new = LogSegment.create(self.directory, self.log_end_offset, self.config.index_interval_bytes)
            self._segments.append(new)
            self._bases.append(new.base_offset)
        # Kafka schedules an asynchronous flush of everything before the new segment.
        self.flusher.submit(lambda: self._flush_quietly(new.base_offset))
        return new

    def maybe_roll_by_time(self, now_ms: int) -> bool:
        """Maintenance: roll a quiet active segment once segment.ms has passed since it started."""
        with self._lock:
            seg = self.active_segment
            if self._closed:
                return False
            if seg.size and self._segment_expired(
                seg, now_ms if seg.first_batch_timestamp >= 0 else None, now_ms
            ):
                self.roll()
                return True
            return False

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

    # --- deletion -----------------------------------------------------------------------------
    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: move the log start offset up to ``offset``; returns the new one."""
        with self._maintenance_lock, self._lock:
            if offset > self.high_watermark:
                raise OffsetOutOfRangeError(
                    f"offset {offset} is beyond the high watermark {self.high_watermark}"
                )
            if offset > self.log_start_offset:
                self._set_log_start_offset(offset)
                self._delete_segments(self._segments_below_start())
            return self.log_start_offset

    def _set_log_start_offset(self, offset: int) -> None:
        self._checkpoints.set_log_start_offset(self.topic_partition, offset)  # persisted first
        self.log_start_offset = offset
        self.producer_state.evict_before(offset)
        self.epoch_cache.truncate_from_start(offset)

    def _segments_below_start(self) -> list[LogSegment]:
        out = []
        for seg, nxt in itertools.pairwise(self._segments):
            if nxt.base_offset <= self.log_start_offset:
                out.append(seg)
            else:
                break
        return out

    def _delete_segments(self, doomed: list[LogSegment]) -> int:
        if not doomed:
            return 0
        if len(doomed) == len(self._segments):
            self.roll()
        for seg in doomed:
            self._segments.remove(seg)
            seg.delete()
        self._bases = [s.base_offset for s in self._segments]
        if self._segments[0].base_offset > self.log_start_offset:
            self._set_log_start_offset(self._segments[0].base_offset)
        return len(doomed)

    def apply_retention(self, now_ms: int) -> int:
        """retention.ms and retention.bytes, oldest segment first, never beyond the high watermark."""
        if not self.config.delete:
            return 0
        with self._maintenance_lock, self._lock:
            if self._closed:
                return 0
            deleted = 0
            if self.config.retention_ms >= 0:
                deleted += self._delete_oldest(
                    lambda seg: now_ms - seg.largest_timestamp() > self.config.retention_ms
                )
            if self.config.retention_bytes >= 0:
                excess = self.size_bytes - self.config.retention_bytes

                def over_size(seg: LogSegment) -> bool:
                    nonlocal excess
                    if excess - seg.size >= 0:
                        excess -= seg.size
                        return True
                    return False

                deleted += self._delete_oldest(over_size)
            deleted += self._delete_segments(self._segments_below_start())
            return deleted

    def _delete_oldest(self, predicate) -> int:  # type: ignore[no-untyped-def]
        doomed: list[LogSegment] = []
        for i, seg in enumerate(self._segments):
            last = i == len(self._segments) - 1
            upper = self.log_end_offset if last else self._segments[i + 1].base_offset
            if self.high_watermark < upper or (last and seg.size == 0) or not predicate(seg):
                break
            doomed.append(seg)
        return self._delete_segments(doomed)

    def expire_producers(self, now_ms: int, expiration_ms: int) -> int:
        """Forget idempotent producers silent for producer.id.expiration.ms; returns how many."""
        with self._lock:
            return self.producer_state.expire(now_ms - expiration_ms)

    def compact(self, now_ms: int) -> CleanerStats:
        """cleanup.policy=compact: keep the latest record per key in the closed segments.

        Holds the log's lock only to pick segments and to swap each cleaned one in, so appends and
        reads go on while it decodes and rewrites (when maintenance runs in its own thread).
        """
        with self._maintenance_lock:
            if self._closed:
                return CleanerStats()
            return clean_log(self, now_ms)

    def needs_compaction(self, now_ms: int) -> bool:
        """Whether the dirty part of the closed segments reaches min.cleanable.dirty.ratio, or
        cleaned segments may hold tombstones that delete.retention.ms now lets go."""
        with self._lock:
            closed = self._segments[:-1]
            total = sum(s.size for s in closed)
            if not total:
                return False
            dirty = sum(s.size for s in closed if s.base_offset >= self.cleaned_up_to)
            if dirty / total >= self.config.min_cleanable_dirty_ratio:
                return True
            return self.tombstone_expiry_ms is not None and now_ms > self.tombstone_expiry_ms

    def truncate_to(self, offset: int) -> None:
        """Drop every batch at or beyond ``offset`` (a follower catching up to a new leader)."""
        with self._maintenance_lock, self._lock:
            if offset >= self.log_end_offset:
                return
            if offset <= self._segments[0].base_offset:
                self._truncate_fully(offset)
                return
            while self.active_segment.base_offset >= offset:
                seg = self._segments.pop()
                seg.delete()
            self._bases = [s.base_offset for s in self._segments]
            active = self.active_segment
            active.truncate_to(offset)
            self.log_end_offset = active.next_offset if active.size else active.base_offset
            self._after_truncation()

    def _truncate_fully(self, offset: int) -> None:
        for seg in self._segments:
            seg.delete()
        self._segments = [LogSegment.create(self.directory, offset, self.config.index_interval_bytes)]
        self._bases = [offset]
        self.log_end_offset = offset
        self.recovery_point = offset  # an empty log: nothing below it to recover
        self._set_log_start_offset(offset)
        self._after_truncation()

    def _after_truncation(self) -> None:
        self.truncations += 1  # a copy of this log being made (log_dir_mover) starts again
        self._marks.clear()
        self._hw_mark = None
        self.recovery_point = min(self.recovery_point, self.log_end_offset)
        self.high_watermark = min(self.high_watermark, self.log_end_offset)
        self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        if self.producer_state.has_transactions:
            # A cut may reopen a transaction whose marker went: rebuild from what is left.
            log_transactions.rebuild(self.producer_state, self._segments, self._high_watermark)
        else:
            self.producer_state.truncate_to(self.log_end_offset)
        self.epoch_cache.truncate_from_end(self.log_end_offset)

    # --- lifecycle ----------------------------------------------------------------------------
    def checkpoint(self, *, write: bool = True) -> None:
        """Record the recovery point and high watermark and (unless ``write`` is false) write the
        checkpoint files. The recovery point is only what a flush made durable, as in Kafka."""
        self._checkpoints.recovery_points[self.topic_partition] = self.recovery_point
        self._checkpoints.high_watermarks[self.topic_partition] = self._high_watermark
        if write:
            self._checkpoints.write()

    def flush(self, up_to: int | None = None) -> None:
        """fsync every segment holding offsets between the recovery point and ``up_to`` (default:
        the log end), then move the recovery point there (Kafka's ``UnifiedLog.flush``).

        The fsyncs run without the log's lock, so appends and reads go on meanwhile; a failure
        is logged once for the directory and raised as KafkaStorageError."""
        with self._flush_lock:
            with self._lock:
                if self._closed:
                    return
                end = self.log_end_offset if up_to is None else min(up_to, self.log_end_offset)
                start = self.recovery_point
                if end <= start:
                    self.last_flush_ms = int(time.time() * 1000)
                    return
                i = max(0, bisect_right(self._bases, start) - 1)
                todo = [s for s in self._segments[i:] if s.base_offset < end]
            for seg in todo:
                try:
                    seg.flush()
                except FileNotFoundError:
                    pass  # retention or compaction removed it meanwhile: nothing to make durable
                except OSError as exc:
                    raise self._storage_error("flushing", exc) from exc
            with self._lock:
                self.recovery_point = max(self.recovery_point, end)
                self.last_flush_ms = int(time.time() * 1000)

    def _flush_quietly(self, up_to: int | None = None) -> None:
        """A background flush: a failure was logged once for the dir and the recovery point stays."""
        try:
            self.flush(up_to)
        except OSError:
            pass

    def close(self, *, write_checkpoints: bool = True) -> bool:
        """Clean close: flush, final time index entry, producer snapshot, checkpoints, files closed.

        ``write_checkpoints=False`` only records this log's offsets: the caller closing every log
        writes the shared checkpoint files once. Returns False when the data could not be flushed
        (the caller then leaves no clean-shutdown marker, so the next start recovers the log);
        a producer snapshot that cannot be written is rebuilt from the log on the next start."""
        try:
            self.flush()
            flushed = True
        except OSError:
            flushed = False  # logged once for the directory by flush
        with self._maintenance_lock, self._lock:
            if self._closed:
                return flushed
            self._closed = True
            snapshot = self.directory / PRODUCER_SNAPSHOT_FILE
            try:
                self.active_segment.on_become_inactive()
                if self.producer_state.producers or self.log_end_offset > self.log_start_offset:
                    # An empty log's state rebuilds from nothing for free: skipping its snapshot
                    # keeps the shutdown of a broker with thousands of idle partitions short.
                    self.producer_state.save(snapshot, self.log_end_offset)
            except OSError as exc:
                snapshot.unlink(missing_ok=True)
                log.warning(
                    "Could not write the producer state snapshot of %s (%s): the next start rebuilds it",
                    self.directory.name,
                    exc.strerror or exc,
                )
            self.checkpoint(write=False)
            for seg in self._segments:
                seg.close()
        if write_checkpoints:
            try:
                self._checkpoints.write()
            except OSError as exc:
                log.warning("%s", exc)
        return flushed

    def delete(self) -> None:
        """Remove the partition's directory and its checkpoint entries."""
        with self._maintenance_lock, self._lock:
            self._closed = True
            for seg in self._segments:
                seg.deleted = True  # a flush already under way leaves its files alone
                seg.close()
            with contextlib.suppress(OSError):  # a full disk: the entry leaves with the next write
                self._checkpoints.remove(self.topic_partition)
            shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self.directory.name}, start={self.log_start_offset}, "
            f"end={self.log_end_offset}, hw={self._high_watermark}, segments={len(self._segments)})"
        )


def _require_keys(records: bytes, headers: list[BatchHeader], name: str) -> None:
    """Kafka rejects keyless records in compacted topics; only these topics pay for decoding."""
    pos = 0
    for h in headers:
        if not h.is_control:
            for rec in decode_batch(records, pos)[1]:
                if rec.key is None:
                    raise InvalidRecordError(f"Compacted topic cannot accept message without key in {name}")
        pos += h.size


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


def _delete_segment_files(directory: Path, base: int) -> tuple[int, int, int]:
    """Delete one segment's files; returns (base offset, bytes, next offset) for the log line."""
    stem = directory / f"{base:020d}"
    path = Path(f"{stem}{LOG_SUFFIX}")
    size = path.stat().st_size
    end = _end_offset(path, base)
    for suffix in (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX):
        Path(f"{stem}{suffix}").unlink(missing_ok=True)
    return base, size, end


def _end_offset(path: Path, base: int) -> int:
    """One past the last offset of the complete batches in a log file (``base`` if none)."""
    end = base
    if path.stat().st_size == 0:
        return end
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for _, h in iter_batches(mm):
            end = h.next_offset
    return end


def _finish_interrupted_operations(directory: Path) -> None:
    """Complete or undo what a crash interrupted: cleaner swaps, half-deleted segments, temp files."""
    for path in directory.iterdir():
        name = path.name
        if name.endswith((CLEANED_SUFFIX, DELETED_SUFFIX, ".tmp")):
            path.unlink(missing_ok=True)
    # A cleaned log renamed to .swap is complete and wins over the original; segments it overlaps
    # (the rest of a merged group) go. Indexes are never trusted across a swap (the crash may have
    # hit between the renames) and are rebuilt instead.
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.endswith(LOG_SUFFIX + SWAP_SUFFIX):
            stem = name[: -len(LOG_SUFFIX + SWAP_SUFFIX)]
            base = int(stem)
            end = _end_offset(path, base)
            os.replace(path, directory / (stem + LOG_SUFFIX))
            for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX):
                (directory / (stem + suffix)).unlink(missing_ok=True)
            for other in directory.iterdir():
                other_stem = other.name.split(".", 1)[0]
                if other_stem.isdigit() and base < int(other_stem) < end:
                    other.unlink(missing_ok=True)
    for path in directory.iterdir():
        if path.name.endswith(SWAP_SUFFIX):
            path.unlink(missing_ok=True)
    # An index without its log (a segment deleted half way) is removed.
    logs = {p.name[: -len(LOG_SUFFIX)] for p in directory.iterdir() if p.name.endswith(LOG_SUFFIX)}
    for path in directory.iterdir():
        for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX):
            if path.name.endswith(suffix) and path.name[: -len(suffix)] not in logs:
                path.unlink(missing_ok=True)
