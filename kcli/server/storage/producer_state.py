"""Idempotent producer state of one partition, following Kafka's ProducerStateManager rules.

Per producer id: its epoch and the last five batches' sequence and offset ranges. That is enough to
acknowledge a retried batch with its original offsets instead of writing it twice, and to detect a
gap in sequences. The state is rebuilt from batch headers alone (no record is decoded), and can be
saved on a clean shutdown so that start-up does not have to scan the whole log.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kcli.server.protocol.records import BatchHeader

BATCHES_TO_RETAIN = 5  # Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN
_INT32_MAX = 0x7FFFFFFF
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


class ProducerStateError(Exception):
    error_code = -1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OutOfOrderSequenceError(ProducerStateError):
    error_code = OUT_OF_ORDER_SEQUENCE_NUMBER


class InvalidProducerEpochError(ProducerStateError):
    error_code = INVALID_PRODUCER_EPOCH


@dataclass(frozen=True)
class BatchMetadata:
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclass
class ProducerEntry:
    producer_id: int
    epoch: int
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=BATCHES_TO_RETAIN))

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    def find_duplicate(self, header: BatchHeader) -> BatchMetadata | None:
        if header.producer_epoch != self.epoch:
            return None
        last_seq = header.last_sequence
        for meta in self.batches:
            if meta.first_seq == header.base_sequence and meta.last_seq == last_seq:
                return meta
        return None


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == _INT32_MAX)


def is_idempotent(header: BatchHeader) -> bool:
    return header.producer_id >= 0 and not header.is_control


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}

    def find_duplicate(self, headers: Sequence[BatchHeader]) -> BatchMetadata | None:
        """A batch that is a retry of one already in the log (Kafka checks this first)."""
        for h in headers:
            if is_idempotent(h):
                entry = self.producers.get(h.producer_id)
                if entry is not None:
                    meta = entry.find_duplicate(h)
                    if meta is not None:
                        return meta
        return None

    def check(self, headers: Sequence[BatchHeader]) -> None:
        """Raise unless every idempotent batch continues its producer's sequence and epoch."""
        staged: dict[int, tuple[int, int]] = {}  # producer id -> (epoch, last seq) within this append
        for h in headers:
            if not is_idempotent(h):
                continue
            if h.producer_id in staged:
                epoch, last_seq = staged[h.producer_id]
            else:
                entry = self.producers.get(h.producer_id)
                epoch, last_seq = (entry.epoch, entry.last_seq) if entry else (-1, -1)
            if h.producer_epoch < epoch:
                raise InvalidProducerEpochError(
                    f"producer {h.producer_id}'s epoch {h.producer_epoch} is older than the current {epoch}"
                )
            if h.producer_epoch != epoch:
                # A new epoch starts at sequence 0; a producer we know nothing about (its state
                # expired or its batches were deleted) may continue with any sequence, as in Kafka.
                if h.base_sequence != 0 and epoch != -1:
                    raise OutOfOrderSequenceError(
                        f"producer {h.producer_id}: new epoch {h.producer_epoch} must start at sequence 0, "
                        f"got {h.base_sequence}"
                    )
            elif last_seq != -1 and not _in_sequence(last_seq, h.base_sequence):
                raise OutOfOrderSequenceError(
                    f"producer {h.producer_id}: expected sequence {last_seq + 1}, got {h.base_sequence}"
                )
            staged[h.producer_id] = (h.producer_epoch, h.last_sequence)

    def update(self, header: BatchHeader, first_offset: int) -> None:
        """Record an appended batch (``header`` as validated; offsets as assigned)."""
        if not is_idempotent(header):
            return
        entry = self.producers.get(header.producer_id)
        if entry is None or entry.epoch != header.producer_epoch:
            entry = ProducerEntry(header.producer_id, header.producer_epoch)
            self.producers[header.producer_id] = entry
        entry.batches.append(
            BatchMetadata(
                header.base_sequence,
                header.last_sequence,
                first_offset,
                first_offset + header.last_offset_delta,
                header.max_timestamp,
            )
        )

    def rebuild(self, headers: Iterable[BatchHeader]) -> None:
        """From the batches in the log, oldest first (their base offsets are the assigned ones)."""
        self.producers.clear()
        for h in headers:
            self.update(h, h.base_offset)

    def evict_before(self, log_start_offset: int) -> None:
        """Forget producers whose every batch is gone from the log."""
        for pid in [p for p, e in self.producers.items() if e.last_offset < log_start_offset]:
            del self.producers[pid]

    def expire(self, older_than_ms: int) -> int:
        """Drop producers whose last batch's timestamp is older than ``older_than_ms``."""
        doomed = [
            pid
            for pid, e in self.producers.items()
            if not e.batches or e.batches[-1].timestamp < older_than_ms
        ]
        for pid in doomed:
            del self.producers[pid]
        return len(doomed)

    def truncate_to(self, offset: int) -> None:
        """Drop batch metadata at or beyond ``offset`` (used when the log is truncated)."""
        for pid, entry in list(self.producers.items()):
            kept = [m for m in entry.batches if m.last_offset < offset]
            if not kept:
                del self.producers[pid]
            else:
                entry.batches = deque(kept, maxlen=BATCHES_TO_RETAIN)

    # --- snapshot -----------------------------------------------------------------------------
    def save(self, path: Path, log_end_offset: int) -> None:
        data = {
            "version": 1,
            "log_end_offset": log_end_offset,
            "producers": [
                {
                    "producer_id": e.producer_id,
                    "epoch": e.epoch,
                    "batches": [list(m.__dict__.values()) for m in e.batches],
                }
                for e in self.producers.values()
            ],
        }
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data))
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)

    def load(self, path: Path, log_end_offset: int) -> bool:
        """Load a snapshot taken at exactly ``log_end_offset``; False if absent, stale or unreadable."""
        try:
            data = json.loads(path.read_text())
            if data.get("version") != 1 or data["log_end_offset"] != log_end_offset:
                return False
            producers: dict[int, ProducerEntry] = {}
            for p in data["producers"]:
                entry = ProducerEntry(int(p["producer_id"]), int(p["epoch"]))
                for fs, ls, fo, lo, ts in p["batches"]:
                    entry.batches.append(BatchMetadata(int(fs), int(ls), int(fo), int(lo), int(ts)))
                producers[entry.producer_id] = entry
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.producers = producers
        return True
