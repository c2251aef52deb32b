"""One log segment: ``<base offset>.log`` with its ``.index``, ``.timeindex`` and ``.txnindex``.

The log file holds record batches exactly as they travel on the wire. Appends are one
``os.write`` of the already offset-stamped bytes; reads are ``os.pread`` slices. All three files
are reached through cached handles (``handles.py``): opened on use, closed when the broker-wide
cap on descriptors needs room, so idle segments hold no descriptor. The sparse
indexes get an entry whenever more than ``index.interval.bytes`` were written since the last one,
pointing at the start of a batch and naming that batch's last offset, as Kafka does.
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kcli.server.protocol.records import BATCH_HEADER_SIZE, LOG_OVERHEAD, BatchHeader, parse_header
from kcli.server.protocol.records import batch_crc as _batch_crc
from kcli.server.storage.handles import FileHandle
from kcli.server.storage.index import IndexCorruptError, OffsetIndex, TimeIndex
from kcli.server.storage.transaction_index import (
    TXN_INDEX_SUFFIX,
    TransactionIndex,
    TransactionIndexError,
)

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
DELETED_SUFFIX = ".deleted"
_SCAN_CHUNK = 64 * 1024
_MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class BatchInfo(NamedTuple):
    """What the segment needs to know about an appended batch to index it."""

    last_offset: int
    max_timestamp: int
    size: int


class LogSegment:
    def __init__(self, directory: Path, base_offset: int, index_interval_bytes: int, suffix: str = ""):
        self.directory = directory
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        stem = directory / segment_name(base_offset)
        self._log = FileHandle(Path(f"{stem}{LOG_SUFFIX}{suffix}"), create=True)
        self.index = OffsetIndex(Path(f"{stem}{INDEX_SUFFIX}{suffix}"), base_offset)
        self.time_index = TimeIndex(Path(f"{stem}{TIME_INDEX_SUFFIX}{suffix}"), base_offset)
        txn_path = Path(f"{stem}{TXN_INDEX_SUFFIX}{suffix}")
        try:
            self.txn_index = TransactionIndex(txn_path)
        except (TransactionIndexError, OSError):
            txn_path.unlink(missing_ok=True)  # rebuilt with the producer state
            self.txn_index = TransactionIndex(txn_path)
        self.size = self._log.stat().st_size
        self.next_offset = base_offset  # one past the last offset stored (exact for the active segment)
        self.max_timestamp = -1
        self.offset_of_max_timestamp = base_offset
        self.first_batch_timestamp = -1  # what time-based rolling measures from, as in Kafka
        self.created_ms = int(time.time() * 1000)
        self._bytes_since_index = 0

    @property
    def log_path(self) -> Path:
        return self._log.path

    # --- opening ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, directory: Path, base_offset: int, index_interval_bytes: int, suffix: str = ""
    ) -> LogSegment:
        seg = cls(directory, base_offset, index_interval_bytes, suffix)
        if seg.size:
            seg._log.truncate(0)
            seg.size = 0
        seg.index.reset()
        seg.time_index.reset()
        seg.txn_index.reset()
        return seg

    @classmethod
    def load(
        cls, directory: Path, base_offset: int, index_interval_bytes: int, *, active: bool, clean: bool
    ) -> tuple[LogSegment, int]:
        """Open an existing segment; returns it and the number of bytes recovery cut off.

        The active segment after an unclean shutdown is fully recovered (every batch CRC-checked,
        truncated at the first bad one, indexes rebuilt); other segments only get their indexes
        rebuilt when those fail a sanity check.
        """
        seg = cls(directory, base_offset, index_interval_bytes)
        if active and not clean:
            return seg, seg.recover()
        try:
            seg.index.load(seg.size)
            pos = seg.index.last_entry()[1]
            tail = list(seg.headers_from(pos))
            end = tail[-1][0] + tail[-1][1].size if tail else pos
            if end != seg.size:
                raise IndexCorruptError(f"{seg.log_path}: batches end at {end}, file at {seg.size}")
            seg.next_offset = tail[-1][1].next_offset if tail else base_offset
            if seg.index.offsets and tail and tail[0][1].last_offset != seg.index.offsets[-1]:
                raise IndexCorruptError(f"{seg.index.path}: last entry does not match the log")
            seg.time_index.load(max(seg.next_offset, base_offset + 1) if seg.size else base_offset)
            if seg.size and not len(seg.time_index) and not active:
                raise IndexCorruptError(f"{seg.time_index.path} is empty")
            seg.max_timestamp, seg.offset_of_max_timestamp = seg.time_index.last_entry()
            for _, h in tail:
                if h.max_timestamp > seg.max_timestamp:
                    seg.max_timestamp, seg.offset_of_max_timestamp = h.max_timestamp, h.last_offset
            seg._reset_bytes_since_index()
            seg._load_first_timestamp()
        except IndexCorruptError:
            seg.recover()
        return seg, 0

    def _load_first_timestamp(self) -> None:
        for _, h in self.headers_from(0):
            self.first_batch_timestamp = h.max_timestamp
            break

    def recover(self) -> int:
        """Rescan the log with full validation, cut it at the first bad batch, rebuild the indexes."""
        self.index.reset()
        self.time_index.reset()
        self.next_offset = self.base_offset
        self.max_timestamp, self.offset_of_max_timestamp = -1, self.base_offset
        self.first_batch_timestamp = -1
        self._bytes_since_index = 0
        valid = 0
        if self.size:
            with self._log as fd, mmap.mmap(fd, self.size, access=mmap.ACCESS_READ) as mm:
                view = memoryview(mm)
                try:
                    valid = self._recover_scan(view)
                finally:
                    view.release()
        truncated = self.size - valid
        if truncated:
            self._log.truncate(valid)
            self.size = valid
        return truncated

    def _recover_scan(self, view: memoryview) -> int:
        pos, end = 0, len(view)
        expected = self.base_offset
        while end - pos >= BATCH_HEADER_SIZE:
            h = parse_header(view, pos)
            if (
                h.magic != 2
                or h.batch_length < _MIN_BATCH_LENGTH
                or pos + h.size > end
                or h.base_offset < expected
                or h.last_offset_delta < 0
                or _batch_crc(view, pos, h.size) != h.crc
            ):
                break
            self._index_batch(pos, BatchInfo(h.last_offset, h.max_timestamp, h.size))
            expected = h.next_offset
            pos += h.size
        self.next_offset = expected
        return pos

    # --- writing ------------------------------------------------------------------------------
    def append(self, data: bytes | bytearray, batches: list[BatchInfo]) -> None:
        """Write offset-stamped batches; returns after the bytes are in the file (page cache)."""
        start = self.size
        self._log.write_all(data, rollback_to=start)  # never half a batch behind an acknowledged one
        pos = start
        for info in batches:
            self._index_batch(pos, info)
            pos += info.size
        self.size = pos

    def _index_batch(self, pos: int, info: BatchInfo) -> None:
        if self.first_batch_timestamp < 0 and pos == 0:
            self.first_batch_timestamp = info.max_timestamp
        if info.max_timestamp > self.max_timestamp:
            self.max_timestamp, self.offset_of_max_timestamp = info.max_timestamp, info.last_offset
        if self._bytes_since_index > self.index_interval_bytes:
            self.index.append(info.last_offset, pos)
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
            self._bytes_since_index = 0
        self._bytes_since_index += info.size
        self.next_offset = info.last_offset + 1

    def _reset_bytes_since_index(self) -> None:
        # Bytes written since the last index entry: from its batch to the end, or all of them.
        self._bytes_since_index = self.size - self.index.last_entry()[1] if len(self.index) else self.size

    def on_become_inactive(self) -> None:
        """On roll: the time index gets the segment's final max timestamp, as in Kafka; the index
        files are then closed (reopened only if the segment is ever truncated) to spare descriptors."""
        if self.max_timestamp >= 0:
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
        self.index.close()
        self.time_index.close()

    def truncate_to(self, offset: int) -> int:
        """Drop every batch whose last offset is >= ``offset``; returns the bytes removed."""
        found = self.find_position(offset)
        if found is None:
            return 0
        pos = found[0]
        removed = self.size - pos
        self._log.truncate(pos)
        self.size = pos
        self.index.truncate_to_position(pos)
        self.time_index.truncate_to_offset(found[1].base_offset)
        self.txn_index.truncate_to(found[1].base_offset)
        # Recompute what the indexes no longer tell us from the batches after the last entry.
        self.max_timestamp, self.offset_of_max_timestamp = self.time_index.last_entry()
        self.next_offset = self.base_offset
        for _, h in self.headers_from(self.index.last_entry()[1]):
            if h.max_timestamp > self.max_timestamp:
                self.max_timestamp, self.offset_of_max_timestamp = h.max_timestamp, h.last_offset
            self.next_offset = h.next_offset
        if self.size == 0:
            self.first_batch_timestamp = -1
        self._reset_bytes_since_index()
        return removed

    # --- reading ------------------------------------------------------------------------------
    def read_bytes(self, position: int, size: int) -> bytes:
        return self._log.pread(size, position)

    def headers_from(self, pos: int, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of each complete batch from ``pos``, reading 64 KiB at a time."""
        end = self.size if end is None else end
        buf = b""
        buf_start = pos
        while end - pos >= BATCH_HEADER_SIZE:
            rel = pos - buf_start
            if rel + BATCH_HEADER_SIZE > len(buf):
                buf = self._log.pread(min(_SCAN_CHUNK, end - pos), pos)
                buf_start, rel = pos, 0
                if len(buf) < BATCH_HEADER_SIZE:
                    return
            h = parse_header(buf, rel)
            if h.batch_length < _MIN_BATCH_LENGTH or pos + h.size > end:
                return
            yield pos, h
            pos += h.size

    def find_position(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset is >= ``offset`` (the one holding it, or the next)."""
        start = self.index.lookup(offset)[1]
        for pos, h in self.headers_from(start):
            if h.last_offset >= offset:
                return pos, h
        return None

    def batch_for_timestamp(self, timestamp: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose max timestamp is >= ``timestamp``."""
        if self.max_timestamp < timestamp:
            return None
        _, offset = self.time_index.lookup(timestamp)
        start = self.index.lookup(offset)[1]
        for pos, h in self.headers_from(start):
            if h.max_timestamp >= timestamp:
                return pos, h
        return None

    def largest_timestamp(self) -> int:
        """For retention: the max timestamp, or the file's modification time when there is none."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        return int(self._log.stat().st_mtime * 1000)

    # --- lifecycle ----------------------------------------------------------------------------
    def flush(self) -> None:
        """fsync what was written since the last flush (the files reopened if they were evicted)."""
        self._log.fsync()
        self.index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    @property
    def open_files(self) -> int:
        """Descriptors this segment holds right now (0 to 3), for tests and diagnostics."""
        return self._log.is_open + self.index.is_open + self.time_index.is_open

    def close(self) -> None:
        self._log.close()
        self.index.close()
        self.time_index.close()

    def delete(self) -> None:
        self.close()
        for path in (self.log_path, self.index.path, self.time_index.path, self.txn_index.path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def rename_suffix(self, old: str, new: str) -> None:
        """Move the three files from ``*.<ext><old>`` to ``*.<ext><new>`` (cleaner swaps)."""
        for file in (self._log, self.index, self.time_index):
            p = str(file.path)
            file.rename(Path((p[: len(p) - len(old)] if old else p) + new))
        p = str(self.txn_index.path)
        target = Path((p[: len(p) - len(old)] if old else p) + new)
        if self.txn_index.path.exists():
            self.txn_index.path.rename(target)
        self.txn_index.path = target

    def __repr__(self) -> str:
        return f"LogSegment(base={self.base_offset}, size={self.size}, next={self.next_offset})"
