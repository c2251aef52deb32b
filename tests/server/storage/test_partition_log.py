"""PartitionLog: append, read, segments on disk, timestamps, idempotence, deletion."""

from __future__ import annotations

import itertools
import struct

import pytest

from kcli.protocol.records import build_batch, decode_records, iter_batches, parse_header
from kcli.server.storage.errors import OffsetOutOfRangeError
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.producer_state import (
    PRODUCER_SNAPSHOT_FILE,
    InvalidProducerEpochError,
    OutOfOrderSequenceError,
)

from .helpers import batch, open_log, read_all


def test_append_assigns_consecutive_offsets_and_writes_wire_bytes(tmp_path):
    log = open_log(tmp_path)
    sizes = [3, 1, 5]
    results = [log.append(batch(n, tag=f"b{i}-")) for i, n in enumerate(sizes)]
    expected_bases = [sum(sizes[:i]) for i in range(len(sizes))]
    assert [r.base_offset for r in results] == expected_bases
    assert [r.last_offset for r in results] == [b + n - 1 for b, n in zip(expected_bases, sizes, strict=True)]
    assert all(r.log_append_time == -1 and not r.duplicate for r in results)
    assert log.log_end_offset == sum(sizes)
    segment_file = tmp_path / "topic-0" / "00000000000000000000.log"
    data = segment_file.read_bytes()
    assert [h.base_offset for _, h in iter_batches(data)] == expected_bases
    assert [r.offset for r in decode_records(data)] == list(range(sum(sizes)))
    assert log.size_bytes == len(data)
    assert (tmp_path / "topic-0" / "00000000000000000000.index").exists()
    assert (tmp_path / "topic-0" / "00000000000000000000.timeindex").exists()


def test_leader_epoch_is_stamped(tmp_path):
    log = open_log(tmp_path)
    log.append(batch(), leader_epoch=4)
    assert parse_header(log.read(0, 1000)).partition_leader_epoch == 4
    assert log.epoch_cache.entries == [(4, 0)]


def test_read_returns_whole_batches_within_max_bytes(tmp_path):
    log = open_log(tmp_path)
    batches = [batch(2, tag=f"{i}-") for i in range(10)]
    for b in batches:
        log.append(b)
    size = len(batches[0])
    data = log.read(5, size * 3 + size // 2)  # offset 5 is inside the third batch
    headers = [h for _, h in iter_batches(data)]
    assert len(data) == size * 3
    assert [h.base_offset for h in headers] == [4, 6, 8]
    # first batch whole even when larger than max_bytes, unless min_one_batch is off
    assert len(log.read(0, 10)) == size
    assert log.read(0, 10, min_one_batch=False) == b""


def test_read_respects_upper_bound_and_ends(tmp_path):
    log = open_log(tmp_path)
    for i in range(4):
        log.append(batch(2, tag=f"{i}-"))
    data = log.read(0, 1 << 20, upper_bound=4)
    assert [h.base_offset for _, h in iter_batches(data)] == [0, 2]
    assert log.read(4, 1 << 20, upper_bound=4) == b""
    assert log.read(log.log_end_offset, 100) == b""
    with pytest.raises(OffsetOutOfRangeError) as exc:
        log.read(log.log_end_offset + 1, 100)
    assert exc.value.error_code == 1
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1, 100)


def test_segments_roll_by_size_and_read_across_them(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 3, index_interval_bytes=len(one))
    for i in range(10):
        log.append(batch(1, size=100, tag=f"r{i}-", ts=1000 + i))
    bases = [s.base_offset for s in log.segments]
    assert bases == [0, 3, 6, 9]
    files = sorted(p.name for p in (tmp_path / "topic-0").glob("*.log"))
    assert files == [f"{b:020d}.log" for b in bases]
    records = read_all(log)
    assert [r.offset for r in records] == list(range(10))
    assert [r.value[:3] for r in records] == [f"r{i}-".encode()[:3] for i in range(10)]
    # a read never spans two segments
    assert [h.base_offset for _, h in iter_batches(log.read(1, 1 << 20))] == [1, 2]


def test_offset_index_file_matches_kafka_format(tmp_path):
    b = batch(2, size=200)
    interval = len(b) * 2
    log = open_log(tmp_path, index_interval_bytes=interval)
    for i in range(20):
        log.append(batch(2, size=200, ts=5000 + 10 * i))
    raw = (tmp_path / "topic-0" / "00000000000000000000.index").read_bytes()
    entries = list(struct.iter_unpack(">ii", raw))
    assert entries, "an index entry every index.interval.bytes"
    data = (tmp_path / "topic-0" / "00000000000000000000.log").read_bytes()
    batches = dict(iter_batches(data))
    for rel, pos in entries:
        assert batches[pos].last_offset == rel  # Kafka indexes the batch's last offset
    # entries are spaced by more than index.interval.bytes
    positions = [0] + [pos for _, pos in entries]
    assert all(b - a > interval for a, b in itertools.pairwise(positions))
    times = list(
        struct.iter_unpack(">qi", (tmp_path / "topic-0" / "00000000000000000000.timeindex").read_bytes())
    )
    assert len(times) == len(entries)
    assert all(ts == 5000 + 10 * (off // 2) + 1 for ts, off in times)


def test_offset_for_timestamp_and_max_timestamp(tmp_path):
    log = open_log(tmp_path, segment_bytes=400, index_interval_bytes=100)
    # timestamps 1000, 1010, ... with 3 records per batch at +0, +1, +2
    for i in range(15):
        log.append(batch(3, ts=1000 + 10 * i))
    assert len(log.segments) > 2
    assert log.offset_for_timestamp(0) == (0, 1000)
    assert log.offset_for_timestamp(1052) == (17, 1052)
    assert log.offset_for_timestamp(1053) == (18, 1060)
    assert log.offset_for_timestamp(1000 + 10 * 14 + 3) is None
    assert log.max_timestamp() == (44, 1000 + 10 * 14 + 2)


def test_max_timestamp_finds_the_record_inside_a_batch(tmp_path):
    log = open_log(tmp_path)
    assert log.max_timestamp() == (-1, -1)
    log.append(build_batch([(b"a", b"1", [], 50), (b"b", b"2", [], 90), (b"c", b"3", [], 70)]))
    assert log.max_timestamp() == (1, 90)


def test_log_append_time(tmp_path):
    log = open_log(tmp_path, message_timestamp_type="LogAppendTime")
    result = log.append(batch(3, ts=5), now_ms=123_456)
    assert result.log_append_time == 123_456
    assert {r.timestamp for r in read_all(log)} == {123_456}
    assert log.offset_for_timestamp(100_000) == (0, 123_456)


def test_validation_errors_append_nothing(tmp_path):
    log = open_log(tmp_path, max_message_bytes=200)
    with pytest.raises(Exception) as exc:
        log.append(batch(1, size=500))
    assert exc.value.error_code == 10
    bad = bytearray(batch(1))
    bad[-1] ^= 1
    with pytest.raises(Exception) as exc:
        log.append(bytes(bad))
    assert exc.value.error_code == 2
    assert log.log_end_offset == 0 and log.size_bytes == 0


def test_idempotent_duplicate_returns_original_offsets(tmp_path):
    log = open_log(tmp_path)
    log.append(batch(2))
    first = log.append(batch(3, producer_id=1, producer_epoch=0, base_sequence=0))
    second = log.append(batch(2, producer_id=1, producer_epoch=0, base_sequence=3))
    retry = log.append(batch(3, producer_id=1, producer_epoch=0, base_sequence=0))
    assert (retry.base_offset, retry.last_offset, retry.duplicate) == (
        first.base_offset,
        first.last_offset,
        True,
    )
    assert log.log_end_offset == second.last_offset + 1
    with pytest.raises(OutOfOrderSequenceError) as exc:
        log.append(batch(1, producer_id=1, producer_epoch=0, base_sequence=7))
    assert exc.value.error_code == 45
    # a new epoch restarts at 0; the old epoch is then fenced
    log.append(batch(1, producer_id=1, producer_epoch=1, base_sequence=0))
    with pytest.raises(InvalidProducerEpochError) as exc:
        log.append(batch(1, producer_id=1, producer_epoch=0, base_sequence=5))
    assert exc.value.error_code == 47
    with pytest.raises(OutOfOrderSequenceError):
        log.append(batch(1, producer_id=1, producer_epoch=2, base_sequence=3))
    # an unknown producer may start anywhere (its state may have expired)
    assert not log.append(batch(1, producer_id=2, producer_epoch=0, base_sequence=40)).duplicate


def test_producer_state_survives_restart(tmp_path, request):
    for clean in (True, False):
        path = tmp_path / str(clean)
        log = open_log(path)
        r = log.append(batch(2, producer_id=5, producer_epoch=0, base_sequence=0))
        if clean:
            log.close()
        log = open_log(path)
        dup = log.append(batch(2, producer_id=5, producer_epoch=0, base_sequence=0))
        assert dup.duplicate and dup.base_offset == r.base_offset
        assert log.append(batch(1, producer_id=5, producer_epoch=0, base_sequence=2)).base_offset == 2
        log.close()


def test_clean_close_snapshots_producer_state_only_of_logs_that_hold_something(tmp_path):
    empty = open_log(tmp_path / "empty")
    empty.close()
    assert not (tmp_path / "empty" / "topic-0" / PRODUCER_SNAPSHOT_FILE).exists()
    used = open_log(tmp_path / "used")
    used.append(batch(1, producer_id=9, producer_epoch=0, base_sequence=0))
    used.close()
    assert (tmp_path / "used" / "topic-0" / PRODUCER_SNAPSHOT_FILE).exists()
    reopened = open_log(tmp_path / "empty")  # no snapshot: rebuilt from its (empty) segments
    assert reopened.producer_state.producers == {} and reopened.log_end_offset == 0
    reopened.close()


def test_delete_records_before_moves_start_and_survives_restart(tmp_path):
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one) * 2)
    for i in range(10):
        log.append(batch(1, size=100, tag=f"{i}-"))
    log.high_watermark = log.log_end_offset
    assert log.delete_records_before(5) == 5
    assert [s.base_offset for s in log.segments] == [4, 6, 8]
    with pytest.raises(OffsetOutOfRangeError):
        log.read(4, 100)
    assert read_all(log)[0].offset == 5
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records_before(11)
    log.close()
    reopened = open_log(tmp_path, segment_bytes=len(one) * 2)
    assert reopened.log_start_offset == 5
    assert [r.offset for r in read_all(reopened)] == list(range(5, 10))


def test_truncate_to(tmp_path):
    one = batch(2, size=50)
    log = open_log(tmp_path, segment_bytes=len(one) * 3)
    for i in range(10):
        log.append(batch(2, size=50, tag=f"{i}-", producer_id=3, producer_epoch=0, base_sequence=2 * i))
    log.high_watermark = log.log_end_offset
    log.truncate_to(9)  # inside the batch 8..9: that batch goes
    assert log.log_end_offset == 8 and log.high_watermark == 8
    assert [r.offset for r in read_all(log)] == list(range(8))
    # the producer continues from the surviving state
    assert log.append(batch(2, producer_id=3, producer_epoch=0, base_sequence=8)).base_offset == 8
    log.truncate_to(0)
    assert log.log_end_offset == 0 and read_all(log) == []
    assert log.append(batch(1)).base_offset == 0


def test_update_config_and_delete(tmp_path):
    log = open_log(tmp_path)
    log.append(batch())
    log.update_config(LogConfig(max_message_bytes=100))
    with pytest.raises(Exception) as exc:
        log.append(batch(1, size=200))
    assert exc.value.error_code == 10
    log.delete()
    assert not (tmp_path / "topic-0").exists()


def test_high_watermark_is_checkpointed(tmp_path):
    log = open_log(tmp_path)
    for _ in range(3):
        log.append(batch(2))
    log.high_watermark = 4
    log.close()
    assert (tmp_path / "replication-offset-checkpoint").read_text().splitlines() == ["0", "1", "topic 0 4"]
    assert open_log(tmp_path).high_watermark == 4


def test_read_matches_a_reference_walk_of_the_segment_files(tmp_path):
    """Every (offset, max_bytes, upper_bound) against batches computed from the files themselves."""
    log = open_log(tmp_path, segment_bytes=3000, index_interval_bytes=150)
    for i in range(60):
        log.append(batch(1 + i % 4, size=10 + (i * 37) % 120, tag=f"{i}-"))
    segments = []
    for info in log.segments:
        data = (tmp_path / "topic-0" / f"{info.base_offset:020d}.log").read_bytes()
        segments.append([(h.base_offset, h.last_offset, data[p : p + h.size]) for p, h in iter_batches(data)])
    end = log.log_end_offset
    for bound in (end, end - 5, 17):
        for offset in range(0, end, 3):
            for max_bytes in (1, 200, 700, 5000):
                seg = next(s for s in reversed(segments) if s[0][0] <= offset)
                expected = b""
                for base, last, raw in seg:
                    if last < offset:
                        continue
                    if base >= bound or (expected and len(expected) + len(raw) > max_bytes):
                        break
                    expected += raw
                if offset >= bound:
                    expected = b""
                assert log.read(offset, max_bytes, upper_bound=bound) == expected, (offset, max_bytes, bound)


def test_closed_segments_keep_one_descriptor(tmp_path):
    import os

    from kcli.server.storage.flusher import default_flusher

    default_flusher().drain()  # its worker thread exists before counting

    before = len(os.listdir("/proc/self/fd"))
    one = batch(1, size=100)
    log = open_log(tmp_path, segment_bytes=len(one))
    for _ in range(30):
        log.append(batch(1, size=100))
    assert len(log.segments) == 30
    default_flusher().drain()  # rolled segments are flushed in the background
    # the log file of every segment, plus both index files of the active one
    assert len(os.listdir("/proc/self/fd")) - before == 30 + 2
    log.close()
    assert len(os.listdir("/proc/self/fd")) == before
    reopened = open_log(tmp_path, segment_bytes=len(one))
    assert len(os.listdir("/proc/self/fd")) - before <= 30 + 2  # index files open for the active one at most
    assert reopened.append(batch(1, size=100)).base_offset == 30
    reopened.close()
