"""Recovery on open: torn writes, corruption, lost indexes, clean shutdown, and a real kill -9."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap

import pytest

from kcli.protocol.records import iter_batches
from kcli.server.storage.checkpoints import read_checkpoint
from kcli.server.storage.errors import CorruptBatchError
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import CLEAN_SHUTDOWN_FILE, LogManager
from kcli.server.storage.partition_log import PartitionLog

from .helpers import batch, open_log, read_all


def fill(tmp_path, n=20, **config):
    log = open_log(tmp_path, **config)
    for i in range(n):
        log.append(batch(2, size=60, tag=f"{i}-", ts=1000 + i))
    return log


def active_log_file(log):
    return log.directory / f"{log.segments[-1].base_offset:020d}.log"


def assert_all_readable(log, count):
    records = read_all(log)
    assert [r.offset for r in records] == list(range(count))
    for r in records:
        assert r.value.startswith(f"{r.offset // 2}-{r.offset % 2}".encode())


def test_half_written_batch_is_truncated(tmp_path):
    log = fill(tmp_path)
    path = active_log_file(log)
    good_size = path.stat().st_size
    extra = batch(2, size=60)
    with open(path, "ab") as f:
        f.write(extra[: len(extra) // 2])
    reopened = open_log(tmp_path)
    assert reopened.truncated_on_recovery == len(extra) // 2
    assert path.stat().st_size == good_size
    assert reopened.log_end_offset == 40
    assert_all_readable(reopened, 40)
    assert reopened.append(batch(1)).base_offset == 40


def test_garbage_tail_is_truncated(tmp_path):
    log = fill(tmp_path)
    path = active_log_file(log)
    good_size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(os.urandom(500))
    reopened = open_log(tmp_path)
    assert path.stat().st_size == good_size
    assert_all_readable(reopened, 40)


def test_corrupt_batch_in_the_middle_truncates_from_there(tmp_path):
    log = fill(tmp_path)
    path = active_log_file(log)
    data = bytearray(path.read_bytes())
    positions = [pos for pos, _ in iter_batches(data)]
    victim = positions[7]
    data[victim + 70] ^= 0xFF  # inside the records: CRC mismatch
    path.write_bytes(bytes(data))
    reopened = open_log(tmp_path)
    assert path.stat().st_size == victim
    assert reopened.log_end_offset == 14
    assert_all_readable(reopened, 14)


def test_missing_and_corrupt_indexes_of_closed_segments_are_rebuilt(tmp_path):
    config = {"segment_bytes": 600, "index_interval_bytes": 100}
    log = fill(tmp_path, **config)
    log.close()
    directory = tmp_path / "topic-0"
    index_files = sorted(directory.glob("*.index"))
    assert len(index_files) > 3
    originals = {p.name: p.read_bytes() for p in directory.glob("*index")}
    index_files[0].unlink()
    with open(index_files[1], "ab") as f:
        f.write(b"\x01\x02\x03")  # partial entry
    (directory / index_files[2].name.replace(".index", ".timeindex")).write_bytes(b"")
    reopened = open_log(tmp_path, **config)
    assert_all_readable(reopened, 40)
    reopened.close()
    assert {p.name: p.read_bytes() for p in directory.glob("*index")} == originals


def test_clean_shutdown_marker_and_unclean_restart(tmp_path):
    manager = LogManager([tmp_path], LogConfig())
    manager.load()
    log = manager.create("my-topic.v2", 3, LogConfig())
    for i in range(5):
        log.append(batch(2, size=60, tag=f"{i}-"))
    manager.close_all()
    assert (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    manager = LogManager([tmp_path], LogConfig())
    logs = manager.load()
    assert not (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    assert set(logs) == {("my-topic.v2", 3)}
    log = logs[("my-topic.v2", 3)]
    assert log.log_end_offset == 10
    assert_all_readable(log, 10)
    # crash now (no close): a torn write is recovered without the marker
    path = active_log_file(log)
    with open(path, "ab") as f:
        f.write(batch(1)[:30])
    manager = LogManager([tmp_path], LogConfig())
    log = manager.load()[("my-topic.v2", 3)]
    assert log.truncated_on_recovery == 30
    assert_all_readable(log, 10)


def test_interrupted_cleaner_swap_is_completed(tmp_path):
    log = fill(tmp_path, n=4)
    log.close()
    directory = tmp_path / "topic-0"
    original = (directory / "00000000000000000000.log").read_bytes()
    first_batch_end = next(iter(iter_batches(original)))[1].size
    # a "cleaned" replacement holding only the first batch, left as .swap by a crash
    (directory / "00000000000000000000.log.swap").write_bytes(original[:first_batch_end])
    (directory / "00000000000000000000.index.swap").write_bytes(b"")
    (directory / "00000000000000000000.log.cleaned").write_bytes(b"junk")
    reopened = open_log(tmp_path)
    assert [r.offset for r in read_all(reopened)] == [0, 1]
    assert not list(directory.glob("*.swap")) and not list(directory.glob("*.cleaned"))


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kcli.protocol.records import build_batch
    from kcli.server.storage.log_config import LogConfig
    from kcli.server.storage.partition_log import PartitionLog

    log = PartitionLog.open(Path(sys.argv[1]), LogConfig(segment_bytes=20000, index_interval_bytes=500))
    i = 0
    while True:
        r = log.append(build_batch([(b"k", f"value-{i}".encode().ljust(100, b"."))], timestamp=i))
        print(r.base_offset, flush=True)
        i += 1
    """
)


def test_kill_minus_9_loses_nothing_acknowledged(tmp_path):
    directory = tmp_path / "killed-0"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(directory)], stdout=subprocess.PIPE, text=True)
    acked = []
    try:
        for line in proc.stdout:
            acked.append(int(line))
            if len(acked) >= 500:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert acked == list(range(len(acked)))
    log = open_log(tmp_path, "killed-0", segment_bytes=20000, index_interval_bytes=500)
    assert len(log.segments) > 2
    records = read_all(log)
    assert log.log_end_offset >= len(acked)
    by_offset = {r.offset: r.value for r in records}
    for offset in acked:
        assert by_offset[offset].startswith(f"value-{offset}.".encode())


def test_clean_shutdown_keeps_producer_state_in_a_snapshot(tmp_path):
    manager = LogManager([tmp_path], LogConfig())
    manager.load()
    log = manager.create("idem", 0, LogConfig())
    first = log.append(batch(3, producer_id=8, producer_epoch=2, base_sequence=0))
    manager.close_all()
    snapshot = tmp_path / "idem-0" / "producer-state.json"
    assert snapshot.exists()
    manager = LogManager([tmp_path], LogConfig())
    log = manager.load()[("idem", 0)]
    assert not snapshot.exists()  # consumed: a later crash must not find a stale one
    retry = log.append(batch(3, producer_id=8, producer_epoch=2, base_sequence=0))
    assert retry.duplicate and retry.base_offset == first.base_offset
    assert log.append(batch(1, producer_id=8, producer_epoch=2, base_sequence=3)).base_offset == 3


# --- corrupt batches met by reads, damaged checkpoints ------------------------------------------


def _closed_segment_with_index(tmp_path):
    config = {"segment_bytes": 4000, "index_interval_bytes": 300}
    log = fill(tmp_path, n=60, **config)
    log.close()
    path = tmp_path / "topic-0" / "00000000000000000000.log"
    return config, path


def test_payload_flip_in_a_closed_segment_is_refused_at_read_and_logged_once(tmp_path, caplog):
    config, path = _closed_segment_with_index(tmp_path)
    data = bytearray(path.read_bytes())
    positions = [(pos, h) for pos, h in iter_batches(data)]
    pos, victim = positions[5]
    data[pos + victim.size - 3] ^= 0x01
    path.write_bytes(bytes(data))
    log = PartitionLog.open(tmp_path / "topic-0", LogConfig(**config), clean_shutdown=True)
    served = log.read(0, 1 << 20)  # the valid batches before it, not the damaged one
    assert [h.base_offset for _, h in iter_batches(served)] == [h.base_offset for _, h in positions[:5]]
    for _ in range(3):
        with pytest.raises(CorruptBatchError) as exc:
            log.read(victim.base_offset, 1 << 20)
        assert exc.value.error_code == 2 and f"position {pos}" in str(exc.value)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "topic-0" in errors[0].getMessage()
    # what follows the damaged batch in later segments is still served
    later = log.segments[1].base_offset
    assert read_all(log, later)[0].offset == later


def test_framing_break_in_the_middle_of_a_closed_segment_is_refused_at_read(tmp_path):
    """A batch length damaged before the segment's last index entry passes the start-up check;
    the read that meets it answers an error instead of skipping to the next segment."""
    config, path = _closed_segment_with_index(tmp_path)
    data = bytearray(path.read_bytes())
    pos, victim = [(p, h) for p, h in iter_batches(data)][2]
    struct.pack_into(">i", data, pos + 8, 7)  # a length no batch can have
    path.write_bytes(bytes(data))
    log = PartitionLog.open(tmp_path / "topic-0", LogConfig(**config), clean_shutdown=True)
    assert log.truncated_on_recovery == 0  # nothing cut at start-up
    with pytest.raises(CorruptBatchError):
        log.read(victim.base_offset, 1 << 20)
    after = log.active_segment.base_offset
    assert read_all(log, after)[0].offset == after


def test_damaged_checkpoint_reads_as_empty_with_a_warning(tmp_path, caplog):
    path = tmp_path / "recovery-point-offset-checkpoint"
    path.write_bytes(b"\xff\xfe garbage")
    assert read_checkpoint(path) == {}
    path.write_text("0\n3\ntopic 0 5\n")  # fewer entries than announced
    assert read_checkpoint(path) == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("resetting the recovery checkpoint to 0" in w for w in warnings)
    assert read_checkpoint(tmp_path / "absent") == {} and len(caplog.records) == 2


def test_damaged_leader_epoch_checkpoint_is_rebuilt_from_the_batches(tmp_path, caplog):
    log = open_log(tmp_path)
    log.append(batch(2), leader_epoch=0)
    log.append(batch(2), leader_epoch=3)
    log.close()
    (tmp_path / "topic-0" / "leader-epoch-checkpoint").write_bytes(b"\x00\xff\x00")
    reopened = open_log(tmp_path)
    assert reopened.epoch_cache.entries == [(0, 0), (3, 2)]
    assert any("leader-epoch-checkpoint" in r.getMessage() for r in caplog.records)


def test_follower_append_allows_a_gap_but_never_going_back(tmp_path):
    leader = open_log(tmp_path, name="leader-0")
    for i in range(4):
        leader.append(batch(1, tag=f"{i}-"))
    follower = open_log(tmp_path, name="follower-0")
    follower.append_as_follower(leader.read(0, 1 << 20, upper_bound=1))
    assert follower.log_end_offset == 1
    assert follower.append_as_follower(leader.read(3, 1 << 20)) == 4  # offsets 1-2 never came
    with pytest.raises(ValueError):
        follower.append_as_follower(leader.read(2, 1 << 20, upper_bound=3))
