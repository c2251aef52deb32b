"""Unit tests: a follower's write of fetched batches (which the replica fetcher may run in a
worker thread) never interleaves with a leadership change: a write under an old epoch is
dropped, and a broker becoming leader waits for a write in progress, so its epoch starts after
the batches the previous leader sent."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from kcli.server.base.partition import Partition
from tests.server.storage.helpers import batch, open_log


def _leader_batches(tmp_path: Path, count: int) -> list[bytes]:
    """``count`` one-batch chunks as a leader under epoch 1 wrote them (offsets 0, 3, 6, ...)."""
    src = open_log(tmp_path, "leader-0")
    ends = []
    for i in range(count):
        src.append(batch(3, tag=f"b{i}"), leader_epoch=1)
        ends.append(src.log_end_offset)
    starts = [0, *ends[:-1]]
    return [src.read(s, 1 << 20, upper_bound=e) for s, e in zip(starts, ends, strict=True)]


def _follower(tmp_path: Path) -> Partition:
    p = Partition(
        "t", 0, uuid.uuid4(), open_log(tmp_path, "t-0"), leader=-1, replicas=[0, 1], isr=[], local_id=1
    )
    p.apply_state(0, 1, 0, [0, 1], [0, 1])  # broker 0 leads under epoch 1; this is broker 1
    return p


def test_a_write_under_an_old_epoch_is_dropped(tmp_path: Path) -> None:
    first, second = _leader_batches(tmp_path, 2)
    p = _follower(tmp_path)
    assert p.append_fetched(first, 1) and p.log.log_end_offset == 3
    p.apply_state(1, 2, 1, [0, 1], [0, 1])  # this broker leads now
    assert not p.append_fetched(second, 1) and p.log.log_end_offset == 3
    p.apply_state(0, 3, 2, [0, 1], [0, 1])  # and follows again, under epoch 3
    assert not p.append_fetched(second, 2) and p.log.log_end_offset == 3


def test_becoming_leader_waits_for_a_write_in_progress(tmp_path: Path) -> None:
    (fetched,) = _leader_batches(tmp_path, 1)
    p = _follower(tmp_path)
    writing, release = threading.Event(), threading.Event()
    append = p.log.append_as_follower

    def slow_append(records: bytes) -> int:
        writing.set()
        assert release.wait(30)
        return append(records)

    p.log.append_as_follower = slow_append  # type: ignore[method-assign]
    writer = threading.Thread(target=p.append_fetched, args=(fetched, 1))
    writer.start()
    assert writing.wait(30)
    became_leader = threading.Event()

    def lead() -> None:
        p.apply_state(1, 2, 1, [0, 1], [0, 1])
        became_leader.set()

    leader = threading.Thread(target=lead)
    leader.start()
    try:
        assert not became_leader.wait(0.2)  # held until the write is done
    finally:
        release.set()
    writer.join(30)
    leader.join(30)
    assert became_leader.is_set() and p.is_leader
    assert p.log.log_end_offset == 3
    assert p.log.epoch_cache.entries == [(1, 0), (2, 3)]  # the new epoch starts after the write
