"""A bounded, least-recently-used set of open descriptors for segment and index files.

Why: every segment is three files (``.log``, ``.index``, ``.timeindex``). Keeping them all open
makes a broker with 10,000 partitions need 30,000 descriptors and fail with EMFILE under the
usual ``ulimit -n``, while Kafka's own brokers handle that many partitions on a laptop. Files are
therefore opened on use and closed again when the least recently used one must make room, so the
number of descriptors stays under a cap derived from the soft ``RLIMIT_NOFILE`` and partitions
that nobody reads or writes hold none.

Safety: a descriptor is used only while its handle is *pinned* (``with handle as fd``, or the
helpers ``pread``/``write_all``/...). A pinned handle is never evicted, so another thread (log
maintenance runs in one) cannot close a descriptor under a read, after which the kernel could hand
the same number to an unrelated file.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import OrderedDict
from pathlib import Path

_MIN_CAPACITY = 32
_MAX_CAPACITY = 1 << 16
_FLAGS = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


def default_capacity() -> int:
    """Half the soft ``RLIMIT_NOFILE``: the other half is for client sockets, mmaps, temp files."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 512
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return _MAX_CAPACITY
    return max(_MIN_CAPACITY, min(soft // 2, _MAX_CAPACITY))


class HandleCache:
    """The open descriptors of many :class:`FileHandle`s, at most ``capacity`` of them unpinned."""

    def __init__(self, capacity: int | None = None):
        self._capacity = capacity
        self._open: OrderedDict[FileHandle, None] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self.opens = 0  # descriptors opened, for tests and benchmarks
        self.evictions = 0  # descriptors closed to make room
        self.regions = 0  # file regions pinned for responses not yet sent (zero-copy fetch)

    @property
    def capacity(self) -> int:
        """Computed on first use, so it reflects the limit of the process that uses it."""
        if self._capacity is None:
            self._capacity = default_capacity()
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        with self._lock:
            self._capacity = max(1, value)
            self._shrink(self._capacity)

    def __len__(self) -> int:
        return len(self._open)

    def acquire(self, handle: FileHandle) -> int:
        """Pin ``handle`` and return its descriptor, opening it (and evicting another) if needed."""
        with self._lock:
            handle._pins += 1
            if handle._fd >= 0:
                self._open.move_to_end(handle)
                return handle._fd
            try:
                handle._fd = self._open_file(handle)
            except BaseException:
                handle._pins -= 1
                raise
            self._open[handle] = None
            self.opens += 1
            return handle._fd

    @property
    def region_budget(self) -> int:
        """How many file regions may be pinned at once: a quarter of the descriptors. A pinned
        descriptor cannot be evicted, so a Fetch of thousands of partitions (or many fetches at
        once) must not pin them all; beyond the budget, reads copy the bytes and unpin at once."""
        return max(8, self.capacity // 4)

    def acquire_region(self, handle: FileHandle) -> int | None:
        """Pin ``handle`` for a file region if the budget allows; its descriptor, or None."""
        with self._lock:
            if self.regions >= self.region_budget:
                return None
            self.regions += 1
        try:
            return self.acquire(handle)
        except BaseException:
            with self._lock:
                self.regions -= 1
            raise

    def release_region(self, handle: FileHandle) -> None:
        with self._lock:
            self.regions -= 1
        self.release(handle)

    def release(self, handle: FileHandle) -> None:
        with self._lock:
            handle._pins -= 1
            if handle._pins == 0 and handle._close_when_released:
                self._close(handle)

    def close(self, handle: FileHandle) -> None:
        """Close now, or when the last user releases it (a read in another thread)."""
        with self._lock:
            if handle._pins:
                handle._close_when_released = True
            else:
                self._close(handle)

    def _open_file(self, handle: FileHandle) -> int:
        self._shrink(self.capacity - 1)
        flags = _FLAGS | (os.O_CREAT if handle._create else 0)
        try:
            return os.open(handle.path, flags, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            # Something else (sockets) took the descriptors: give back half of ours and retry once.
            self._shrink(len(self._open) // 2)
            return os.open(handle.path, flags, 0o644)

    def _shrink(self, target: int) -> None:
        """Close least recently used unpinned handles until at most ``target`` are open."""
        need = len(self._open) - target
        if need <= 0:
            return
        victims = []
        for handle in self._open:  # oldest first; stops as soon as enough are found
            if not handle._pins:
                victims.append(handle)
                if len(victims) == need:
                    break
        for victim in victims:
            self._close(victim)
        self.evictions += len(victims)

    def _close(self, handle: FileHandle) -> None:
        handle._close_when_released = False
        if handle._fd >= 0:
            self._open.pop(handle, None)
            fd, handle._fd = handle._fd, -1
            os.close(fd)


_default = HandleCache()


def default_cache() -> HandleCache:
    """The broker-wide cache: one cap for every log of the process."""
    return _default


class FileHandle:
    """One segment or index file, opened (read-write, append) only while it is in the cache.

    ``create`` makes the first open create the file; reopening after an eviction never creates it
    unless ``recreate`` is set (index files, which are only ever written for a live segment), so
    a read racing with the deletion of a segment cannot bring an empty file back to life.
    """

    __slots__ = ("_cache", "_close_when_released", "_create", "_fd", "_pins", "_recreate", "dirty", "path")

    def __init__(
        self, path: Path, *, create: bool = True, recreate: bool = False, cache: HandleCache | None = None
    ):
        self.path = path
        self._cache = cache if cache is not None else _default
        self._fd = -1
        self._pins = 0
        self._close_when_released = False
        self._create = create
        self._recreate = recreate
        self.dirty = False  # written since the last fsync

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def __enter__(self) -> int:
        fd = self._cache.acquire(self)
        self._create = self._recreate
        return fd

    def __exit__(self, *exc: object) -> None:
        self._cache.release(self)

    def open(self) -> FileHandle:
        """Open now (creating the file if asked to), so that it exists on disk."""
        with self:
            return self

    def pread(self, size: int, position: int) -> bytes:
        with self as fd:
            return os.pread(fd, size, position)

    def region(self, position: int, size: int) -> FileRegion | None:
        """Bytes ``[position, position + size)`` of this file, the descriptor pinned until the
        region is released: what a Fetch hands to ``sendfile``. None when the cache's budget of
        pinned regions is spent (the caller reads the bytes instead)."""
        fd = self._cache.acquire_region(self)
        return None if fd is None else FileRegion(self, fd, position, size)

    def write_all(self, data: bytes | bytearray | memoryview, rollback_to: int | None = None) -> None:
        """Append all of ``data``; on failure cut the file back to ``rollback_to`` if given, so a
        half-written batch never sits behind an acknowledged one."""
        with self as fd:
            view = memoryview(data)
            written = 0
            self.dirty = True
            try:
                while written < len(view):
                    written += os.write(fd, view[written:])
            except OSError:
                if rollback_to is not None:
                    os.ftruncate(fd, rollback_to)
                raise

    def truncate(self, size: int) -> None:
        with self as fd:
            self.dirty = True
            os.ftruncate(fd, size)

    def fsync(self) -> None:
        """Make what was written durable; a no-op when nothing was written since the last one.

        The flag is cleared before the fsync, so a write racing with it (flushes run in their own
        thread) marks the file dirty again instead of being taken as flushed."""
        if not self.dirty:
            return
        self.dirty = False
        try:
            with self as fd:
                os.fsync(fd)
        except BaseException:
            self.dirty = True
            raise

    def stat(self) -> os.stat_result:
        with self as fd:
            return os.fstat(fd)

    def rename(self, path: Path) -> None:
        os.replace(self.path, path)
        self.path = path

    def close(self) -> None:
        self._cache.close(self)

    def __repr__(self) -> str:
        state = "open" if self._fd >= 0 else "closed"
        return f"FileHandle({self.path.name}, {state}, pins={self._pins})"


class FileRegion:
    """A byte range of a segment file that a response sends without reading it into Python.

    The handle stays pinned (its descriptor cannot be evicted or closed, see the module
    docstring) until :meth:`release`, which the network layer calls once the bytes are sent or
    the connection is gone; a region dropped unreleased is released when collected. A segment
    deleted meanwhile (retention, compaction) stays readable through the pinned descriptor, as
    an open file does after unlink; one *truncated* meanwhile (a follower cutting its log) makes
    :meth:`read` or the sendfile come up short, and the caller closes the connection rather than
    send a response shorter than its length prefix (Kafka's FileRecords.writeTo does the same).
    """

    __slots__ = ("_handle", "fd", "position", "size")

    def __init__(self, handle: FileHandle, fd: int, position: int, size: int):
        self._handle: FileHandle | None = handle
        self.fd = fd
        self.position = position
        self.size = size

    def __len__(self) -> int:
        return self.size

    def fileno(self) -> int:
        """The pinned descriptor (``loop.sendfile`` takes any object with a fileno)."""
        return self.fd

    def read(self) -> bytes:
        """The region's bytes (TLS connections and small regions): one pread, short only if the
        file was truncated under the region, which raises EOFError."""
        data = os.pread(self.fd, self.size, self.position)
        if len(data) < self.size:
            raise EOFError(f"{self!r} was truncated while being served")
        return data

    @property
    def released(self) -> bool:
        return self._handle is None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle._cache.release_region(handle)

    def __del__(self) -> None:
        self.release()

    def __repr__(self) -> str:
        name = self._handle.path.name if self._handle is not None else "released"
        return f"FileRegion({name}, position={self.position}, size={self.size})"
