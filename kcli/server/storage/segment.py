"""One log segment: ``<base offset>.log`` with its ``.index``, ``.timeindex`` and ``.txnindex``.

The log file holds record batches exactly as they travel on the wire. Appends are one
``os.write`` of the already offset-stamped bytes; reads are ``os.pread`` slices. All three files
are reached through cached handles (``handles.py``): opened on use, closed when the broker-wide
cap on descriptors needs room, so idle segments hold no descriptor. The sparse
indexes get an entry whenever more than ``index.interval.bytes`` were written since the last one,
pointing at the start of a batch and naming that batch's last offset, as Kafka does.

Kafka never re-checks a flushed segment: its brokers serve what is on disk and leave the CRC to
consumers. kcli checks a stored batch's CRC the first time a read serves it when nothing vouches
for it yet (it was neither appended by this process nor CRC-checked by recovery), so bit rot in
an old segment is refused with an error instead of reaching a consumer that does not check CRCs;
a sequential reader extends the checked prefix, so each byte is checked about once.
"""

from __future__ import annotations

import mmap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kcli.protocol.records import BATCH_HEADER_SIZE, LOG_OVERHEAD, BatchHeader, parse_header
from kcli.protocol.records import batch_crc as _batch_crc
from kcli.server.storage.handles import FileHandle, FileRegion
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
# A fetch looks up a few batch headers near an index entry (index.interval.bytes apart, 4 KiB by
# default): reading them in 4 KiB windows rather than 64 KiB keeps the cost of serving a region
# with sendfile independent of how much is served.
_SEEK_CHUNK = 4 * 1024
_MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class BatchInfo(NamedTuple):
    """What the segment needs to know about an appended batch to index it."""

    last_offset: int
    max_timestamp: int
    size: int


class Truncation(NamedTuple):
    """What recovery cut off the end of a segment, for the log line that must say so."""

    position: int  # where the segment now ends (the first invalid batch started here)
    bytes: int  # how many bytes were cut
    next_offset: int  # the first offset the segment no longer holds
    reason: str  # why the batch at ``position`` was not valid


def batch_problem(
    buf: bytes | bytearray | memoryview, pos: int, end: int, expected_offset: int | None = None
) -> str | None:
    """Why the bytes at ``pos`` (up to ``end``) are not one valid stored batch, or None.

    The checks of Kafka's ``LogSegment.recover`` (``batch.ensureValid()``, offsets in order):
    a whole header, a sane length that fits, magic 2, offsets not going back, the CRC-32C.
    """
    if end - pos < BATCH_HEADER_SIZE:
        return f"{end - pos} trailing bytes are not a whole batch header"
    h = parse_header(buf, pos)
    if h.batch_length < _MIN_BATCH_LENGTH:
        return f"batch length {h.batch_length} is smaller than a batch header"
    if pos + h.size > end:
        return f"batch length {h.batch_length} runs past the end of the file ({end - pos} bytes left)"
    if h.magic != 2:
        return f"magic byte {h.magic} (only 2 is supported)"
    if h.last_offset_delta < 0:
        return f"last offset delta {h.last_offset_delta} is negative"
    if expected_offset is not None and h.base_offset < expected_offset:
        return f"base offset {h.base_offset} is below the expected {expected_offset}"
    crc = _batch_crc(buf, pos, h.size)
    if crc != h.crc:
        return f"record is corrupt (stored crc = {h.crc}, computed crc = {crc})"
    return None


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
        # CRC-checked byte ranges, so that reads verify only what nothing vouches for: [0,
        # verified_end) was checked since open (by recovery or by reads), and everything from
        # trusted_from on was appended by this process after its batches were validated.
        self.verified_end = 0
        self.trusted_from = self.size
        self.reported_corrupt: set[int] = set()  # positions already logged as corrupt
        self.deleted = False
        self.inactive = False  # rolled: no more appends

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
        seg.trusted_from = 0
        seg.index.reset()
        seg.time_index.reset()
        seg.txn_index.reset()
        return seg

    @classmethod
    def load(
        cls, directory: Path, base_offset: int, index_interval_bytes: int, *, active: bool, recover: bool
    ) -> tuple[LogSegment, Truncation | None, str | None]:
        """Open an existing segment; returns it, what recovery cut off (None if nothing) and why
        its indexes were rebuilt (None if they were sound).

        ``recover`` (a segment after the recovery point on an unclean start) CRC-checks every batch
        and rebuilds the indexes, as Kafka's LogLoader does; otherwise the indexes get a sanity check
        (their last entry and the batches after it must match the file) and a full recovery only
        when they fail it.
        """
        seg = cls(directory, base_offset, index_interval_bytes)
        if recover:
            return seg, seg.recover(), None
        try:
            seg._sanity_check(active)
        except IndexCorruptError as exc:
            return seg, seg.recover(), str(exc)
        return seg, None, None

    def _sanity_check(self, active: bool) -> None:
        seg = self
        base_offset = self.base_offset
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

    def trust_all(self) -> None:
        """Every byte was written and validated by this process (a cleaner's output)."""
        self.trusted_from = 0

    def _load_first_timestamp(self) -> None:
        for _, h in self.headers_from(0):
            self.first_batch_timestamp = h.max_timestamp
            break

    def recover(self) -> Truncation | None:
        """Rescan the log with full validation, cut it at the first bad batch, rebuild the indexes.

        Returns what was cut (None when the whole file was valid); the caller logs it."""
        self.index.reset()
        self.time_index.reset()
        self.next_offset = self.base_offset
        self.max_timestamp, self.offset_of_max_timestamp = -1, self.base_offset
        self.first_batch_timestamp = -1
        self._bytes_since_index = 0
        valid, reason = 0, None
        if self.size:
            with self._log as fd, mmap.mmap(fd, self.size, access=mmap.ACCESS_READ) as mm:
                view = memoryview(mm)
                try:
                    valid, reason = self._recover_scan(view)
                finally:
                    view.release()
        truncated = self.size - valid
        if truncated:
            self._log.truncate(valid)
            self.size = valid
        self.verified_end = self.trusted_from = self.size
        if not truncated:
            return None
        return Truncation(valid, truncated, self.next_offset, reason or "invalid batch")

    def _recover_scan(self, view: memoryview) -> tuple[int, str | None]:
        pos, end = 0, len(view)
        expected = self.base_offset
        while pos < end:
            problem = batch_problem(view, pos, end, expected)
            if problem is not None:
                return pos, problem
            h = parse_header(view, pos)
            self._index_batch(pos, BatchInfo(h.last_offset, h.max_timestamp, h.size))
            expected = h.next_offset
            pos += h.size
        self.next_offset = expected
        return pos, None

    def first_invalid_batch(self, pos: int, data: bytes) -> tuple[int, str] | None:
        """Of the batches in ``data`` (read at ``pos``), the first that fails its check, as
        (position, reason); None when all are valid. Only the ranges no check vouches for yet are
        looked at; a read that continues the checked prefix extends it."""
        end = pos + len(data)
        lo, hi = max(pos, self.verified_end), min(end, self.trusted_from)
        if lo >= hi:
            return None
        view = memoryview(data)
        rel = 0
        while pos + rel < hi:
            if pos + rel >= lo:
                problem = batch_problem(view, rel, len(data))
                if problem is not None:
                    return pos + rel, problem
            size = parse_header(view, rel).size if len(data) - rel >= BATCH_HEADER_SIZE else 0
            if size <= 0:
                break
            rel += size
        if pos <= self.verified_end:
            self.verified_end = max(self.verified_end, min(pos + rel, hi))
        return None

    def vouched_for(self, pos: int, end: int) -> bool:
        """Whether every batch in ``[pos, end)`` was CRC-checked since open or appended by this
        process: such bytes may be served without being read (sendfile)."""
        return max(pos, self.verified_end) >= min(end, self.trusted_from)

    # --- writing ------------------------------------------------------------------------------
    def append(self, data: bytes | bytearray, batches: list[BatchInfo]) -> None:
        """Write offset-stamped batches; returns after the bytes are in the file (page cache).

        On an OSError (a full disk) nothing of the call stays behind: the log is cut back and the
        index entries written for it are dropped, so the next append cannot leave these bytes, with
        offsets that will be given out again, in the middle of the log."""
        start = self.size
        self._log.write_all(data, rollback_to=start)  # never half a batch behind an acknowledged one
        state = (self.next_offset, self.max_timestamp, self.offset_of_max_timestamp)
        state += (self.first_batch_timestamp, self._bytes_since_index)
        pos = start
        try:
            for info in batches:
                self._index_batch(pos, info)
                pos += info.size
        except OSError:
            self._log.truncate(start)
            self.index.truncate_to_position(start)
            self.time_index.truncate_to_offset(state[0])
            self.next_offset, self.max_timestamp, self.offset_of_max_timestamp = state[:3]
            self.first_batch_timestamp, self._bytes_since_index = state[3:]
            raise
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
        self.inactive = True
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
        self.verified_end = min(self.verified_end, pos)
        self.trusted_from = min(self.trusted_from, pos)
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

    def region(self, position: int, size: int) -> FileRegion | None:
        """``size`` bytes from ``position``, pinned for sendfile (see :class:`FileRegion`); None
        when no more regions may be pinned now."""
        return self._log.region(position, size)

    def headers_from(
        self, pos: int, end: int | None = None, chunk: int = _SCAN_CHUNK
    ) -> Iterator[tuple[int, BatchHeader]]:
        """(position, header) of each complete batch from ``pos``, reading ``chunk`` bytes at a
        time (64 KiB for scans; lookups pass less)."""
        end = self.size if end is None else end
        buf = b""
        buf_start = pos
        while end - pos >= BATCH_HEADER_SIZE:
            rel = pos - buf_start
            if rel + BATCH_HEADER_SIZE > len(buf):
                buf = self._log.pread(min(chunk, end - pos), pos)
                buf_start, rel = pos, 0
                if len(buf) < BATCH_HEADER_SIZE:
                    return
            h = parse_header(buf, rel)
            if h.batch_length < _MIN_BATCH_LENGTH or pos + h.size > end:
                return
            yield pos, h
            pos += h.size

    def frames_to_end(self, pos: int) -> bool:
        """Whether the batches from ``pos`` frame up to the end of the file (no damaged bytes)."""
        end = pos
        for at, h in self.headers_from(pos):
            end = at + h.size
        return end == self.size

    def find_position(self, offset: int) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset is >= ``offset`` (the one holding it, or the next)."""
        start = self.index.lookup(offset)[1]
        for pos, h in self.headers_from(start, chunk=_SEEK_CHUNK):
            if h.last_offset >= offset:
                return pos, h
        return None

    def last_batch_before(self, limit: int, start: int) -> tuple[int, BatchHeader | None]:
        """Where the whole batches from ``start`` (a batch boundary) stop at or before the byte
        position ``limit``, and the header of the first batch that does not fit (None when
        every batch up to the end of the file fits). The walk starts at the last indexed batch
        boundary before ``limit``, so it covers about index.interval.bytes whatever the size of
        the read."""
        cut = max(start, self.index.floor_position(limit))
        for pos, h in self.headers_from(cut, self.size, chunk=_SEEK_CHUNK):
            if pos + h.size > limit:
                return pos, h
            cut = pos + h.size
        return cut, None

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
        if self.deleted:
            return
        self._log.fsync()
        self.index.flush()
        self.time_index.flush()
        self.txn_index.flush()
        if self.inactive:  # a rolled segment's indexes are not written again: spare the descriptors
            self.index.close()
            self.time_index.close()

    @property
    def open_files(self) -> int:
        """Descriptors this segment holds right now (0 to 3), for tests and diagnostics."""
        return self._log.is_open + self.index.is_open + self.time_index.is_open

    def close(self) -> None:
        self._log.close()
        self.index.close()
        self.time_index.close()

    def delete(self) -> None:
        self.deleted = True
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
