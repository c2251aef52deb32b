"""Unit tests of the replica copy behind AlterReplicaLogDirs (kcli.server.storage.log_dir_mover),
on PartitionLogs in temporary dirs: appends between copy rounds, a truncation of the source
during the copy, and the start-up rules for future dirs a crash left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcli.server.storage import log_dir_mover
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_dir_mover import LogDirMove, recover_future_dirs
from kcli.server.storage.partition_log import PartitionLog
from tests.server.storage.helpers import batch, read_all

CONFIG = LogConfig(segment_bytes=1024)


def _source(tmp_path: Path) -> PartitionLog:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return PartitionLog.open(tmp_path / "a" / "t-0", CONFIG)


def _values(log: PartitionLog) -> list[bytes]:
    return [r.value for r in read_all(log)]


def test_copy_rounds_follow_appends_and_the_swap_gives_identical_segments(tmp_path: Path) -> None:
    src = _source(tmp_path)
    for i in range(40):
        src.append(batch(5, tag=f"a{i}-"))
    before_files = sorted(p.name for p in src.directory.glob("*.log"))
    assert len(before_files) > 3  # closed segments and an active one
    move = LogDirMove.start("t", 0, src, tmp_path / "b")
    assert move.copy_round(budget=1000) > 0  # throttled: some left
    while move.copy_round(budget=1000):
        src.append(batch(3, tag="during-"))  # producers go on meanwhile
    src.append(batch(3, tag="last-"))
    expected = _values(src)
    installed: list[PartitionLog] = []
    moved = move.finish_on_loop(installed.append)
    assert moved is not None and installed == [moved]
    assert moved.directory == tmp_path / "b" / "t-0"
    assert not (tmp_path / "a" / "t-0").exists() and list((tmp_path / "a").iterdir()) == []
    assert _values(moved) == expected
    assert moved.log_end_offset == src.log_end_offset and moved.high_watermark == src.high_watermark
    for seg in moved.directory.glob("*.log"):
        assert seg.stat().st_size > 0
    moved.close()


def test_a_truncated_source_is_copied_again(tmp_path: Path) -> None:
    src = _source(tmp_path)
    for i in range(30):
        src.append(batch(5, tag=f"a{i}-"))
    move = LogDirMove.start("t", 0, src, tmp_path / "b")
    while move.copy_round():
        pass
    # A follower cut back by a new leader, then rewritten past where the copy had got.
    src.truncate_to(src.log_end_offset - 20)
    for i in range(10):
        src.append(batch(5, tag=f"new{i}-"), leader_epoch=1)
    expected = _values(src)
    moved = move.finish_on_loop(lambda _log: None)
    assert moved is not None and _values(moved) == expected
    moved.close()


def test_start_up_discards_an_unfinished_future_and_completes_a_swapped_one(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "t-0").mkdir(parents=True)
    (b / f"t-0.{'1' * 32}-future").mkdir(parents=True)  # the current one is there: unfinished
    (b / f"u-3.{'2' * 32}-future").mkdir()  # no current one: the swap got past its first rename
    (b / f"u-3.{'2' * 32}-future" / "00000000000000000000.log").write_bytes(b"")
    recover_future_dirs([a, b])
    assert sorted(p.name for p in a.iterdir()) == ["t-0"]
    assert sorted(p.name for p in b.iterdir()) == ["u-3"]
    assert (b / "u-3" / "00000000000000000000.log").exists()


def test_a_swap_that_cannot_open_the_copy_keeps_the_current_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _source(tmp_path)
    for i in range(10):
        src.append(batch(5, tag=f"a{i}-"))
    move = LogDirMove.start("t", 0, src, tmp_path / "b")
    while move.copy_round():
        pass

    def refuse(*_args: object, **_kwargs: object) -> PartitionLog:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(log_dir_mover.PartitionLog, "open", refuse)
    with pytest.raises(OSError):
        move.finish_on_loop(lambda _log: None)
    assert src.directory == tmp_path / "a" / "t-0" and src.directory.is_dir()
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["t-0"]
    assert [p for p in (tmp_path / "b").iterdir() if p.is_dir()] == [move.future_dir]
    src.append(batch(1, tag="after-"))  # the current replica goes on taking writes
    assert _values(src)[-1].startswith(b"after-")
    src.close()
