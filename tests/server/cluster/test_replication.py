"""Replication on crafted logs: the high watermark follows the slowest in-sync replica, the ISR
grows and shrinks as followers catch up or lag, acks=all waits for it, followers copy batches
byte for byte and truncate a diverged tail at the leader's epoch boundary."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from kcli.server.base.partition import Partition
from kcli.server.cluster.replica_fetcher import truncation_offset
from tests.server.storage.helpers import batch, open_log, read_all


def leader(
    tmp_path: Path, isr: list[int], replicas: tuple[int, ...] = (0, 1, 2)
) -> tuple[Partition, list[list[int]]]:
    proposals: list[list[int]] = []
    p = Partition(
        "t", 0, uuid.uuid4(), open_log(tmp_path), leader=-1, replicas=list(replicas), isr=[], local_id=0,
        propose_isr=lambda _p, new_isr: proposals.append(new_isr),
    )  # fmt: skip
    p.apply_state(0, 1, 0, list(replicas), isr)
    return p, proposals


def test_high_watermark_is_the_smallest_log_end_offset_in_the_isr(tmp_path: Path) -> None:
    p, _ = leader(tmp_path, [0, 1, 2])
    for _ in range(3):
        p.append(batch(1))
    assert (p.log.log_end_offset, p.log.high_watermark) == (3, 0)
    p.record_follower_fetch(1, 3)
    assert p.log.high_watermark == 0  # follower 2 has not fetched yet
    p.record_follower_fetch(2, 2)
    assert p.log.high_watermark == 2
    p.record_follower_fetch(2, 3)
    assert p.log.high_watermark == 3


def test_a_follower_outside_the_isr_does_not_hold_the_high_watermark_back(tmp_path: Path) -> None:
    p, proposals = leader(tmp_path, [0, 1])
    p.append(batch(5))
    p.record_follower_fetch(1, 5)
    assert p.log.high_watermark == 5
    p.record_follower_fetch(2, 1)
    assert p.log.high_watermark == 5 and proposals == []  # still behind: not proposed for the ISR
    p.record_follower_fetch(2, 5)
    assert proposals == [[0, 1, 2]]  # caught up to the high watermark: it may join


def test_a_follower_lagging_past_the_limit_is_proposed_out_of_the_isr(tmp_path: Path) -> None:
    p, proposals = leader(tmp_path, [0, 1, 2])
    p.append(batch(2))
    p.record_follower_fetch(1, 2)
    p.record_follower_fetch(2, 0)
    p.followers[2].caught_up_at = time.monotonic() - 60
    p.shrink_lagging(30)
    assert proposals == [[0, 1]]
    p.shrink_lagging(30)
    assert proposals == [[0, 1]]  # one proposal in flight at a time


def test_acks_all_waits_until_every_in_sync_replica_has_the_batch(tmp_path: Path) -> None:
    p, _ = leader(tmp_path, [0, 1])

    async def scenario() -> tuple[bool, bool]:
        result = p.append(batch(1))
        waiting = asyncio.ensure_future(p.wait_for_high_watermark(result.last_offset, 5))
        await asyncio.sleep(0)
        assert not waiting.done()
        p.record_follower_fetch(1, result.last_offset + 1)
        replicated = await waiting
        timed_out = await p.wait_for_high_watermark(p.append(batch(1)).last_offset, 0.05)
        return replicated, timed_out

    assert asyncio.run(scenario()) == (True, False)


def test_follower_copies_batches_byte_for_byte(tmp_path: Path) -> None:
    src = open_log(tmp_path, "a-0")
    for i in range(4):
        src.append(batch(3, tag=f"b{i}"), leader_epoch=2)
    dst = open_log(tmp_path, "b-0")
    data = src.read(0, 1 << 20, upper_bound=src.log_end_offset)
    assert dst.append_as_follower(data) == src.log_end_offset == 12
    assert dst.read(0, 1 << 20, upper_bound=dst.log_end_offset) == data
    assert dst.epoch_cache.entries == [(2, 0)]


def test_diverged_tail_is_cut_at_the_leaders_epoch_boundary(tmp_path: Path) -> None:
    # The follower wrote offsets 0-4 under epoch 0 and 5-7 under epoch 1 as a deposed leader; the
    # new leader's log says epoch 1 ended at 6: offsets 6 and 7 never reached it.
    follower = open_log(tmp_path)
    follower.append(batch(5, tag="a"), leader_epoch=0)
    for i in range(3):
        follower.append(batch(1, tag=f"b{i}"), leader_epoch=1)
    follower.high_watermark = 5
    target = truncation_offset(follower.log_end_offset, follower.high_watermark, 1, 6)
    assert target == 6
    follower.truncate_to(target)
    assert [r.offset for r in read_all(follower)] == list(range(6))
    assert follower.epoch_cache.entries == [(0, 0), (1, 5)]


def test_truncation_falls_back_to_the_high_watermark_without_a_known_epoch() -> None:
    assert truncation_offset(10, 7, 3, -1) == 7
    assert truncation_offset(10, 7, -1, -1) == 10  # no epochs at all: nothing was written as leader
    assert truncation_offset(10, 7, 3, 12) == 10  # the leader has more: keep everything
