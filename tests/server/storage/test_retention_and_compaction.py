"""Retention by time and size, time-based rolling, and compaction of keyed logs."""

from __future__ import annotations

import pytest

from kcli.protocol.records import InvalidRecordError, build_batch, decode_records, iter_batches
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import LogManager

from .helpers import batch, open_log, read_all

DAY = 86_400_000


def test_retention_ms_deletes_old_closed_segments_only(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2, retention_ms=1000)
    for i in range(7):
        log.append(batch(1, size=100, ts=10_000 + 1000 * i))
    log.high_watermark = log.log_end_offset
    # segments: [0,1] [2,3] [4,5] [6]; max timestamps 11000, 13000, 15000, 16000
    assert [s.base_offset for s in log.segments] == [0, 2, 4, 6]
    now = 14_500  # segments ending at 11000 and 13000 are older than 1000 ms
    assert log.apply_retention(now) == 2
    assert [s.base_offset for s in log.segments] == [4, 6]
    assert log.log_start_offset == 4
    assert [r.offset for r in read_all(log)] == [4, 5, 6]
    assert not (tmp_path / "topic-0" / "00000000000000000000.log").exists()


def test_retention_never_passes_the_high_watermark(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2, retention_ms=0)
    for i in range(6):
        log.append(batch(1, size=100, ts=i))
    log.high_watermark = 3  # only the first segment [0,1] lies wholly below it
    assert log.apply_retention(10**12) == 1
    assert log.log_start_offset == 2


def test_retention_of_everything_rolls_a_new_active_segment(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2, retention_ms=1000)
    for i in range(3):
        log.append(batch(1, size=100, ts=i))
    log.high_watermark = log.log_end_offset
    assert log.apply_retention(10**9) == 2
    assert [(s.base_offset, s.size_bytes) for s in log.segments] == [(3, 0)]
    assert log.log_start_offset == log.log_end_offset == 3
    assert log.append(batch(1)).base_offset == 3


def test_retention_bytes(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2, retention_ms=-1, retention_bytes=len(one) * 3)
    for i in range(7):
        log.append(batch(1, size=100, ts=i))
    log.high_watermark = log.log_end_offset
    total = log.size_bytes
    deleted = log.apply_retention(0)
    # delete oldest segments while what remains is still >= retention.bytes
    assert deleted == (total - len(one) * 3) // (len(one) * 2)
    assert log.size_bytes >= len(one) * 3
    assert log.log_start_offset == 2 * deleted


def test_compact_policy_disables_time_retention(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2, retention_ms=0, cleanup_policy="compact")
    for i in range(5):
        log.append(batch(1, size=100, ts=i))
    log.high_watermark = log.log_end_offset
    assert log.apply_retention(10**12) == 0


def test_time_based_roll(tmp_path):
    log = open_log(tmp_path, segment_ms=1000)
    log.append(batch(1, ts=5000))
    log.append(batch(1, ts=5500))
    assert len(log.segments) == 1
    log.append(batch(1, ts=6001))  # more than segment.ms after the segment's first batch
    assert [s.base_offset for s in log.segments] == [0, 2]
    assert not log.maybe_roll_by_time(6500)
    assert log.maybe_roll_by_time(7002)
    assert [s.base_offset for s in log.segments] == [0, 2, 3]


def keyed(key: bytes, value: bytes | None, ts: int) -> bytes:
    return build_batch([(key, value, [], ts)])


def test_compaction_keeps_latest_per_key_with_offsets(tmp_path):
    one = keyed(b"a", b"v00", 0)
    log = open_log(tmp_path, segment_bytes=len(one) * 3, cleanup_policy="compact", delete_retention_ms=1000)
    writes = [(b"a", b"v00"), (b"b", b"v01"), (b"a", b"v02"), (b"c", b"v03"), (b"b", None), (b"d", b"v05"),
              (b"a", b"v06"), (b"e", b"v07"), (b"c", b"v08"), (b"f", b"v09")]  # fmt: skip
    for i, (k, v) in enumerate(writes):
        log.append(keyed(k, v, 10_000 + i))
    log.high_watermark = log.log_end_offset
    before_end = log.log_end_offset
    active_base = log.segments[-1].base_offset
    stats = log.compact(now_ms=10_005)  # tombstones are recent: kept
    latest = {}
    for offset, (k, _) in enumerate(writes):
        if offset < active_base:
            latest[k] = offset
    expected = sorted(
        [o for o in range(active_base) if latest[writes[o][0]] == o] + list(range(active_base, len(writes)))
    )
    assert [r.offset for r in read_all(log)] == expected
    assert stats.records_removed == active_base - len(latest)
    assert log.log_end_offset == before_end
    assert {r.offset: r.value for r in read_all(log)}[4] is None  # the tombstone of b survives for now
    # after delete.retention.ms the tombstone goes too
    assert log.needs_compaction(10_000 + 5 + 1001)
    log.compact(now_ms=10_000 + 5 + 1001)
    assert 4 not in [r.offset for r in read_all(log)]
    # the cleaned segments are well-formed on disk and survive a reopen
    log.close()
    reopened = open_log(tmp_path, segment_bytes=len(one) * 3, cleanup_policy="compact")
    assert [r.offset for r in read_all(reopened)] == [o for o in expected if o != 4]
    assert reopened.read(1, 1000)  # offset 1 was removed: the read starts at the next record


def test_compaction_respects_min_lag_and_rewrites_multi_record_batches(tmp_path):
    log = open_log(tmp_path, cleanup_policy="compact", min_compaction_lag_ms=100)
    log.append(build_batch([(b"x", b"1", [], 1), (b"y", b"1", [], 1), (b"x", b"2", [], 2)], compression=1))
    log.roll()
    log.append(keyed(b"y", b"2", 3))
    log.roll()
    log.high_watermark = log.log_end_offset
    assert log.compact(now_ms=50).records_removed == 0  # too young
    stats = log.compact(now_ms=1000)
    assert stats.records_removed == 2 and stats.segments_rewritten == 2
    assert [s.base_offset for s in log.segments] == [0, 4]  # both closed segments merged into one
    records = read_all(log)
    assert [(r.offset, r.key, r.value) for r in records] == [(2, b"x", b"2"), (3, b"y", b"2")]
    first = next(h for _, h in iter_batches(log.read(0, 1000)))
    assert (first.base_offset, first.last_offset, first.compression, first.record_count) == (0, 2, 1, 1)


def test_log_manager_load_create_delete_and_maintenance(tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b"]
    manager = LogManager(dirs, LogConfig(retention_ms=1000, segment_bytes=300))
    assert manager.load() == {}
    logs = [manager.create("t-with-dash", p, manager.default_config) for p in range(4)]
    assert sorted(len(list(d.iterdir())) for d in dirs) == [2, 2]  # spread evenly
    assert manager.create("t-with-dash", 0, manager.default_config) is logs[0]
    for i in range(10):
        logs[0].append(batch(1, size=100, ts=i))
    logs[0].high_watermark = logs[0].log_end_offset
    manager.run_maintenance(now_ms=10**9)
    assert logs[0].log_start_offset > 0
    manager.delete("t-with-dash", 1)
    assert manager.get("t-with-dash", 1) is None
    assert not any((d / "t-with-dash-1").exists() for d in dirs)
    manager.close_all()
    again = LogManager(dirs, LogConfig())
    loaded = again.load()
    assert sorted(loaded) == [("t-with-dash", 0), ("t-with-dash", 2), ("t-with-dash", 3)]
    assert loaded[("t-with-dash", 0)].log_start_offset == logs[0].log_start_offset
    assert loaded[("t-with-dash", 0)].log_end_offset == 10


def test_log_config_from_topic_configs():
    defaults = LogConfig(retention_ms=5)
    cfg = LogConfig.from_topic_configs(
        {"cleanup.policy": "[delete, compact]", "segment.bytes": "1000", "min.cleanable.dirty.ratio": "0.1",
         "message.timestamp.type": "LogAppendTime", "unknown.key": "x"},
        defaults,
    )  # fmt: skip
    assert cfg.cleanup_policy == "compact,delete" and cfg.compact and cfg.delete
    assert cfg.segment_bytes == 1000 and cfg.retention_ms == 5 and cfg.min_cleanable_dirty_ratio == 0.1
    assert cfg.log_append_time


def test_read_skips_a_segment_emptied_by_compaction(tmp_path):
    one = keyed(b"k", b"old", 1)
    # two batches fit a segment, three do not: the cleaner cannot merge the two segments
    log = open_log(tmp_path, cleanup_policy="compact", segment_bytes=len(one) * 2 + 10)
    log.append(keyed(b"k", b"old", 1))
    log.append(keyed(b"k", b"older?", 2))
    log.roll()
    log.append(keyed(b"k", b"new", 3))
    log.roll()
    log.high_watermark = log.log_end_offset
    assert log.compact(now_ms=10).records_removed == 2
    assert log.segments[0].size_bytes == 0
    data = log.read(0, 1000)
    assert [(r.offset, r.value) for r in decode_records(data)] == [(2, b"new")]


def test_read_skips_several_segments_emptied_by_compaction(tmp_path):
    """A read that starts in an emptied segment goes on through the next emptied one (whose offsets
    are all above the one asked for) to the first kept batch: a hole, never CORRUPT_MESSAGE."""
    one = keyed(b"k", b"v0", 1)
    log = open_log(tmp_path, cleanup_policy="compact", segment_bytes=len(one) * 2 + 10)
    for i in range(3):
        log.append(keyed(b"k", b"v%d" % (2 * i), 2 * i))
        log.append(keyed(b"k", b"v%d" % (2 * i + 1), 2 * i + 1))
        log.roll()
    log.high_watermark = log.log_end_offset
    assert log.compact(now_ms=10).records_removed == 5
    assert [s.size_bytes == 0 for s in log.segments[:2]] == [True, True]
    assert [(r.offset, r.value) for r in decode_records(log.read(0, 1000))] == [(5, b"v5")]
    assert [(r.offset, r.value) for r in decode_records(log.read(3, 1000))] == [(5, b"v5")]


def test_compaction_keeps_log_append_time(tmp_path):
    log = open_log(tmp_path, cleanup_policy="compact", message_timestamp_type="LogAppendTime")
    log.append(build_batch([(b"a", b"1"), (b"b", b"1"), (b"a", b"2")]), now_ms=777)
    log.roll()
    log.high_watermark = log.log_end_offset
    log.compact(now_ms=1000)
    records = read_all(log)
    assert [(r.offset, r.timestamp, r.timestamp_type) for r in records] == [(1, 777, 1), (2, 777, 1)]


def test_compacted_topics_reject_keyless_records(tmp_path):
    log = open_log(tmp_path, cleanup_policy="compact")
    with pytest.raises(InvalidRecordError) as exc:
        log.append(build_batch([(b"k", b"v"), (None, b"v")], compression=2))
    assert exc.value.error_code == 87
    assert log.log_end_offset == 0
    assert log.append(build_batch([(b"k", None)])).base_offset == 0


def test_appends_and_reads_proceed_while_the_cleaner_works(tmp_path, monkeypatch):
    import threading

    from kcli.server.storage import cleaner

    log = open_log(tmp_path, cleanup_policy="compact")
    for i in range(6):
        log.append(keyed(b"k%d" % (i % 2), b"v%d" % i, i))
    log.roll()
    log.high_watermark = log.log_end_offset
    inside, release = threading.Event(), threading.Event()
    real_decode = cleaner.decode_batch

    def paused_decode(raw):
        inside.set()
        assert release.wait(30)
        return real_decode(raw)

    monkeypatch.setattr(cleaner, "decode_batch", paused_decode)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("stats", log.compact(now_ms=100)))
    worker.start()
    try:
        assert inside.wait(30)
        # the cleaner is mid-way: the log still takes appends and serves reads
        assert log.append(keyed(b"k0", b"during", 50)).base_offset == 6
        assert len(decode_records(log.read(0, 1 << 20))) == 6
    finally:
        release.set()
        worker.join(30)
    assert result["stats"].records_removed == 4
    assert [(r.offset, r.value) for r in read_all(log)] == [(4, b"v4"), (5, b"v5"), (6, b"during")]


def test_cleaner_merges_small_segments_up_to_segment_bytes(tmp_path):
    one = keyed(b"k00", b"v000", 0)
    log = open_log(tmp_path, cleanup_policy="compact", segment_bytes=len(one) * 4)
    for i in range(20):  # 10 distinct keys, each written twice
        log.append(keyed(b"k%02d" % (i % 10), b"v%03d" % i, i))
    log.roll()
    log.high_watermark = log.log_end_offset
    assert len(log.segments) == 6  # 5 closed segments of 4 batches + the empty active one
    stats = log.compact(now_ms=100)
    assert stats.records_removed == 10
    # groups are formed from the sizes before cleaning (as Kafka does): full segments stay apart
    assert len(log.segments) == 6
    # the next round merges what cleaning shrank, never beyond segment.bytes
    again = log.compact(now_ms=100)
    assert again.records_removed == 0 and again.segments_rewritten > 1
    assert len(log.segments) == 1 + -(-10 // 4)  # ceil(10 survivors / 4 per segment) + active
    assert all(s.size_bytes <= len(one) * 4 for s in log.segments)
    assert [(r.offset, r.value) for r in read_all(log)] == [(i, b"v%03d" % i) for i in range(10, 20)]
    files = sorted(p.name for p in (tmp_path / "topic-0").glob("*.log"))
    assert files == [f"{s.base_offset:020d}.log" for s in log.segments]
    log.close()
    reopened = open_log(tmp_path, cleanup_policy="compact", segment_bytes=len(one) * 4)
    assert [r.offset for r in read_all(reopened)] == list(range(10, 20))


def test_crash_after_a_merged_swap_removes_the_overlapped_segments(tmp_path):
    one = keyed(b"k0", b"v", 0)
    log = open_log(tmp_path, segment_bytes=len(one) * 2)
    for i in range(6):
        log.append(keyed(b"k%d" % i, b"v", i))
    log.close()
    directory = tmp_path / "topic-0"
    assert sorted(p.name for p in directory.glob("*.log")) == [f"{b:020d}.log" for b in (0, 2, 4)]
    # a cleaner merged segments 0 and 2 into 0.log.swap, then the process died
    merged = b"".join((directory / f"{b:020d}.log").read_bytes() for b in (0, 2))
    (directory / f"{0:020d}.log.swap").write_bytes(merged)
    reopened = open_log(tmp_path, segment_bytes=len(one) * 2)
    assert [s.base_offset for s in reopened.segments] == [0, 4]
    assert [r.offset for r in read_all(reopened)] == list(range(6))


def test_maintenance_skips_a_log_deleted_meanwhile(tmp_path):
    manager = LogManager([tmp_path], LogConfig(retention_ms=0, cleanup_policy="compact,delete"))
    manager.load()
    log = manager.create("gone", 0, manager.default_config)
    log.append(keyed(b"k", b"v", 0))
    log.roll()
    log.high_watermark = log.log_end_offset
    manager.delete("gone", 0)
    assert log.apply_retention(10**12) == 0
    assert log.compact(10**12).records_removed == 0
    assert not log.maybe_roll_by_time(10**12)
    assert not (tmp_path / "gone-0").exists() and not (tmp_path / "gone-0-delete").exists()
