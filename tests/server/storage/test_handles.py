"""The handle cache: a bounded LRU of open segment and index files, and the logs built on it."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcli.server.storage import handles
from kcli.server.storage.handles import FileHandle, HandleCache, default_capacity
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import LogManager

from .helpers import batch, open_log, read_all


def _files(tmp_path: Path, cache: HandleCache, n: int) -> list[FileHandle]:
    out = []
    for i in range(n):
        path = tmp_path / f"f{i}"
        path.write_bytes(f"file {i}".encode())
        out.append(FileHandle(path, create=False, cache=cache))
    return out


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def small_default_cache() -> Iterator[HandleCache]:
    """Shrink the broker-wide cache for one test, so every log in it shares a tiny budget."""
    cache = handles.default_cache()
    before = cache.capacity
    cache.capacity = 6
    try:
        yield cache
    finally:
        cache.capacity = before


def test_at_most_capacity_descriptors_are_open(tmp_path: Path) -> None:
    cache = HandleCache(capacity=5)
    files = _files(tmp_path, cache, 40)
    fds_before = _open_fds()
    for i, f in enumerate(files):
        assert f.pread(100, 0) == f"file {i}".encode()
        assert len(cache) <= 5
    assert _open_fds() - fds_before <= 5
    assert cache.opens == 40 and cache.evictions == 35
    for f in files:
        f.close()
    assert len(cache) == 0 and _open_fds() == fds_before


def test_least_recently_used_is_evicted_first(tmp_path: Path) -> None:
    cache = HandleCache(capacity=3)
    a, b, c, d = _files(tmp_path, cache, 4)
    for f in (a, b, c):
        f.open()
    a.pread(1, 0)  # a is now the most recently used: b goes first
    d.open()
    assert [f.is_open for f in (a, b, c, d)] == [True, False, True, True]


def test_a_pinned_handle_is_never_evicted(tmp_path: Path) -> None:
    cache = HandleCache(capacity=2)
    first, *others = _files(tmp_path, cache, 6)
    with first as fd:
        for f in others:
            f.pread(1, 0)
        assert first.is_open
        assert os.pread(fd, 6, 0) == b"file 0"  # the descriptor still names the same file
    assert len(cache) == 2 and first.is_open


def test_close_while_pinned_waits_for_the_user(tmp_path: Path) -> None:
    cache = HandleCache(capacity=4)
    (f,) = _files(tmp_path, cache, 1)
    with f as fd:
        f.close()
        assert os.pread(fd, 6, 0) == b"file 0"
    assert not f.is_open and len(cache) == 0


def test_reopening_never_recreates_a_deleted_segment(tmp_path: Path) -> None:
    cache = HandleCache(capacity=1)
    seg, other = FileHandle(tmp_path / "seg.log", cache=cache), FileHandle(tmp_path / "o", cache=cache)
    seg.open()
    assert (tmp_path / "seg.log").exists()
    other.open()  # evicts seg
    (tmp_path / "seg.log").unlink()
    with pytest.raises(FileNotFoundError):
        seg.pread(1, 0)
    assert not (tmp_path / "seg.log").exists()


def test_an_index_file_is_recreated_on_write(tmp_path: Path) -> None:
    cache = HandleCache(capacity=4)
    index = FileHandle(tmp_path / "x.index", recreate=True, cache=cache)
    index.write_all(b"12345678")
    index.close()
    (tmp_path / "x.index").unlink()
    index.write_all(b"abcdefgh")
    assert (tmp_path / "x.index").read_bytes() == b"abcdefgh"


def test_fsync_only_when_written_and_after_eviction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = HandleCache(capacity=1)
    f, other = FileHandle(tmp_path / "a", cache=cache), FileHandle(tmp_path / "b", cache=cache)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(handles.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    f.fsync()
    assert synced == []  # nothing written: nothing to sync
    f.write_all(b"data")
    other.open()  # evicts f with unsynced data: the fsync must reopen it
    f.fsync()
    f.fsync()
    assert len(synced) == 1 and not f.dirty


def test_a_failed_write_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = FileHandle(tmp_path / "a", cache=HandleCache(capacity=2))
    f.write_all(b"ok")
    calls = 0
    real_write = os.write

    def half_then_fail(fd: int, data: memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, data[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(handles.os, "write", half_then_fail)
    with pytest.raises(OSError):
        f.write_all(b"abcdef", rollback_to=2)
    assert (tmp_path / "a").read_bytes() == b"ok"


def test_emfile_gives_back_descriptors_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = HandleCache(capacity=10)
    files = _files(tmp_path, cache, 5)
    for f in files[:4]:
        f.open()
    real_open = os.open
    failures = [OSError(errno.EMFILE, "Too many open files")]

    def open_once_failing(*args: object) -> int:
        if failures:
            raise failures.pop()
        return real_open(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(handles.os, "open", open_once_failing)
    assert files[4].pread(6, 0) == b"file 4"
    assert len(cache) == 3  # half of the four were closed to make room


def test_capacity_is_half_the_soft_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    for soft, expected in ((1024, 512), (20000, 10000), (40, 32)):
        monkeypatch.setattr(resource, "getrlimit", lambda _r, soft=soft: (soft, soft))
        assert default_capacity() == expected


def test_many_logs_share_a_small_budget(tmp_path: Path, small_default_cache: HandleCache) -> None:
    """Twenty logs, rolled, read, reopened and compacted with six descriptors between them."""
    logs = [open_log(tmp_path, f"t-{i}", segment_bytes=300) for i in range(20)]
    for round_ in range(3):
        for i, log in enumerate(logs):
            log.append(batch(2, tag=f"{i}.{round_}-"))
            assert len(small_default_cache) <= 6
    for i, log in enumerate(logs):
        values = [r.value.rstrip(b".") for r in read_all(log)]
        assert values == [f"{i}.{r}-{n}".encode() for r in range(3) for n in range(2)]
        assert len(log.segments) > 1
    assert sum(seg.open_files for log in logs for seg in log._segments) <= 6
    assert logs[0].offset_for_timestamp(1001) == (1, 1001)
    for log in logs:
        log.close()
    reopened = [open_log(tmp_path, f"t-{i}", segment_bytes=300) for i in range(20)]
    assert [len(read_all(log)) for log in reopened] == [6] * 20
    assert len(small_default_cache) <= 6


def test_an_idle_partition_holds_no_descriptor(tmp_path: Path, small_default_cache: HandleCache) -> None:
    manager = LogManager([tmp_path], LogConfig())
    idle = manager.create("idle", 0, LogConfig())
    idle.append(batch(3))
    for i in range(10):
        manager.create("busy", i, LogConfig()).append(batch(1))
    assert sum(seg.open_files for seg in idle._segments) == 0
    assert [r.offset for r in read_all(idle)] == [0, 1, 2]  # reopened on demand
    manager.close_all()
