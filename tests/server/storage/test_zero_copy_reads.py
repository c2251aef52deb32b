"""Unit tests: reads served as file regions (zero-copy fetch) and the positions a waiting fetch
measures bytes with. The wire-level behaviour (sendfile, TLS fallback) is tested against a real
broker in tests/server/test_zero_copy_fetch.py."""

from __future__ import annotations

from kcli.protocol.records import iter_batches
from kcli.server.storage.handles import FileRegion, HandleCache, default_cache

from .helpers import batch, open_log


def test_appended_batches_come_back_as_a_region_with_the_bytes_read_returns(tmp_path):
    log = open_log(tmp_path)
    for i in range(5):
        log.append(batch(3, tag=f"{i}-"))
    copied = log.read(3, 1 << 20)
    result = log.read_records(3, 1 << 20)
    assert isinstance(result.records, FileRegion)
    try:
        assert result.records.read() == copied
        assert result.end_offset == 15  # the log end: the read reached the end of the segment
    finally:
        result.records.release()
    assert result.records.released


def test_batches_nothing_checked_yet_are_read_and_checked_first(tmp_path):
    log = open_log(tmp_path, segment_bytes=500)
    for i in range(8):
        log.append(batch(2, tag=f"{i}-"))
    assert len(log.segments) > 1
    expected = log.read(0, 1 << 20)
    log.close()
    # A new process: recovery checks the active segment only, so nothing vouches for the first.
    log = open_log(tmp_path, segment_bytes=500)
    first = log.read_records(0, 1 << 20)
    assert isinstance(first.records, bytes) and first.records == expected
    second = log.read_records(0, 1 << 20)  # the read above CRC-checked them
    assert isinstance(second.records, FileRegion)
    second.records.release()


def test_upper_bound_and_max_bytes_cut_regions_at_whole_batches(tmp_path):
    log = open_log(tmp_path)
    for i in range(6):
        log.append(batch(2, tag=f"{i}-"))
    size = len(batch(2, tag="0-"))
    bounded = log.read_records(0, 1 << 20, upper_bound=5)  # offset 5 is inside the third batch
    assert bounded.end_offset == 6 and len(bounded.records) == 3 * size
    bounded.records.release()
    capped = log.read_records(2, size * 2 + size // 2)
    assert len(capped.records) == 2 * size and capped.end_offset == 6
    capped.records.release()
    copied = log.read_records(2, size * 2 + size // 2, zero_copy=False)
    assert [h.base_offset for _, h in iter_batches(copied.records)] == [2, 4]


def test_positions_of_the_log_end_and_the_high_watermark_are_known_without_reading(tmp_path):
    log = open_log(tmp_path)
    log.append(batch(2))
    first_end = log.active_segment.size
    log.append(batch(3))
    log.high_watermark = 2  # a follower has the first batch only
    assert log.position_of(2) == (0, first_end)
    assert log.position_of(5) == (0, log.active_segment.size)
    assert log.position_of(1) is None  # neither: only a look-up finds it
    assert log.position_of(1, look_up=True) == (0, 0)  # the start of the batch holding it
    log.truncate_to(2)
    assert log.position_of(2) == (0, first_end)


def test_beyond_the_budget_of_pinned_regions_reads_copy_the_bytes(tmp_path, monkeypatch):
    """A pinned descriptor cannot be evicted, so a fetch of thousands of partitions must not pin
    one per partition: past the cache's budget, reads come back as bytes and pin nothing."""
    cache = default_cache()
    budget = cache.regions + 3
    monkeypatch.setattr(HandleCache, "region_budget", property(lambda self: budget))
    logs = [open_log(tmp_path, f"topic-{i}") for i in range(5)]
    for log in logs:
        log.append(batch(3))
    results = [log.read_records(0, 1 << 20) for log in logs]
    regions = [r.records for r in results if isinstance(r.records, FileRegion)]
    assert len(regions) == 3 and cache.regions == budget
    assert all(isinstance(r.records, bytes) for r in results[3:])
    assert results[-1].records == logs[-1].read(0, 1 << 20)
    for region in regions:
        region.release()
    assert cache.regions == budget - 3
    again = logs[-1].read_records(0, 1 << 20).records  # the budget is back
    assert isinstance(again, FileRegion)
    again.release()
