"""What compaction does with transactions (Kafka's CleanedTransactionMetadata in LogCleaner).

Walking the cleanable segments in order, the cleaner learns from the aborted-transaction index
which transactional batches were aborted: those are removed whatever their keys (and never count
as the latest value of a key). Markers go once nothing of their transaction is left: a COMMIT
marker when no batch of its transaction was met in this cleaning, an ABORT marker when a cleaning
met none of its aborted batches, and then (like tombstones) only once the segment is older than
``delete.retention.ms``. An ABORT marker that stays keeps its entry in the cleaned segment's
``.txnindex``.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field

from kcli.protocol.records import BatchHeader
from kcli.server.protocol.control_records import ABORT, COMMIT, read_control_batch
from kcli.server.storage.transaction_index import AbortedTxn


@dataclass
class _Aborted:
    txn: AbortedTxn
    last_observed_batch: int = -1  # -1: no batch of the transaction met in this cleaning


@dataclass
class CleanedTransactions:
    # aborted transactions not reached yet, as a min-heap on first offset
    pending: list[tuple[int, int, AbortedTxn]] = field(default_factory=list)
    ongoing_aborted: dict[int, _Aborted] = field(default_factory=dict)
    ongoing_committed: set[int] = field(default_factory=set)
    kept_index: list[AbortedTxn] = field(default_factory=list)  # entries for the cleaned segment

    def add_aborted(self, txns: list[AbortedTxn]) -> None:
        for t in txns:
            heapq.heappush(self.pending, (t.first_offset, t.last_offset, t))

    def _consume_up_to(self, offset: int) -> None:
        while self.pending and self.pending[0][0] <= offset:
            txn = heapq.heappop(self.pending)[2]
            self.ongoing_aborted.setdefault(txn.producer_id, _Aborted(txn))

    def on_batch(self, h: BatchHeader) -> bool:
        """A data batch: True if it belongs to an aborted transaction (so it goes entirely)."""
        self._consume_up_to(h.last_offset)
        if not h.is_transactional:
            return False
        aborted = self.ongoing_aborted.get(h.producer_id)
        if aborted is not None:
            aborted.last_observed_batch = h.last_offset
            return True
        self.ongoing_committed.add(h.producer_id)
        return False

    def on_control(self, h: BatchHeader, raw: bytes) -> bool:
        """A control batch: True if it may be discarded (its transaction left nothing behind)."""
        self._consume_up_to(h.last_offset)
        _, control = read_control_batch(raw)
        if control is None:
            return True  # an empty control batch: already cleaned
        if control.control_type == ABORT:
            aborted = self.ongoing_aborted.pop(h.producer_id, None)
            if aborted is not None and aborted.last_observed_batch >= 0:
                self.kept_index.append(aborted.txn)
                return False
            return True
        if control.control_type == COMMIT:
            if h.producer_id in self.ongoing_committed:
                self.ongoing_committed.discard(h.producer_id)
                return False
            return True
        return False

    def take_index(self) -> list[AbortedTxn]:
        """The entries kept since the last call (one cleaned segment's ``.txnindex``)."""
        kept, self.kept_index = self.kept_index, []
        return kept

    def copy(self) -> CleanedTransactions:
        return copy.deepcopy(self)
