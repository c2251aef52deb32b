"""Log compaction (cleanup.policy=compact): keep the latest record of every key.

Only closed segments below the high watermark and older than min.compaction.lag.ms are cleaned;
the active segment is never touched. Offsets are preserved: a retained record keeps its offset,
and a rewritten batch keeps its base offset and offset range, so consumers and idempotent producer
state see the same numbering. Batches that lose nothing are copied byte for byte; the others are
rebuilt with their original codec and producer fields.

Each segment is replaced one for one, crash-safely: the cleaned copy is written as ``*.cleaned``,
renamed to ``*.swap`` (the commit point for the log file), then over the original. Recovery on
open completes a swap it finds and discards ``*.cleaned`` leftovers (see partition_log).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kcli.server.protocol.records import (
    LOG_APPEND_TIME,
    BatchHeader,
    Record,
    build_batch,
    decode_batch,
    parse_header,
)
from kcli.server.storage.segment import (
    CLEANED_SUFFIX,
    SWAP_SUFFIX,
    BatchInfo,
    LogSegment,
)

if TYPE_CHECKING:
    from kcli.server.storage.partition_log import PartitionLog


@dataclass
class CleanerStats:
    segments_rewritten: int = 0
    records_removed: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def cleanable_segments(log: PartitionLog, now_ms: int) -> list[LogSegment]:
    """Closed segments, oldest first, below the high watermark and past min.compaction.lag.ms."""
    out = []
    segs = log._segments
    for seg, nxt in itertools.pairwise(segs):
        if nxt.base_offset > log.high_watermark:
            break
        lag = log.config.min_compaction_lag_ms
        if lag > 0 and seg.size and now_ms - seg.largest_timestamp() < lag:
            break
        out.append(seg)
    return out


def _segment_batches(seg: LogSegment) -> list[tuple[int, BatchHeader, bytes]]:
    out = []
    for pos, h in seg.headers_from(0):
        out.append((pos, h, seg.read_bytes(pos, h.size)))
    return out


def clean_log(log: PartitionLog, now_ms: int) -> CleanerStats:
    """Compact ``log`` in place; the caller holds the log's maintenance lock.

    Closed segments do not change while the maintenance lock is held, so they are read without
    the log's main lock, which is taken only to pick them and to swap each cleaned one in.
    """
    stats = CleanerStats()
    with log._lock:
        segments = cleanable_segments(log, now_ms)
    if not segments:
        return stats
    # Pass 1: the latest offset of every key in the cleanable range.
    latest: dict[bytes, int] = {}
    for seg in segments:
        for _, h, raw in _segment_batches(seg):
            if h.is_control:
                continue
            for rec in decode_batch(raw)[1]:
                if rec.key is not None:
                    latest[rec.key] = rec.offset
    # Pass 2: rewrite every segment that loses a record.
    horizon = now_ms - log.config.delete_retention_ms
    tombstone_expiry: int | None = None
    for seg in segments:
        drop_tombstones = seg.largest_timestamp() < horizon
        kept: list[tuple[BatchHeader, bytes]] = []
        changed = False
        for _, h, raw in _segment_batches(seg):
            if h.is_control:
                kept.append((h, raw))
                continue
            records = decode_batch(raw)[1]
            keep = [
                r
                for r in records
                if r.key is not None
                and latest.get(r.key) == r.offset
                and not (r.value is None and drop_tombstones)
            ]
            stats.records_removed += len(records) - len(keep)
            if any(r.value is None for r in keep):
                expiry = seg.largest_timestamp() + log.config.delete_retention_ms
                tombstone_expiry = expiry if tombstone_expiry is None else min(tombstone_expiry, expiry)
            if len(keep) == len(records):
                kept.append((h, raw))
            else:
                changed = True
                if keep:
                    rebuilt = _rebuild(h, keep)
                    kept.append((parse_header(rebuilt), rebuilt))
        if changed:
            stats.segments_rewritten += 1
            stats.bytes_before += seg.size
            new = _replace_segment(log, seg, kept)
            stats.bytes_after += new.size
    with log._lock:
        log.cleaned_up_to = segments[-1].next_offset
        log.tombstone_expiry_ms = tombstone_expiry
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


def _replace_segment(
    log: PartitionLog, old: LogSegment, batches: list[tuple[BatchHeader, bytes]]
) -> LogSegment:
    directory, base = old.directory, old.base_offset
    interval = log.config.index_interval_bytes
    cleaned = LogSegment.create(directory, base, interval, suffix=CLEANED_SUFFIX)
    if batches:
        cleaned.append(
            b"".join(raw for _, raw in batches),
            [BatchInfo(h.last_offset, h.max_timestamp, h.size) for h, _ in batches],
        )
    cleaned.on_become_inactive()
    os.fsync(cleaned.fd)
    cleaned.close()
    finals = [old.index.path, old.time_index.path, old.log_path]  # log last: it is the commit point
    sources = [cleaned.index.path, cleaned.time_index.path, cleaned.log_path]
    swaps = [final.with_name(final.name + SWAP_SUFFIX) for final in finals]
    for src, swap in zip(sources, swaps, strict=True):
        os.replace(src, swap)
    with log._lock:  # no read may be using the old file while it is replaced
        old.close()
        for swap, final in zip(swaps, finals, strict=True):
            os.replace(swap, final)
        new, _ = LogSegment.load(directory, base, interval, active=False, clean=True)
        new.created_ms = old.created_ms
        log._segments[log._segments.index(old)] = new
    return new
