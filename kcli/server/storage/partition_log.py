"""One partition's log (Kafka's UnifiedLog): appends with idempotence, offsets, rolling, truncation, flushes.

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
lost below the high watermark is logged as an ERROR naming it (that is
:mod:`kcli.server.storage.log_loader`; reads are :mod:`kcli.server.storage.log_reads`, retention,
DeleteRecords and compaction :mod:`kcli.server.storage.log_retention`).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kcli.protocol.records import (
    BatchHeader,
    InvalidRecordError,
    assign_offsets,
    decode_batch,
    validate_batches,
)
from kcli.server.storage import log_transactions
from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.dir_health import dir_health
from kcli.server.storage.errors import KafkaStorageError
from kcli.server.storage.flusher import Flusher, default_flusher
from kcli.server.storage.leader_epoch import LeaderEpochCache
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_loader import load_log
from kcli.server.storage.log_reads import LogReads
from kcli.server.storage.log_retention import LogRetention
from kcli.server.storage.producer_state import PRODUCER_SNAPSHOT_FILE, ProducerStateManager, VerificationGuard
from kcli.server.storage.segment import (
    BatchInfo,
    LogSegment,
)
from kcli.server.storage.transaction_index import AbortedTxn

log = logging.getLogger("kafka.log.LogLoader")

_MARKS_KEPT = 4096  # appends the high watermark may lag behind and still have a known position
_INT32_MAX = 0x7FFFFFFF


@dataclass
class AppendResult:
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 for CreateTime topics
    log_start_offset: int
    duplicate: bool = False
    max_timestamp: int = -1


class SegmentInfo(NamedTuple):
    base_offset: int
    size_bytes: int
    next_offset: int
    max_timestamp: int


class PartitionLog(LogReads, LogRetention):
    """One partition's log (Kafka's UnifiedLog over its LocalLog): appends, the offsets and the
    high watermark, rolling, truncation, flushes and closing; reads are
    :class:`~kcli.server.storage.log_reads.LogReads`, deletions
    :class:`~kcli.server.storage.log_retention.LogRetention`, loading
    :mod:`kcli.server.storage.log_loader`."""

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
        """Create the partition directory, or load and recover the one there (Kafka's LogLoader,
        :func:`kcli.server.storage.log_loader.load_log`)."""
        return load_log(cls, directory, config, clean_shutdown=clean_shutdown, flusher=flusher)

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
