"""Unit tests of the storage building blocks: indexes, producer state, checkpoints, epoch cache."""

from __future__ import annotations

import struct

import pytest

from kcli.protocol.records import parse_header
from kcli.server.storage.checkpoints import (
    LogDirCheckpoints,
    parse_partition_dir,
    read_checkpoint,
    write_checkpoint,
)
from kcli.server.storage.index import IndexCorruptError, OffsetIndex, TimeIndex
from kcli.server.storage.leader_epoch import LeaderEpochCache
from kcli.server.storage.producer_state import (
    InvalidProducerEpochError,
    OutOfOrderSequenceError,
    ProducerStateManager,
)

from .helpers import batch


def test_offset_index_lookup_and_file_format(tmp_path):
    index = OffsetIndex(tmp_path / "00000000000000000100.index", 100)
    index.reset()
    entries = [(105, 400), (110, 900), (130, 5000)]
    for off, pos in entries:
        index.append(off, pos)
    assert index.path.read_bytes() == b"".join(struct.pack(">ii", o - 100, p) for o, p in entries)
    assert index.lookup(99) == (100, 0)
    assert index.lookup(105) == (105, 400)
    assert index.lookup(129) == (110, 900)
    assert index.lookup(10**9) == (130, 5000)
    assert index.floor_position(899) == 400
    index.truncate_to_position(900)
    assert list(index.offsets) == [105]
    assert len(index.path.read_bytes()) == 8
    reloaded = OffsetIndex(index.path, 100)
    reloaded.load(log_size=1000)
    assert reloaded.lookup(200) == (105, 400)


@pytest.mark.parametrize(
    "raw",
    [
        struct.pack(">ii", 5, 100) + b"\x00",  # partial entry
        struct.pack(">ii", 5, 100) + struct.pack(">ii", 3, 200),  # offsets go backwards
        struct.pack(">ii", 5, 5000),  # position beyond the log
    ],
)
def test_offset_index_sanity_check(tmp_path, raw):
    path = tmp_path / "00000000000000000000.index"
    path.write_bytes(raw)
    with pytest.raises(IndexCorruptError):
        OffsetIndex(path, 0).load(log_size=1000)


def test_time_index_only_grows(tmp_path):
    index = TimeIndex(tmp_path / "00000000000000000000.timeindex", 0)
    index.reset()
    index.maybe_append(1000, 3)
    index.maybe_append(900, 5)  # not larger: ignored
    index.maybe_append(2000, 9)
    assert index.path.read_bytes() == struct.pack(">qi", 1000, 3) + struct.pack(">qi", 2000, 9)
    assert index.lookup(999) == (-1, 0)
    assert index.lookup(1500) == (1000, 3)
    index.truncate_to_offset(9)
    assert index.last_entry() == (1000, 3)


def header(n=1, *, pid=1, epoch=0, seq=0, offset=0):
    return parse_header(
        batch(n, base_offset=offset, producer_id=pid, producer_epoch=epoch, base_sequence=seq)
    )


def test_producer_state_rules():
    state = ProducerStateManager()
    h = header(3, seq=0)
    state.check([h])
    state.update(h, 10)
    assert state.find_duplicate([header(3, seq=0)]).first_offset == 10
    assert state.find_duplicate([header(2, seq=0)]) is None  # same start, different range
    with pytest.raises(OutOfOrderSequenceError):
        state.check([header(1, seq=4)])
    state.check([header(1, seq=3), header(2, seq=4)])  # consecutive within one request
    with pytest.raises(OutOfOrderSequenceError):
        state.check([header(1, seq=3), header(1, seq=5)])
    with pytest.raises(OutOfOrderSequenceError):
        state.check([header(1, epoch=1, seq=1)])
    state.check([header(1, epoch=1, seq=0)])
    non_idempotent = parse_header(batch(2))
    state.check([non_idempotent])
    state.update(non_idempotent, 50)
    assert set(state.producers) == {1}


def test_producer_state_keeps_five_batches_and_wraps_sequences():
    state = ProducerStateManager()
    for i in range(7):
        state.update(header(1, seq=i, offset=i), i)
    assert state.find_duplicate([header(1, seq=1)]) is None  # evicted: only the last five are kept
    assert state.find_duplicate([header(1, seq=2)]).first_offset == 2
    top = 0x7FFFFFFF
    state.update(header(1, pid=2, seq=top), 100)
    state.check([header(1, pid=2, seq=0)])  # after int32 max comes 0


def test_producer_state_fences_older_epochs_and_evicts():
    state = ProducerStateManager()
    state.update(header(1, epoch=3), 0)
    with pytest.raises(InvalidProducerEpochError):
        state.check([header(1, epoch=2, seq=1)])
    state.evict_before(1)
    assert state.producers == {}
    state.check([header(1, epoch=2, seq=77)])  # unknown again: any sequence


def test_producer_state_snapshot(tmp_path):
    state = ProducerStateManager()
    state.update(header(2, pid=4, epoch=1, seq=6), 30)
    path = tmp_path / "producer-state.json"
    state.save(path, log_end_offset=32)
    other = ProducerStateManager()
    assert not other.load(path, log_end_offset=33)  # stale
    assert other.load(path, log_end_offset=32)
    assert other.find_duplicate([header(2, pid=4, epoch=1, seq=6)]).last_offset == 31
    path.write_text("{not json")
    assert not ProducerStateManager().load(path, 32)


def test_partition_dir_names():
    assert parse_partition_dir("my.topic-with-dashes_2-17") == ("my.topic-with-dashes_2", 17)
    assert parse_partition_dir("__consumer_offsets-0") == ("__consumer_offsets", 0)
    assert parse_partition_dir("no_partition") is None
    assert parse_partition_dir("topic-x") is None


def test_checkpoint_files(tmp_path):
    entries = {("a-b", 0): 5, ("c", 12): 0}
    path = tmp_path / "replication-offset-checkpoint"
    write_checkpoint(path, entries)
    assert path.read_text() == "0\n2\na-b 0 5\nc 12 0\n"
    assert read_checkpoint(path) == entries
    path.write_text("1\n1\nx 0 1\n")
    assert read_checkpoint(path) == {}
    LogDirCheckpoints.forget(tmp_path)
    ckpt = LogDirCheckpoints.for_dir(tmp_path)
    assert LogDirCheckpoints.for_dir(tmp_path) is ckpt
    ckpt.set_log_start_offset(("t", 1), 40)
    assert read_checkpoint(tmp_path / "log-start-offset-checkpoint") == {("t", 1): 40}


def test_leader_epoch_cache(tmp_path):
    cache = LeaderEpochCache(tmp_path)
    cache.assign(0, 0)
    cache.assign(0, 5)  # same epoch: no new entry
    cache.assign(2, 10)
    cache.assign(5, 30)
    assert (tmp_path / "leader-epoch-checkpoint").read_text() == "0\n3\n0 0\n2 10\n5 30\n"
    assert cache.end_offset_for(1, 40) == (0, 10)
    assert cache.end_offset_for(5, 40) == (5, 40)
    cache.truncate_from_end(30)
    assert LeaderEpochCache(tmp_path).entries == [(0, 0), (2, 10)]
    cache.truncate_from_start(12)
    assert cache.entries == [(2, 12)]


def test_producer_expiry():
    state = ProducerStateManager()
    state.update(parse_header(batch(1, ts=1000, producer_id=1, producer_epoch=0, base_sequence=0)), 0)
    state.update(parse_header(batch(1, ts=5000, producer_id=2, producer_epoch=0, base_sequence=0)), 1)
    assert state.expire(older_than_ms=2000) == 1
    assert set(state.producers) == {2}
