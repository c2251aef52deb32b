"""Consumer groups with kcat -G (librdkafka's balanced consumer in a separate process)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess
from tests.compat.test_groups_confluent import (
    SESSION_MS,
    committed_offsets,
    create_topic,
    group_broker,
    log_end_offsets,
    produce,
    stable_split,
)
from tests.waiting import wait_for

__all__ = ["group_broker"]  # the fixture, re-used from the confluent-kafka tests

pytestmark = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")


def start_kcat(bootstrap: str, group: str, topic: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "kcat", "-b", bootstrap, "-G", group, topic, "-u", "-q", "-f", "%s\n",
            "-X", "auto.offset.reset=earliest",
            "-X", f"session.timeout.ms={SESSION_MS}",
            "-X", "heartbeat.interval.ms=500",
            "-X", "auto.commit.interval.ms=200",
            *extra,
        ],
        stdout=out.open("wb"),
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_kcat_balanced_consumers_split_crash_and_commit(group_broker: BrokerProcess, tmp_path: Path) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"kcat-{uuid.uuid4().hex[:6]}", f"kcatg-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produced = produce(bootstrap, topic, 200)
    outputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    survivors = [start_kcat(bootstrap, group, topic, out) for out in outputs]
    doomed: subprocess.Popen[bytes] | None = None

    def consumed() -> set[bytes]:
        return {line for out in outputs for line in out.read_bytes().splitlines()}

    try:
        wait_for(stable_split(bootstrap, group, 2, 6), 30, "2 kcat members sharing 6 partitions")
        wait_for(lambda: produced <= consumed(), 30, "the first records consumed")
        doomed = start_kcat(
            bootstrap, group, topic, tmp_path / "doomed.txt", "-X", "enable.auto.commit=false"
        )
        wait_for(stable_split(bootstrap, group, 3, 6), 30, "the third kcat to join")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        killed_at = time.monotonic()
        wait_for(stable_split(bootstrap, group, 2, 6), SESSION_MS / 1000 + 20, "the killed kcat to expire")
        assert time.monotonic() - killed_at >= SESSION_MS / 1000 - 1.5
        produced |= produce(bootstrap, topic, 200, start=200)
        wait_for(lambda: produced <= consumed(), 30, "every record consumed")
    finally:
        for proc in survivors:
            proc.send_signal(signal.SIGTERM)  # kcat closes the consumer: final commit, LeaveGroup
        for proc in survivors:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if doomed is not None and doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    ends = log_end_offsets(bootstrap, topic, 6)
    committed = wait_for(
        lambda: (
            (c := committed_offsets(bootstrap, group))
            and {p: c.get((topic, p)) for p in range(6)} == ends
            and c
        ),
        10,
        "final commits at the log end",
    )
    assert {p: committed[(topic, p)] for p in range(6)} == ends
