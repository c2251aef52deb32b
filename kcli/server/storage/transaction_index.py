"""The aborted-transaction index of a segment: ``<base offset>.txnindex``, Kafka's TransactionIndex.

One 34-byte entry per transaction whose ABORT marker lies in the segment, in marker order::

    Version(int16, 0) ProducerId(int64) FirstOffset(int64) LastOffset(int64) LastStableOffset(int64)

``LastOffset`` is the marker's offset; ``LastStableOffset`` is where the LSO stood once the marker
was written. A read_committed Fetch collects the entries overlapping what it returns, starting at
the segment that holds the fetch offset and going on while an entry's LSO lies below the end of
the range, and answers them as ``aborted_transactions``; the consumer drops those producers'
records from ``FirstOffset`` until their ABORT marker. As in Kafka, the file is only created once
a segment has an aborted transaction, so most segments have none.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

TXN_INDEX_SUFFIX = ".txnindex"
_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def to_bytes(self) -> bytes:
        return _ENTRY.pack(0, *self)


class TransactionIndexError(Exception):
    """An index entry out of order or of an unknown version (the index is rebuilt)."""


class TransactionIndex:
    """Entries are kept in memory too (a handful per segment at most, usually none)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: list[AbortedTxn] = []
        if path.exists():
            self.entries = _read(path)

    def append(self, txn: AbortedTxn) -> None:
        if self.entries and self.entries[-1].last_offset >= txn.last_offset:
            raise TransactionIndexError(
                f"aborted transactions must be appended in marker order: {txn.last_offset} after "
                f"{self.entries[-1].last_offset} in {self.path}"
            )
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, txn.to_bytes())
        finally:
            os.close(fd)
        self.entries.append(txn)

    def collect(self, fetch_offset: int, upper_bound: int) -> tuple[list[AbortedTxn], bool]:
        """Entries overlapping [fetch_offset, upper_bound), and whether the search is complete
        (an entry's LSO reached the bound, so later segments cannot hold more)."""
        found = []
        for txn in self.entries:
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound:
                found.append(txn)
            if txn.last_stable_offset >= upper_bound:
                return found, True
        return found, False

    def truncate_to(self, offset: int) -> None:
        """Drop entries whose marker is at or beyond ``offset``."""
        kept = [t for t in self.entries if t.last_offset < offset]
        if len(kept) != len(self.entries):
            self.rewrite(kept)

    def rewrite(self, entries: list[AbortedTxn]) -> None:
        self.entries = list(entries)
        if not self.entries:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(b"".join(t.to_bytes() for t in self.entries))
        os.replace(tmp, self.path)

    def reset(self) -> None:
        self.rewrite([])

    def flush(self) -> None:
        if self.path.exists():
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def delete(self) -> None:
        self.entries = []
        self.path.unlink(missing_ok=True)


def _read(path: Path) -> list[AbortedTxn]:
    data = path.read_bytes()
    entries = []
    whole = len(data) - len(data) % ENTRY_SIZE  # a torn last entry (a crash mid-write) is dropped
    for pos in range(0, whole, ENTRY_SIZE):
        version, *fields = _ENTRY.unpack_from(data, pos)
        if version != 0:
            raise TransactionIndexError(f"unknown aborted transaction version {version} in {path}")
        entries.append(AbortedTxn(*fields))
    return entries


def txn_index_path(directory: Path, base_offset: int) -> Path:
    return directory / f"{base_offset:020d}{TXN_INDEX_SUFFIX}"
