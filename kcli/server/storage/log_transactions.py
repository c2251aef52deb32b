"""The transactional side of a partition log: markers, the aborted-transaction index, recovery.

:class:`~kcli.server.storage.partition_log.PartitionLog` calls these at its few transactional
moments: an append that holds markers (:func:`markers_in`, :func:`apply_appended`), a rebuild of
producer state from the log after an unclean shutdown or a truncation (:func:`rebuild`, which
also rebuilds every segment's ``.txnindex``), and a read_committed fetch (:func:`collect_aborted`).
Kept apart so the log's hot path stays as it was for logs without transactions: a batch without
a producer id costs one attribute test here.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kcli.protocol.records import BatchHeader
from kcli.server.protocol.control_records import ABORT, COMMIT, read_control_batch
from kcli.server.storage.producer_state import CompletedTxn, ProducerStateManager
from kcli.server.storage.transaction_index import AbortedTxn

if TYPE_CHECKING:
    from kcli.server.storage.segment import LogSegment

log = logging.getLogger("kafka.log.UnifiedLog")

Markers = dict[int, tuple[bool, int]]  # index of the batch -> (commit, coordinator epoch)


def markers_in(records: bytes | bytearray | memoryview, headers: Sequence[BatchHeader]) -> Markers:
    """The end transaction markers among ``headers`` (batches laid out back to back in ``records``)."""
    out: Markers = {}
    pos = 0
    for i, h in enumerate(headers):
        if h.is_control and h.producer_id >= 0:
            _, control = read_control_batch(records, pos)
            if control is not None and control.control_type in (ABORT, COMMIT):
                out[i] = (control.control_type == COMMIT, control.coordinator_epoch)
        pos += h.size
    return out


def apply_appended(
    state: ProducerStateManager,
    segment: LogSegment,
    headers: Sequence[BatchHeader],
    first_offset: int,
    markers: Markers,
    *,
    assigned: bool = True,
) -> list[CompletedTxn]:
    """Update producer state for appended batches and index the transactions they aborted.

    ``assigned`` says the headers still carry the producer's offsets (a leader append): the
    offsets then run from ``first_offset``; a follower's headers hold their final offsets."""
    completed: list[CompletedTxn] = []
    offset = first_offset
    for i, h in enumerate(headers):
        base = offset if assigned else h.base_offset
        marker = markers.get(i)
        if marker is not None:
            done = state.update_marker(h, base, marker[0], marker[1])
            if done is not None:
                completed.append(done)
                if done.aborted:
                    segment.txn_index.append(
                        AbortedTxn(
                            done.producer_id, done.first_offset, done.last_offset, state.lso_after(done)
                        )
                    )
        else:
            state.update(h, base)
        offset = base + h.last_offset_delta + 1
    return completed


def rebuild(state: ProducerStateManager, segments: Sequence[LogSegment], high_watermark: int) -> None:
    """Producer state and every ``.txnindex`` from the batches in the log, oldest first; markers
    below ``high_watermark`` are replicated, so their transactions are decided."""
    state.producers.clear()
    state.unreplicated.clear()
    state.ongoing.clear()
    state.verifications.clear()
    for seg in segments:
        seg.txn_index.reset()
    for seg in segments:
        for pos, h in seg.headers_from(0):
            if h.producer_id < 0:
                continue
            if h.is_control:
                try:
                    _, control = read_control_batch(seg.read_bytes(pos, h.size))
                except Exception as exc:  # a damaged marker: skip it rather than refuse to open
                    log.warning(
                        "Unreadable control batch at offset %d of %s: %s", h.base_offset, seg.log_path, exc
                    )
                    continue
                if control is None or control.control_type not in (ABORT, COMMIT):
                    continue
                apply_appended(
                    state,
                    seg,
                    [h],
                    h.base_offset,
                    {0: (control.control_type == COMMIT, control.coordinator_epoch)},
                )
            else:
                state.update(h, h.base_offset)
    state.on_high_watermark(high_watermark)


def collect_aborted(
    segments: Sequence[LogSegment], bases: Sequence[int], fetch_offset: int, upper_bound: int
) -> list[AbortedTxn]:
    """Aborted transactions overlapping [fetch_offset, upper_bound), from the segment holding
    ``fetch_offset`` on, as Kafka's LocalLog.collectAbortedTransactions."""
    found: list[AbortedTxn] = []
    for seg in segments[max(0, bisect_right(bases, fetch_offset) - 1) :]:
        entries, complete = seg.txn_index.collect(fetch_offset, upper_bound)
        found.extend(entries)
        if complete:
            break
    return found
