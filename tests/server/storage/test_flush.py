"""Flushes where Kafka makes them: on roll, by flush.messages / flush.ms, and all of them on a clean
shutdown before its marker; the recovery-point checkpoint says how far each log is flushed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.server.storage import handles
from kcli.server.storage.checkpoints import RECOVERY_POINT_FILE, read_checkpoint
from kcli.server.storage.errors import KafkaStorageError
from kcli.server.storage.flusher import default_flusher
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import CLEAN_SHUTDOWN_FILE, LogManager
from tests.broker_process import BrokerProcess

from .helpers import batch, open_log, read_all


def _wait_for(condition, timeout: float = 15.0, state=lambda: None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s: {state()}")


def test_broker_flushes_on_roll_by_flush_settings_and_on_clean_shutdown(tmp_path: Path) -> None:
    broker = BrokerProcess(
        tmp_path,
        {
            "log.retention.check.interval.ms": "100",  # checkpoints written often
            "log.flush.scheduler.interval.ms": "100",
            "log.flush.interval.ms": "3600000",  # the default flush.ms: not within this test
        },
    ).start()
    topics = {
        "plain": {},
        "rolled": {"segment.bytes": "2048"},
        "per-message": {"flush.messages": "1"},
        "timed": {"flush.ms": "50"},
    }
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics([NewTopic(t, 1, 1, config=c) for t, c in topics.items()]).values():
            future.result(30)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "batch.size": 300})
        for i in range(50):
            for topic in topics:
                producer.produce(topic, value=f"{i:04d}".encode().ljust(100, b"."))
            producer.flush(10)
        checkpoint = broker.log_dirs / RECOVERY_POINT_FILE

        def active_base() -> int:
            return max(int(p.stem) for p in (broker.log_dirs / "rolled-0").glob("*.log"))

        def flushed() -> dict | None:
            points = read_checkpoint(checkpoint)
            ready = (
                points.get(("per-message", 0)) == 50
                and points.get(("timed", 0)) == 50
                and points.get(("rolled", 0)) == active_base()
            )
            return points if ready else None

        points = _wait_for(flushed, state=lambda: (read_checkpoint(checkpoint), active_base()))
        assert 0 < points[("rolled", 0)] < 50  # the rolled segments, not the active one
        assert points[("plain", 0)] == 0  # never asked to flush: nothing is durable but the file
    finally:
        assert broker.stop() == 0
    assert (broker.log_dirs / CLEAN_SHUTDOWN_FILE).exists()
    assert {tp: o for tp, o in read_checkpoint(checkpoint).items() if tp[0] in topics} == {
        (t, 0): 50 for t in topics
    }


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(file name, thread name) of every fsync of a segment or index file."""
    calls: list[tuple[str, str]] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append((os.path.basename(os.readlink(f"/proc/self/fd/{fd}")), threading.current_thread().name))
        real(fd)

    monkeypatch.setattr(handles.os, "fsync", recording)
    return calls


def test_a_rolled_segment_is_flushed_off_the_appending_thread(tmp_path: Path, fsyncs: list) -> None:
    log = open_log(tmp_path, segment_bytes=500)
    while len(log.segments) < 3:
        log.append(batch(2, size=60))
    default_flusher().drain()
    assert log.recovery_point == log.segments[-1].base_offset
    rolled = {f"{s.base_offset:020d}.log" for s in log.segments[:-1]}
    assert rolled <= {name for name, _ in fsyncs}
    assert {thread for _, thread in fsyncs} and all(t.startswith("kafka-log-flusher") for _, t in fsyncs)


def test_flush_messages_flushes_once_that_many_are_unflushed(tmp_path: Path, fsyncs: list) -> None:
    log = open_log(tmp_path, flush_messages=3)
    log.append(batch(2))
    assert log.recovery_point == 0 and not fsyncs
    log.append(batch(1))
    assert log.recovery_point == 3 and "00000000000000000000.log" in {n for n, _ in fsyncs}


def test_flush_ms_is_honoured_by_the_flusher_thread(tmp_path: Path) -> None:
    manager = LogManager([tmp_path], LogConfig(), flush_check_ms=20)
    manager.load()
    log = manager.create("timed", 0, LogConfig(flush_ms=0))
    quiet = manager.create("quiet", 0, LogConfig())
    log.append(batch(4))
    quiet.append(batch(4))
    try:
        _wait_for(lambda: log.recovery_point == 4)
        assert quiet.recovery_point == 0  # flush.ms defaults to never
    finally:
        manager.close_all()


def test_clean_shutdown_flushes_every_log_before_its_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = LogManager([tmp_path], LogConfig())
    manager.load()
    logs = [manager.create(f"t{i}", 0, LogConfig()) for i in range(3)]
    for log in logs:
        log.append(batch(5))
    marker = tmp_path / CLEAN_SHUTDOWN_FILE
    seen: list[tuple[str, bool]] = []
    real = os.fsync

    def recording(fd: int) -> None:
        seen.append((os.readlink(f"/proc/self/fd/{fd}"), marker.exists()))
        real(fd)

    monkeypatch.setattr(handles.os, "fsync", recording)
    manager.close_all()
    assert marker.exists()
    flushed = {Path(path).parent.name for path, _ in seen if path.endswith(".log")}
    assert flushed == {"t0-0", "t1-0", "t2-0"}
    assert not any(marker_there for _, marker_there in seen)
    assert read_checkpoint(tmp_path / RECOVERY_POINT_FILE) == {(f"t{i}", 0): 5 for i in range(3)}


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills between the log write and its index entry: the batch is taken back, so
    the next append does not leave it, with offsets given out again, in the middle of the log."""
    log = open_log(tmp_path, index_interval_bytes=1)
    log.append(batch(2))
    size = log.segments[-1].size_bytes

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(log.active_segment.index, "_write", full)
        with pytest.raises(KafkaStorageError) as exc:
            log.append(batch(2, tag="lost-"))
    assert exc.value.error_code == 56 and "No space left on device" in str(exc.value)
    assert log.segments[-1].size_bytes == size and log.log_end_offset == 2
    assert log.append(batch(2, tag="kept-")).base_offset == 2
    assert [r.value[:5] for r in read_all(log)] == [b"0....", b"1....", b"kept-", b"kept-"]


def test_flush_settings_take_kafkas_defaults_and_refuse_bad_values() -> None:
    from kcli.server.storage.log_config import NEVER, flush_settings

    assert flush_settings({}) == (NEVER, NEVER, NEVER)
    # log.flush.interval.ms defaults to the flusher's period, as in Kafka
    assert flush_settings({"log.flush.scheduler.interval.ms": "2000"}) == (NEVER, 2000, 2000)
    assert flush_settings({"log.flush.interval.messages": "10", "log.flush.interval.ms": "500"}) == (
        10,
        500,
        NEVER,
    )
    with pytest.raises(
        ValueError, match=r"Invalid value abc for configuration log\.flush\.interval\.messages"
    ):
        flush_settings({"log.flush.interval.messages": "abc"})
    with pytest.raises(ValueError, match="Value must be at least 1"):
        flush_settings({"log.flush.scheduler.interval.ms": "0"})
