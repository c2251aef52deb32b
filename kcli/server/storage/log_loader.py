"""Loading a partition's log from its directory, as Kafka's LogLoader: finish what a crash
interrupted, load the segments, CRC-check and cut the unflushed ones on an unclean start, restore
the offsets from the checkpoints, and log every byte recovery cut.
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kcli.protocol.records import (
    iter_batches,
)
from kcli.server.storage import log_transactions
from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.flusher import Flusher
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.producer_state import PRODUCER_SNAPSHOT_FILE
from kcli.server.storage.segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    INDEX_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    TIME_INDEX_SUFFIX,
    LogSegment,
    Truncation,
)
from kcli.server.storage.transaction_index import TXN_INDEX_SUFFIX

log = logging.getLogger("kafka.log.LogLoader")

L = TypeVar("L")  # the log class made from the loaded segments (a PartitionLog)


def load_log(
    make: Callable[[Path, LogConfig, list[LogSegment]], L],
    directory: Path,
    config: LogConfig,
    *,
    clean_shutdown: bool = False,
    flusher: Flusher | None = None,
) -> L:
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
        seg, cut, index_problem = LogSegment.load(directory, base, interval, active=active, recover=unflushed)
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
    log_ = make(directory, config, segments)
    if flusher is not None:
        log_.flusher = flusher
    active_seg = segments[-1]
    log_.log_end_offset = active_seg.next_offset if active_seg.size else active_seg.base_offset
    log_.log_start_offset = min(
        max(ckpt.log_start_offsets.get(tp, 0), segments[0].base_offset), log_.log_end_offset
    )
    hw = ckpt.high_watermarks.get(tp)
    _report_recovery(log_, cuts, dropped, hw)
    log_.high_watermark = (
        log_.log_end_offset if hw is None else max(log_.log_start_offset, min(hw, log_.log_end_offset))
    )
    # A clean shutdown flushed everything; otherwise what recovery checked is still unflushed.
    log_.recovery_point = log_.log_end_offset if clean_shutdown else min(recovery_point, log_.log_end_offset)
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
    log_: Any, cuts: list[tuple[LogSegment, Truncation]], dropped: list[tuple[int, int, int]], hw: int | None
) -> None:
    """Log every byte recovery cut or deleted, and as ERRORs the offsets lost below the high
    watermark or left as a hole in the middle of the log."""
    name = log_.directory.name
    by_base = {s.base_offset: i for i, s in enumerate(log_._segments)}
    for seg, cut in cuts:
        log_.truncated_on_recovery += cut.bytes
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
        if i + 1 < len(log_._segments):
            following = log_._segments[i + 1].base_offset
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
        log_.truncated_on_recovery += sum(size for _, size, _ in dropped)
        log.warning(
            "Deleting segments as part of log recovery of %s, after the corruption found before them: %s",
            name,
            ", ".join(f"{base} ({size} bytes, offsets {base} to {nxt - 1})" for base, size, nxt in dropped),
        )
    if hw is not None and hw > log_.log_end_offset:
        log.error(
            "Partition %s lost acknowledged records: offsets %d to %d were below its high watermark %d, "
            "but the log now ends at %d (%s)",
            name,
            log_.log_end_offset,
            hw - 1,
            hw,
            log_.log_end_offset,
            "recovery found them corrupt or incomplete" if cuts or dropped else "its segment files are gone",
        )


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
