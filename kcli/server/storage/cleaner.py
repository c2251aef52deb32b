"""Log compaction (cleanup.policy=compact): keep the latest record of every key.

Only closed segments below the last stable offset (so below the high watermark, and below every
undecided transaction) and older than min.compaction.lag.ms are cleaned; the active segment is
never touched. Transactions are handled as Kafka's cleaner does (:mod:`cleaner_transactions`):
aborted batches go, and markers once nothing of their transaction is left. Offsets are preserved: a retained record keeps its offset,
and a rewritten batch keeps its base offset and offset range, so consumers and idempotent producer
state see the same numbering. Batches that lose nothing are copied byte for byte; the others are
rebuilt with their original codec and producer fields.

Adjacent segments whose sizes add up to at most segment.bytes are cleaned into one, named after
the first, as Kafka groups them, so a compacted log does not keep a file per old roll.

Crash safety: a group is written as ``<first base>.*.cleaned``, renamed to ``*.swap`` (the log
file last: its rename is the commit point), then the group's other segments are deleted and the
swap file replaces the first. Recovery on open (partition_log) completes a swap it finds: the swap
log wins, overlapped segments are removed, indexes are rebuilt; ``*.cleaned`` leftovers go.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kcli.protocol.records import (
    LOG_APPEND_TIME,
    BatchHeader,
    Record,
    build_batch,
    decode_batch,
    parse_header,
)
from kcli.server.storage import log_transactions
from kcli.server.storage.cleaner_transactions import CleanedTransactions
from kcli.server.storage.segment import CLEANED_SUFFIX, SWAP_SUFFIX, BatchInfo, LogSegment

if TYPE_CHECKING:
    import threading

    from kcli.server.storage.log_config import LogConfig


class CleanableLog(Protocol):
    """What the cleaner reads and replaces in a partition's log (a
    :class:`~kcli.server.storage.partition_log.PartitionLog`): its segment list under its lock,
    its config and last stable offset, and where its cleaning got to. A protocol, so the log can
    call the cleaner without the two modules importing each other."""

    config: LogConfig
    cleaned_up_to: int
    tombstone_expiry_ms: int | None
    _segments: list[LogSegment]
    _bases: list[int]
    _lock: threading.RLock

    @property
    def last_stable_offset(self) -> int: ...


_WRITE_CHUNK = 1 << 20
_INT32_MAX = 0x7FFFFFFF


@dataclass
class CleanerStats:
    segments_rewritten: int = 0  # segments replaced (a merged group counts each of its members)
    records_removed: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def cleanable_segments(log: CleanableLog, now_ms: int) -> list[LogSegment]:
    """Closed segments, oldest first, below the last stable offset and past min.compaction.lag.ms."""
    out = []
    lag = log.config.min_compaction_lag_ms
    stable = log.last_stable_offset
    for seg, nxt in itertools.pairwise(log._segments):
        if nxt.base_offset > stable:
            break
        if lag > 0 and seg.size and now_ms - seg.largest_timestamp() < lag:
            break
        out.append(seg)
    return out


def _segment_batches(seg: LogSegment) -> Iterator[tuple[BatchHeader, bytes]]:
    for pos, h in seg.headers_from(0):
        yield h, seg.read_bytes(pos, h.size)


def _group(segments: list[LogSegment], max_bytes: int) -> list[list[LogSegment]]:
    """Runs of adjacent segments whose total size fits one segment (and int32 relative offsets)."""
    groups: list[list[LogSegment]] = []
    for seg in segments:
        if groups:
            group = groups[-1]
            fits = sum(s.size for s in group) + seg.size <= max_bytes
            if fits and seg.next_offset - 1 - group[0].base_offset <= _INT32_MAX:
                group.append(seg)
                continue
        groups.append([seg])
    return groups


class _Filter:
    """Decides, batch by batch, what survives; counts what goes and when tombstones may go."""

    def __init__(
        self, latest: dict[bytes, int], delete_retention_ms: int, now_ms: int, txns: CleanedTransactions
    ):
        self.latest = latest
        self.delete_retention_ms = delete_retention_ms
        self.horizon = now_ms - delete_retention_ms
        self.removed = 0
        self.tombstone_expiry: int | None = None
        self.txns = txns

    def segment(self, seg: LogSegment) -> Iterator[tuple[BatchHeader, bytes, bool]]:
        """(header, bytes, changed) of every batch with something left, in order."""
        largest = seg.largest_timestamp()
        drop_tombstones = largest < self.horizon
        for h, raw in _segment_batches(seg):
            if h.is_control:
                if h.producer_id >= 0 and self.txns.on_control(h, raw):
                    if drop_tombstones:  # a marker with nothing left, past delete.retention.ms
                        self.removed += h.record_count
                        yield h, b"", True
                        continue
                    self._expires(largest)
                yield h, raw, False
                continue
            if h.producer_id >= 0 and self.txns.on_batch(h):
                self.removed += h.record_count  # an aborted transaction's batch
                yield h, b"", True
                continue
            records = decode_batch(raw)[1]
            keep = [
                r
                for r in records
                if r.key is not None
                and self.latest.get(r.key) == r.offset
                and not (r.value is None and drop_tombstones)
            ]
            self.removed += len(records) - len(keep)
            if any(r.value is None for r in keep):
                self._expires(largest)
            if len(keep) == len(records):
                yield h, raw, False
            elif keep:
                rebuilt = _rebuild(h, keep)
                yield parse_header(rebuilt), rebuilt, True
            else:
                yield h, b"", True

    def _expires(self, largest: int) -> None:
        """Something here (a tombstone, a spent marker) may go once delete.retention.ms passed."""
        expiry = largest + self.delete_retention_ms
        self.tombstone_expiry = min(expiry, self.tombstone_expiry or expiry)


def clean_log(log: CleanableLog, now_ms: int) -> CleanerStats:
    """Compact ``log`` in place; the caller holds the log's maintenance lock.

    Closed segments do not change while the maintenance lock is held, so they are read without
    the log's main lock, which is taken only to pick them and to swap each cleaned group in.
    """
    stats = CleanerStats()
    with log._lock:
        segments = cleanable_segments(log, now_ms)
        max_bytes = log.config.segment_bytes
        aborted = (
            log_transactions.collect_aborted(
                log._segments, log._bases, segments[0].base_offset, segments[-1].next_offset
            )
            if segments
            else []
        )
    if not segments:
        return stats
    # Pass 1: the latest offset of every key in the cleanable range (aborted records never count).
    latest: dict[bytes, int] = {}
    txns = CleanedTransactions()
    txns.add_aborted(aborted)
    for seg in segments:
        for h, raw in _segment_batches(seg):
            if h.is_control:
                if h.producer_id >= 0:
                    txns.on_control(h, raw)
            elif not (h.producer_id >= 0 and txns.on_batch(h)):
                for rec in decode_batch(raw)[1]:
                    if rec.key is not None:
                        latest[rec.key] = rec.offset
    # Pass 2: rewrite every group that merges segments or loses a record.
    txns = CleanedTransactions()
    txns.add_aborted(aborted)
    filt = _Filter(latest, log.config.delete_retention_ms, now_ms, txns)
    for group in _group(segments, max_bytes):
        if len(group) == 1:
            before = filt.removed
            saved = filt.txns.copy()
            changed = any(c for _, _, c in filt.segment(group[0]))
            if not changed:
                filt.txns.take_index()  # the segment and its .txnindex stay as they are
                continue
            filt.removed = before  # counted again while writing
            filt.txns = saved
        size_before = sum(s.size for s in group)
        new = _write_group(log, group, filt)
        stats.segments_rewritten += len(group)
        stats.bytes_before += size_before
        stats.bytes_after += new.size
    stats.records_removed = filt.removed
    with log._lock:
        log.cleaned_up_to = segments[-1].next_offset
        log.tombstone_expiry_ms = filt.tombstone_expiry
    return stats


def _rebuild(h: BatchHeader, keep: list[Record]) -> bytes:
    return build_batch(
        [(r.key, r.value, r.headers, r.timestamp) for r in keep],
        base_offset=h.base_offset,
        compression=h.compression,
        producer_id=h.producer_id,
        producer_epoch=h.producer_epoch,
        base_sequence=h.base_sequence,
        timestamp_type=h.timestamp_type,
        is_transactional=h.is_transactional,
        partition_leader_epoch=h.partition_leader_epoch,
        offset_deltas=[r.offset - h.base_offset for r in keep],
        last_offset_delta=h.last_offset_delta,
        timestamp=h.max_timestamp if h.timestamp_type == LOG_APPEND_TIME else None,
    )


def _write_group(log: CleanableLog, group: list[LogSegment], filt: _Filter) -> LogSegment:
    first = group[0]
    directory, base = first.directory, first.base_offset
    interval = log.config.index_interval_bytes
    cleaned = LogSegment.create(directory, base, interval, suffix=CLEANED_SUFFIX)
    buf = bytearray()
    infos: list[BatchInfo] = []
    for seg in group:
        for h, raw, _ in filt.segment(seg):
            if raw:
                buf += raw
                infos.append(BatchInfo(h.last_offset, h.max_timestamp, h.size))
            if len(buf) >= _WRITE_CHUNK:
                cleaned.append(buf, infos)
                buf, infos = bytearray(), []
    if buf:
        cleaned.append(buf, infos)
    cleaned.on_become_inactive()
    cleaned.txn_index.rewrite(filt.txns.take_index())
    cleaned.flush()
    cleaned.close()
    finals = [first.index.path, first.time_index.path, first.log_path]  # log last: the commit point
    sources = [cleaned.index.path, cleaned.time_index.path, cleaned.log_path]
    if cleaned.txn_index.entries:
        finals.insert(0, first.txn_index.path)
        sources.insert(0, cleaned.txn_index.path)
    swaps = [final.with_name(final.name + SWAP_SUFFIX) for final in finals]
    for src, swap in zip(sources, swaps, strict=True):
        os.replace(src, swap)
    with log._lock:  # no read may be using the old files while they are replaced
        for seg in group[1:]:
            seg.delete()
        first.close()
        if not cleaned.txn_index.entries:
            first.txn_index.delete()
        for swap, final in zip(swaps, finals, strict=True):
            os.replace(swap, final)
        new, _, _ = LogSegment.load(directory, base, interval, active=False, recover=False)
        new.trust_all()  # written just now from batches this process validated
        new.created_ms = first.created_ms
        i = log._segments.index(first)
        log._segments[i : i + len(group)] = [new]
        log._bases = [s.base_offset for s in log._segments]
    return new
