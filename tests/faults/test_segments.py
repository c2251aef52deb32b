"""Damaged segment files: recovery says what it cut, corrupt batches are never served as valid."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import KafkaError

from kcli.server.storage.checkpoints import RECOVERY_POINT_FILE, write_checkpoint
from kcli.server.storage.log_manager import CLEAN_SHUTDOWN_FILE
from tests.faults.helpers import Copy, batch_positions, flip_byte, lines, read_partition, set_batch_length


def _last_index_position(segment: Path) -> int:
    raw = segment.with_suffix(".index").read_bytes()
    return struct.unpack_from(">ii", raw, len(raw) - 8)[1] if raw else 0


def _values(records: list[tuple[int, bytes]]) -> dict[int, bytes]:
    return dict(records)


def test_flipped_batch_length_in_a_closed_segment_is_cut_and_the_hole_named(copy: Copy) -> None:
    segments = copy.segments("alpha", 0)
    assert len(segments) >= 3
    closed, following = segments[0], segments[1]
    # A batch after the last index entry (the index sanity check then fails), with more after it.
    tail = [b for b in batch_positions(closed) if b[0] > _last_index_position(closed)]
    victim_pos, victim_offset, _ = tail[len(tail) // 2]
    set_batch_length(closed, victim_pos, 0x7FFF0000)
    next_base = int(following.stem)
    broker = copy.broker().start()
    try:
        warning = [line for line in lines(broker.output, "WARN") if "Truncated" in line]
        assert len(warning) == 1 and "alpha-0" in warning[0], broker.output
        assert f"from position {victim_pos} and offset {victim_offset}" in warning[0]
        cut = closed.stat().st_size
        assert cut == victim_pos
        errors = lines(broker.output, "ERROR")
        assert len(errors) == 1, broker.output
        assert f"Partition alpha-0 lost offsets {victim_offset} to {next_base - 1}" in errors[0]
        records, fetch_errors = read_partition(broker.bootstrap, "alpha", 0)
        assert not fetch_errors
        expected = dict(enumerate(copy.records[("alpha", 0)]))
        kept = {o: v for o, v in expected.items() if not victim_offset <= o < next_base}
        assert _values(records) == kept  # every record around the hole, at its own offset
    finally:
        assert broker.stop() == 0


def test_flipped_payload_byte_in_a_closed_segment_is_never_served(copy: Copy) -> None:
    segment = copy.segments("alpha", 1)[1]
    batches = batch_positions(segment)
    victim_pos, victim_offset, victim_size = batches[len(batches) // 2]
    flip_byte(segment, victim_pos + victim_size - 5)  # in a record's value: only the CRC tells
    broker = copy.broker().start()
    try:
        for _ in range(2):  # a consumer coming back to it gets the same answer, logged once
            records, errors = read_partition(broker.bootstrap, "alpha", 1)
            assert [e.code() for e in errors] == [KafkaError.INVALID_MSG], (errors, broker.output[-20:])
            assert _values(records) == dict(enumerate(copy.records[("alpha", 1)][:victim_offset]))
        found = [line for line in lines(broker.output, "ERROR") if "corrupt batch" in line]
        assert len(found) == 1 and f"position {victim_pos}" in found[0] and "alpha-1" in found[0]
    finally:
        assert broker.stop() == 0
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.server.storage_tool",
            "verify",
            "--log-dir",
            str(copy.a),
            "--log-dir",
            str(copy.b),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 1, verify.stdout
    problems = verify.stdout.splitlines()[:-1]
    assert problems == [
        f"{segment}: batch at position {victim_pos} (after offset {victim_offset - 1}): "
        + problems[0].split(": ", 2)[2]
    ]
    assert "record is corrupt" in problems[0]
    dump = subprocess.run(
        [sys.executable, "-m", "kcli.tools.dump_log", "--deep-iteration", "--files", str(segment)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"position: {victim_pos} " in next(
        line for line in dump.stdout.splitlines() if "isvalid: false" in line
    )
    assert (
        "Found 1 corrupt batch(es)" in dump.stderr
        and f"position {victim_pos}: offsets {victim_offset}" in dump.stderr
    )


def test_truncated_active_segment_after_a_clean_shutdown_is_logged(copy: Copy) -> None:
    active = copy.segments("beta", 0)[-1]
    last_pos, last_offset, last_size = batch_positions(active)[-1]
    with open(active, "r+b") as fh:
        fh.truncate(last_pos + last_size // 2)
    broker = copy.broker().start()
    try:
        warning = [line for line in lines(broker.output, "WARN") if "Truncated" in line]
        assert len(warning) == 1 and f"Truncated {last_size // 2} invalid bytes" in warning[0], broker.output
        errors = lines(broker.output, "ERROR")
        assert len(errors) == 1 and "beta-0 lost acknowledged records" in errors[0], broker.output
        assert f"offsets {last_offset} to {len(copy.records[('beta', 0)]) - 1}" in errors[0]
        records, fetch_errors = read_partition(broker.bootstrap, "beta", 0)
        assert not fetch_errors
        assert _values(records) == dict(enumerate(copy.records[("beta", 0)][:last_offset]))
    finally:
        assert broker.stop() == 0


@pytest.mark.parametrize("recovery_point", ["zero", "log end"])
def test_unclean_start_recovers_every_segment_after_the_recovery_point(
    copy: Copy, recovery_point: str
) -> None:
    """Without the clean-shutdown marker, every segment from the recovery point on is CRC-checked
    (Kafka's LogLoader): a corrupt batch there cuts the log and the unflushed segments after it.
    Below the recovery point the batch stays on disk and is refused when read."""
    directory = copy.partition_dir("alpha", 0)
    log_dir = directory.parent
    (log_dir / CLEAN_SHUTDOWN_FILE).unlink()
    total = len(copy.records[("alpha", 0)])
    write_checkpoint(log_dir / RECOVERY_POINT_FILE, {("alpha", 0): 0 if recovery_point == "zero" else total})
    segment = copy.segments("alpha", 0)[1]
    batches = batch_positions(segment)
    victim_pos, victim_offset, victim_size = batches[len(batches) // 2]
    flip_byte(segment, victim_pos + victim_size - 5)
    broker = copy.broker().start()
    try:
        records, errors = read_partition(broker.bootstrap, "alpha", 0)
        assert _values(records) == dict(enumerate(copy.records[("alpha", 0)][:victim_offset]))
        if recovery_point == "zero":
            assert not errors
            cut = [line for line in lines(broker.output, "WARN") if "Truncated" in line]
            assert len(cut) == 1 and f"from position {victim_pos} and offset {victim_offset}" in cut[0]
            assert "record is corrupt" in cut[0]
            deleted = [line for line in lines(broker.output, "WARN") if "Deleting segments" in line]
            assert len(deleted) == 1 and "alpha-0" in deleted[0], broker.output
            lost = lines(broker.output, "ERROR")
            assert len(lost) == 1 and f"offsets {victim_offset} to {total - 1}" in lost[0], broker.output
        else:
            assert [e.code() for e in errors] == [KafkaError.INVALID_MSG]  # CORRUPT_MESSAGE (2)
            assert not [line for line in lines(broker.output, "WARN") if "Truncated" in line]
            assert segment.stat().st_size == batches[-1][0] + batches[-1][2]  # nothing cut at start-up
    finally:
        assert broker.stop() == 0
