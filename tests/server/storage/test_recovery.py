"""Recovery on open: torn writes, corruption, lost indexes, clean shutdown, and a real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from kcli.server.protocol.records import iter_batches
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import CLEAN_SHUTDOWN_FILE, LogManager

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
    from kcli.server.protocol.records import build_batch
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
