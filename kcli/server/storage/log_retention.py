"""Retention, DeleteRecords and compaction of a partition's log (Kafka's UnifiedLog deletion
and its call into the LogCleaner): the ways closed segments leave the log from its start.
"""

from __future__ import annotations

import itertools

from kcli.server.storage.cleaner import CleanerStats, clean_log
from kcli.server.storage.errors import OffsetOutOfRangeError
from kcli.server.storage.segment import (
    LogSegment,
)


class LogRetention:
    """The deletions of :class:`~kcli.server.storage.partition_log.PartitionLog`, under its
    maintenance lock then its lock."""

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
