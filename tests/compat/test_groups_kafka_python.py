"""Consumer groups with kafka-python: split, clean leave, SIGKILL expiry, no loss, commits at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

from kafka import KafkaConsumer

from tests.broker_process import BrokerProcess
from tests.compat.test_groups_confluent import (
    SESSION_MS,
    committed_offsets,
    create_topic,
    group_broker,
    log_end_offsets,
    produce,
    python_client_group_settings,
    stable_split,
)
from tests.waiting import wait_for

__all__ = ["group_broker"]  # the fixture, re-used from the confluent-kafka tests


def know_partitions_before_joining(consumer: KafkaConsumer, topic: str) -> None:
    """Load the topic's partitions into the consumer before its first poll (which joins the group).

    Works around a kafka-python 3.0.x bug, not a broker fault: a consumer that joins before its
    first metadata answer for the topic assigns nothing as leader ("No partition metadata for
    topic"), then rejoins because its metadata changed. That rejoin does not set the client's
    own rejoin flag, so when the JoinGroup/SyncGroup round trip outlasts ``poll(timeout_ms=...)``
    (as under CPU load) the next poll sees nothing left to do and never re-enables the heartbeat:
    the member goes silent and the coordinator rightly expires it after ``session.timeout.ms``
    (its LeaveGroup on close then gets UNKNOWN_MEMBER_ID). Java consumers fetch the topic's
    metadata before they assign; this makes kafka-python do the same. It waits on a metadata
    answer, not on time.
    """
    wait_for(lambda: consumer.partitions_for_topic(topic), 30, f"kafka-python to know {topic}'s partitions")


class ThreadConsumer:
    """A kafka-python group consumer polling in its own thread."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str):
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, **python_client_group_settings(group, name)
        )
        self.values: list[bytes] = []
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        know_partitions_before_joining(self.consumer, topic)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                for records in self.consumer.poll(timeout_ms=200).values():
                    self.values.extend(r.value for r in records)
        except BaseException as exc:  # reported by close()
            self.failure = exc
        finally:
            self.consumer.close()  # commits (auto-commit) and sends LeaveGroup

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.failure is None, self.failure


KILLED_CONSUMER = """
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[3], bootstrap_servers=sys.argv[1], group_id=sys.argv[2], client_id="doomed",
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  session_timeout_ms=int(sys.argv[4]), heartbeat_interval_ms=500, max_poll_interval_ms=20000)
while not c.partitions_for_topic(sys.argv[3]):  # see know_partitions_before_joining
    pass
while True:
    c.poll(timeout_ms=200)
"""


def test_kafka_python_group_split_leave_crash_no_loss(group_broker: BrokerProcess) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"kp-{uuid.uuid4().hex[:6]}", f"kpg-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produced = produce(bootstrap, topic, 300)
    consumers = [ThreadConsumer(bootstrap, group, topic, f"kp{i}") for i in range(3)]
    closed: list[ThreadConsumer] = []  # what they consumed (and committed) still counts
    try:
        split_leave_crash(bootstrap, topic, group, produced, consumers, closed)
    except BaseException:
        print("".join(group_broker.output[-300:]))  # the coordinator's view, shown by pytest on failure
        raise
    finally:
        for c in consumers:
            c.close()
    ends = log_end_offsets(bootstrap, topic, 6)
    committed: dict[Any, int] = committed_offsets(bootstrap, group)
    assert {p: committed.get((topic, p)) for p in range(6)} == ends


def split_leave_crash(
    bootstrap: str,
    topic: str,
    group: str,
    produced: set[bytes],
    consumers: list[ThreadConsumer],
    closed: list[ThreadConsumer],
) -> None:
    """Three members split six partitions; one leaves cleanly; a fourth joins and is SIGKILLed."""
    doomed: subprocess.Popen[bytes] | None = None
    try:
        wait_for(stable_split(bootstrap, group, 3, 6), 40, "3 kafka-python members sharing 6 partitions")
        left = consumers.pop()
        left.close()
        closed.append(left)
        wait_for(stable_split(bootstrap, group, 2, 6), 30, "2 members after a clean leave")

        doomed = subprocess.Popen(
            [sys.executable, "-c", KILLED_CONSUMER, bootstrap, group, topic, str(SESSION_MS)]
        )
        wait_for(stable_split(bootstrap, group, 3, 6), 40, "the subprocess consumer to join")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        killed_at = time.monotonic()
        wait_for(stable_split(bootstrap, group, 2, 6), SESSION_MS / 1000 + 30, "the dead member to expire")
        assert time.monotonic() - killed_at >= SESSION_MS / 1000 - 1.5

        produced |= produce(bootstrap, topic, 300, start=300)
        wait_for(
            lambda: produced <= {v for c in consumers + closed for v in c.values}, 40, "every record consumed"
        )
    finally:
        if doomed is not None and doomed.poll() is None:
            doomed.kill()
            doomed.wait()
