"""Kafka's sparse segment indexes: ``.index`` (offset -> position) and ``.timeindex``.

File formats are Kafka's, so its tools can read them: an offset index entry is a 4-byte offset
relative to the segment's base offset and a 4-byte file position; a time index entry is an 8-byte
timestamp and a 4-byte relative offset; all big-endian. Files are appended to as entries are added
(not preallocated), so the file length is always a whole number of entries after a clean write.
Lookups use an in-memory copy held in ``array``s and ``bisect``.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from pathlib import Path

from kcli.server.storage.handles import FileHandle

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class IndexCorruptError(Exception):
    """The index file does not pass its sanity check and must be rebuilt from the log."""


class _IndexFile:
    """Written through a cached handle (``handles.py``): opened on a write, closed when idle.

    Lookups never touch the file (they use the in-memory copy), so a closed segment's indexes
    hold no descriptor, and an active one's only until the handle cache needs the room.
    """

    entry: struct.Struct

    def __init__(self, path: Path, base_offset: int):
        self.base_offset = base_offset
        self._file = FileHandle(path, create=True, recreate=True)

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def is_open(self) -> bool:
        return self._file.is_open

    def _read_entries(self) -> list[tuple[int, int]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"{self.path} is missing") from exc
        if len(raw) % self.entry.size:
            raise IndexCorruptError(f"{self.path} has a partial entry ({len(raw)} bytes)")
        return list(self.entry.iter_unpack(raw))

    def _write(self, data: bytes) -> None:
        self._file.write_all(data)

    def _truncate_entries(self, count: int) -> None:
        self._file.truncate(count * self.entry.size)

    def reset(self) -> None:
        """Empty the index (before a rebuild)."""
        self._truncate_entries(0)
        self._clear()

    def _clear(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._file.close()

    def flush(self) -> None:
        self._file.fsync()

    def rename(self, path: Path) -> None:
        self._file.rename(path)


class OffsetIndex(_IndexFile):
    """Relative offset -> position of the batch holding it (Kafka indexes the batch's last offset)."""

    entry = _OFFSET_ENTRY

    def __init__(self, path: Path, base_offset: int):
        super().__init__(path, base_offset)
        self.offsets = array("q")  # absolute offsets
        self.positions = array("q")

    def _clear(self) -> None:
        self.offsets = array("q")
        self.positions = array("q")

    def __len__(self) -> int:
        return len(self.offsets)

    def load(self, log_size: int) -> None:
        """Read the file; IndexCorruptError unless offsets and positions only grow and fit the log."""
        entries = self._read_entries()
        offsets, positions = array("q"), array("q")
        last_off, last_pos = self.base_offset - 1, -1
        for rel, pos in entries:
            off = self.base_offset + rel
            if off <= last_off or pos <= last_pos or pos >= log_size:
                raise IndexCorruptError(f"{self.path}: entry ({off}, {pos}) is out of order or range")
            offsets.append(off)
            positions.append(pos)
            last_off, last_pos = off, pos
        self.offsets, self.positions = offsets, positions

    def append(self, offset: int, position: int) -> None:
        if self.offsets and offset <= self.offsets[-1]:
            return
        self._write(_OFFSET_ENTRY.pack(offset - self.base_offset, position))
        self.offsets.append(offset)
        self.positions.append(position)

    def lookup(self, offset: int) -> tuple[int, int]:
        """The entry with the largest offset <= ``offset``, or (base offset, 0)."""
        i = bisect_right(self.offsets, offset) - 1
        if i < 0:
            return self.base_offset, 0
        return self.offsets[i], self.positions[i]

    def last_entry(self) -> tuple[int, int]:
        if not self.offsets:
            return self.base_offset, 0
        return self.offsets[-1], self.positions[-1]

    def floor_position(self, position: int) -> int:
        """The largest indexed batch position <= ``position`` (0 if none): a batch boundary."""
        i = bisect_right(self.positions, position) - 1
        return self.positions[i] if i >= 0 else 0

    def truncate_to_position(self, position: int) -> None:
        """Drop entries pointing at or beyond ``position`` (the log was cut there)."""
        keep = bisect_right(self.positions, position - 1)
        if keep < len(self.offsets):
            del self.offsets[keep:]
            del self.positions[keep:]
            self._truncate_entries(keep)


class TimeIndex(_IndexFile):
    """Timestamp -> offset; timestamps strictly increase, so a lookup finds where to start a scan."""

    entry = _TIME_ENTRY

    def __init__(self, path: Path, base_offset: int):
        super().__init__(path, base_offset)
        self.timestamps = array("q")
        self.offsets = array("q")

    def _clear(self) -> None:
        self.timestamps = array("q")
        self.offsets = array("q")

    def __len__(self) -> int:
        return len(self.timestamps)

    def load(self, next_offset: int) -> None:
        entries = self._read_entries()
        timestamps, offsets = array("q"), array("q")
        last_ts, last_off = -(1 << 63), self.base_offset - 1
        for ts, rel in entries:
            off = self.base_offset + rel
            if ts < last_ts or off < last_off or off >= next_offset:
                raise IndexCorruptError(f"{self.path}: entry ({ts}, {off}) is out of order or range")
            if ts == last_ts:
                continue
            timestamps.append(ts)
            offsets.append(off)
            last_ts, last_off = ts, off
        self.timestamps, self.offsets = timestamps, offsets

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add (timestamp, offset) if the timestamp is larger than the last entry's."""
        if self.timestamps and timestamp <= self.timestamps[-1]:
            return
        self._write(_TIME_ENTRY.pack(timestamp, offset - self.base_offset))
        self.timestamps.append(timestamp)
        self.offsets.append(offset)

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """The entry with the largest timestamp <= ``timestamp``, or (-1, base offset)."""
        i = bisect_right(self.timestamps, timestamp) - 1
        if i < 0:
            return -1, self.base_offset
        return self.timestamps[i], self.offsets[i]

    def last_entry(self) -> tuple[int, int]:
        if not self.timestamps:
            return -1, self.base_offset
        return self.timestamps[-1], self.offsets[-1]

    def truncate_to_offset(self, offset: int) -> None:
        """Drop entries for offsets >= ``offset``."""
        keep = len(self.offsets)
        while keep and self.offsets[keep - 1] >= offset:
            keep -= 1
        if keep < len(self.offsets):
            del self.timestamps[keep:]
            del self.offsets[keep:]
            self._truncate_entries(keep)
