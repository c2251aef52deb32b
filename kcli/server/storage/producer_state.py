"""Idempotent producer state of one partition, following Kafka's ProducerStateManager rules.

Per producer id: its epoch and the last five batches' sequence and offset ranges. That is enough to
acknowledge a retried batch with its original offsets instead of writing it twice, and to detect a
gap in sequences. The state is rebuilt from batch headers alone (no record is decoded, except the
one record of a transaction marker), and can be saved on a clean shutdown so that start-up does
not have to scan the whole log.

Transactions (KIP-98): a producer's first transactional batch opens its transaction in this
partition at that batch's offset; its COMMIT or ABORT marker closes it. The open transactions
give the first unstable offset, and with it the last stable offset (LSO) that read_committed
consumers never read past. A transaction whose marker is above the high watermark still counts
as open (Kafka's "unreplicated" transactions), so the LSO never passes the high watermark.
Markers also carry the producer epoch (fencing older ones) and the coordinator epoch (fencing a
deposed coordinator's markers).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kio.schema.errors import ErrorCode

from kcli.protocol.records import BatchHeader

BATCHES_TO_RETAIN = 5  # Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN
_INT32_MAX = 0x7FFFFFFF
OUT_OF_ORDER_SEQUENCE_NUMBER = int(ErrorCode.out_of_order_sequence_number)
INVALID_PRODUCER_EPOCH = int(ErrorCode.invalid_producer_epoch)
INVALID_TXN_STATE = int(ErrorCode.invalid_txn_state)
TRANSACTION_COORDINATOR_FENCED = int(ErrorCode.transaction_coordinator_fenced)
PRODUCER_SNAPSHOT_FILE = "producer-state.json"  # in the partition directory, written on a clean shutdown
SNAPSHOT_VERSION = 2  # 2 adds the coordinator epoch, the open transaction and the last timestamp


class ProducerStateError(Exception):
    error_code = int(ErrorCode.unknown_server_error)  # each subclass names its own

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OutOfOrderSequenceError(ProducerStateError):
    error_code = OUT_OF_ORDER_SEQUENCE_NUMBER


class InvalidProducerEpochError(ProducerStateError):
    error_code = INVALID_PRODUCER_EPOCH


class InvalidTxnStateError(ProducerStateError):
    error_code = INVALID_TXN_STATE


class TransactionCoordinatorFencedError(ProducerStateError):
    error_code = TRANSACTION_COORDINATOR_FENCED


@dataclass(frozen=True)
class CompletedTxn:
    """A transaction a marker just ended in this partition: its first offset to the marker's."""

    producer_id: int
    first_offset: int
    last_offset: int
    aborted: bool


@dataclass
class VerificationGuard:
    """KIP-890: the transaction coordinator was asked whether a producer's first transactional
    write here belongs to its ongoing transaction. The guard is dropped when a marker of that
    producer is written, so a verification answered before an abort cannot let a late batch in."""

    producer_id: int


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
    coordinator_epoch: int = -1
    current_txn_first_offset: int = -1  # where this producer's open transaction starts; -1 none
    last_timestamp: int = -1

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
        # Transactions ended by a marker at or above the high watermark: (first, marker offset).
        self.unreplicated: dict[int, tuple[int, int]] = {}
        self.verifications: dict[int, VerificationGuard] = {}
        # producer id -> first offset of its open transaction (mirrors the entries, for speed:
        # every fetch asks for the LSO)
        self.ongoing: dict[int, int] = {}

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
            previous = entry
            entry = ProducerEntry(header.producer_id, header.producer_epoch)
            if previous is not None:  # a new epoch forgets the batches, not the transaction state
                entry.coordinator_epoch = previous.coordinator_epoch
                entry.current_txn_first_offset = previous.current_txn_first_offset
            self.producers[header.producer_id] = entry
        entry.last_timestamp = header.max_timestamp
        if header.is_transactional and entry.current_txn_first_offset < 0:
            entry.current_txn_first_offset = first_offset
            self.ongoing[header.producer_id] = first_offset
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
        """From the batches in the log, oldest first (their base offsets are the assigned ones).

        Transaction markers are not seen here (they need their record); a log with transactions
        is rebuilt with :meth:`update` and :meth:`update_marker` in order instead."""
        self.producers.clear()
        self.unreplicated.clear()
        self.ongoing.clear()
        for h in headers:
            self.update(h, h.base_offset)

    def evict_before(self, log_start_offset: int) -> None:
        """Forget producers whose every batch is gone from the log (an open transaction stays)."""
        for pid in [
            p
            for p, e in self.producers.items()
            if e.last_offset < log_start_offset and e.current_txn_first_offset < 0
        ]:
            del self.producers[pid]
        for first, (_start, last) in list(self.unreplicated.items()):
            if last < log_start_offset:
                del self.unreplicated[first]

    def expire(self, older_than_ms: int) -> int:
        """Drop producers whose last batch's timestamp is older than ``older_than_ms``; a producer
        with an open transaction is kept, as Kafka keeps it."""
        doomed = [
            pid
            for pid, e in self.producers.items()
            if e.current_txn_first_offset < 0 and (not e.batches or e.batches[-1].timestamp < older_than_ms)
        ]
        for pid in doomed:
            del self.producers[pid]
        return len(doomed)

    def truncate_to(self, offset: int) -> None:
        """Drop batch metadata at or beyond ``offset`` (used when the log is truncated)."""
        for pid, entry in list(self.producers.items()):
            kept = [m for m in entry.batches if m.last_offset < offset]
            if not kept and entry.current_txn_first_offset < 0:
                del self.producers[pid]
            else:
                entry.batches = deque(kept, maxlen=BATCHES_TO_RETAIN)
            if entry.current_txn_first_offset >= offset:
                entry.current_txn_first_offset = -1
                self.ongoing.pop(pid, None)

    @property
    def has_transactions(self) -> bool:
        """Whether any transaction state exists (truncating such a log rebuilds it from the log)."""
        return bool(self.unreplicated or self.ongoing) or any(
            e.coordinator_epoch >= 0 for e in self.producers.values()
        )

    # --- transactions -------------------------------------------------------------------------
    def check_transactions(
        self,
        headers: Sequence[BatchHeader],
        markers: dict[int, tuple[bool, int]],
        guard: VerificationGuard | None,
        verify: bool,
    ) -> None:
        """Raise unless the batches may be written: epochs and coordinator epochs of markers, and
        transactional batches only inside a transaction the coordinator knows of.

        ``markers`` maps the index of each control batch in ``headers`` to (commit, coordinator
        epoch). With ``verify``, a producer's first transactional batch here needs ``guard`` to be
        the verification still registered for it (KIP-890)."""
        open_txn: dict[int, bool] = {}
        for i, h in enumerate(headers):
            if h.producer_id < 0:
                continue
            entry = self.producers.get(h.producer_id)
            ongoing = open_txn.get(h.producer_id, entry is not None and entry.current_txn_first_offset >= 0)
            if i in markers:
                epoch = entry.epoch if entry is not None else -1
                if h.producer_epoch < epoch:
                    raise InvalidProducerEpochError(
                        f"marker epoch {h.producer_epoch} of producer {h.producer_id} is older than the current {epoch}"
                    )
                coordinator_epoch = entry.coordinator_epoch if entry is not None else -1
                if markers[i][1] < coordinator_epoch:
                    raise TransactionCoordinatorFencedError(
                        f"coordinator epoch {markers[i][1]} of a marker for producer {h.producer_id} is older "
                        f"than {coordinator_epoch}"
                    )
                open_txn[h.producer_id] = False
                continue
            if h.is_control:
                continue
            if ongoing and not h.is_transactional:
                raise InvalidTxnStateError(
                    f"expected a transactional write from producer {h.producer_id}: its transaction is open"
                )
            if h.is_transactional and not ongoing:
                registered = self.verifications.get(h.producer_id)
                if verify and (guard is None or registered is not guard):
                    raise InvalidTxnStateError("Record was not part of an ongoing transaction")
                open_txn[h.producer_id] = True

    def start_verification(self, producer_id: int) -> VerificationGuard | None:
        """A guard for a producer's first transactional write; None when its transaction is
        already open here (nothing to verify)."""
        entry = self.producers.get(producer_id)
        if entry is not None and entry.current_txn_first_offset >= 0:
            return None
        guard = self.verifications.get(producer_id)
        if guard is None:
            guard = self.verifications[producer_id] = VerificationGuard(producer_id)
        return guard

    def update_marker(
        self, header: BatchHeader, offset: int, commit: bool, coordinator_epoch: int
    ) -> CompletedTxn | None:
        """Record a COMMIT/ABORT marker written at ``offset``; returns the transaction it ended
        (None when the producer had nothing open here)."""
        pid = header.producer_id
        self.verifications.pop(pid, None)
        entry = self.producers.get(pid)
        if entry is None or entry.epoch != header.producer_epoch:
            kept = entry
            entry = ProducerEntry(pid, header.producer_epoch)
            if kept is not None:
                entry.current_txn_first_offset = kept.current_txn_first_offset
            self.producers[pid] = entry
        completed = None
        if entry.current_txn_first_offset >= 0:
            completed = CompletedTxn(pid, entry.current_txn_first_offset, offset, not commit)
            self.unreplicated[entry.current_txn_first_offset] = (entry.current_txn_first_offset, offset)
        entry.current_txn_first_offset = -1
        self.ongoing.pop(pid, None)
        entry.coordinator_epoch = max(entry.coordinator_epoch, coordinator_epoch)
        entry.last_timestamp = header.max_timestamp
        return completed

    def lso_after(self, completed: CompletedTxn) -> int:
        """The LSO stored with an aborted transaction in the index: where the next open
        transaction of another producer starts, else just after the marker (Kafka's rule)."""
        others = [first for pid, first in self.ongoing.items() if pid != completed.producer_id]
        return min(others) if others else completed.last_offset + 1

    def first_unstable_offset(self) -> int | None:
        """The first offset of an open transaction, or of one whose marker is not yet replicated."""
        if not self.ongoing and not self.unreplicated:
            return None
        return min(*self.ongoing.values(), *self.unreplicated, 1 << 63)

    def on_high_watermark(self, high_watermark: int) -> None:
        """Transactions whose marker is now below the high watermark are decided for everyone."""
        if self.unreplicated:
            for first, (_start, last) in list(self.unreplicated.items()):
                if last < high_watermark:
                    del self.unreplicated[first]

    def open_transactions(self) -> list[tuple[int, int]]:
        """(producer id, first offset) of every transaction open in this partition."""
        return sorted(self.ongoing.items(), key=lambda t: t[1])

    # --- snapshot -----------------------------------------------------------------------------
    def save(self, path: Path, log_end_offset: int) -> None:
        data = {
            "version": SNAPSHOT_VERSION,
            "log_end_offset": log_end_offset,
            "producers": [
                {
                    "producer_id": e.producer_id,
                    "epoch": e.epoch,
                    "batches": [list(m.__dict__.values()) for m in e.batches],
                    "coordinator_epoch": e.coordinator_epoch,
                    "current_txn_first_offset": e.current_txn_first_offset,
                    "last_timestamp": e.last_timestamp,
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
            if data.get("version") not in (1, SNAPSHOT_VERSION) or data["log_end_offset"] != log_end_offset:
                return False
            producers: dict[int, ProducerEntry] = {}
            for p in data["producers"]:
                entry = ProducerEntry(int(p["producer_id"]), int(p["epoch"]))
                entry.coordinator_epoch = int(p.get("coordinator_epoch", -1))
                entry.current_txn_first_offset = int(p.get("current_txn_first_offset", -1))
                entry.last_timestamp = int(p.get("last_timestamp", -1))
                for fs, ls, fo, lo, ts in p["batches"]:
                    entry.batches.append(BatchMetadata(int(fs), int(ls), int(fo), int(lo), int(ts)))
                producers[entry.producer_id] = entry
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.producers = producers
        self.ongoing = {
            e.producer_id: e.current_txn_first_offset
            for e in producers.values()
            if e.current_txn_first_offset >= 0
        }
        self.unreplicated.clear()  # a clean shutdown had every marker below the high watermark
        return True
