"""Consumer groups with confluent-kafka (librdkafka): split, leave, crash, no loss, durable offsets.

Observations go through the broker itself (DescribeGroups / OffsetFetch via the AdminClient), so
the tests check what the coordinator did, polled with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess
from tests.waiting import wait_for

# Short group timeouts so that expiry paths take seconds, not minutes.
GROUP_OVERRIDES = {
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}
SESSION_MS = 6000


def python_client_group_settings(group: str, name: str) -> dict[str, Any]:
    """The group consumer settings the kafka-python and aiokafka tests share (both clients take
    the same keyword names): auto commit every 200 ms, a short session for the expiry checks."""
    return {
        "group_id": group,
        "client_id": name,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": True,
        "auto_commit_interval_ms": 200,
        "session_timeout_ms": SESSION_MS,
        "heartbeat_interval_ms": 500,
        "max_poll_interval_ms": 20000,
    }


@pytest.fixture
def group_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path, overrides=GROUP_OVERRIDES).start()
    try:
        yield proc
    finally:
        proc.kill()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)


def produce(bootstrap: str, topic: str, count: int, start: int = 0) -> set[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    values = set()
    for i in range(start, start + count):
        value = f"record-{i}".encode()
        producer.produce(topic, value=value, key=str(i).encode())
        values.add(value)
    assert producer.flush(30) == 0
    return values


def log_end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe-" + uuid.uuid4().hex})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}


def group_assignment(bootstrap: str, group: str) -> dict[str, list[tuple[str, int]]] | None:
    """member id -> assigned partitions while the group is Stable; None otherwise."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    description = admin.describe_consumer_groups([group], request_timeout=5)[group].result(10)
    if description.state.name != "STABLE":
        return None
    return {
        m.member_id: sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
        for m in description.members
    }


def stable_split(bootstrap: str, group: str, members: int, partitions: int) -> Callable[[], Any]:
    """A check: the group is Stable with ``members`` members that split all partitions exactly."""

    def check() -> dict[str, list[tuple[str, int]]] | None:
        assignment = group_assignment(bootstrap, group)
        if assignment is None or len(assignment) != members:
            return None
        owned = [tp for tps in assignment.values() for tp in tps]
        if len(owned) != partitions or len(set(owned)) != partitions:
            return None
        if any(not tps for tps in assignment.values()):
            return None
        return assignment

    return check


class ThreadConsumer:
    """A confluent-kafka group consumer polling in its own thread, recording what it reads."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str):
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": name,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 200,
                "session.timeout.ms": SESSION_MS,
                "heartbeat.interval.ms": 500,
                "max.poll.interval.ms": 20000,
            }
        )
        self.consumer.subscribe([topic])
        self.values: list[bytes] = []
        self.errors: list[Any] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            msg = self.consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                self.errors.append(msg.error())
                continue
            self.values.append(msg.value())
        self.consumer.close()  # commits the final offsets (auto-commit) and leaves the group

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


KILLED_CONSUMER = """
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "client.id": "doomed",
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": int(sys.argv[4]), "heartbeat.interval.ms": 500, "max.poll.interval.ms": 20000})
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.2)
"""


def test_three_consumers_split_leave_crash_and_lose_nothing(group_broker: BrokerProcess) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"groups-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produced = produce(bootstrap, topic, 300)
    consumers = [ThreadConsumer(bootstrap, group, topic, f"c{i}") for i in range(3)]
    closed: list[ThreadConsumer] = []  # what they consumed (and committed) still counts
    doomed: subprocess.Popen[bytes] | None = None
    try:
        first = wait_for(stable_split(bootstrap, group, 3, 6), 30, "3 members sharing 6 partitions")
        assert all(len(tps) == 2 for tps in first.values())  # range assignor: 6 / 3

        # A clean close: LeaveGroup, and the partitions move within the rebalance.
        started = time.monotonic()
        left = consumers.pop()
        left.close()
        closed.append(left)
        wait_for(stable_split(bootstrap, group, 2, 6), 20, "2 members after a clean leave")
        assert time.monotonic() - started < 20

        # A crash: a consumer process killed with SIGKILL never leaves; its session expires.
        doomed = subprocess.Popen(
            [sys.executable, "-c", KILLED_CONSUMER, bootstrap, group, topic, str(SESSION_MS)]
        )
        wait_for(stable_split(bootstrap, group, 3, 6), 30, "the subprocess consumer to join")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        killed_at = time.monotonic()
        wait_for(stable_split(bootstrap, group, 2, 6), SESSION_MS / 1000 + 20, "the dead member to expire")
        assert time.monotonic() - killed_at >= SESSION_MS / 1000 - 1.5  # it was the session timeout

        produced |= produce(bootstrap, topic, 300, start=300)
        wait_for(
            lambda: produced <= {v for c in consumers + closed for v in c.values}, 30, "every record consumed"
        )
    finally:
        for c in consumers:
            c.close()
        if doomed is not None and doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    assert not [e for c in consumers for e in c.errors if not e.code() < 0]
    ends = log_end_offsets(bootstrap, topic, 6)
    assert sum(ends.values()) == 600
    committed = committed_offsets(bootstrap, group)
    assert {p: committed.get((topic, p)) for p in range(6)} == ends


def test_committed_offsets_survive_restart_and_kill_9(group_broker: BrokerProcess) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"durable-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, 30)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    try:
        deadline = time.monotonic() + 30
        while seen < 30 and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                seen += 1
        assert seen == 30
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    ends = log_end_offsets(bootstrap, topic, 3)
    expected = {(topic, p): ends[p] for p in range(3)}
    assert committed_offsets(bootstrap, group) == expected

    group_broker.restart()
    assert wait_for(lambda: committed_offsets(bootstrap, group) == expected, 30, "offsets after restart")

    # A simple (assign()) commit, then kill -9 right after the acknowledgement.
    simple = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group + "-simple", "enable.auto.commit": False}
    )
    simple.commit(offsets=[TopicPartition(topic, 0, 7)], asynchronous=False)
    simple.close()
    group_broker.kill()
    group_broker.start()
    assert wait_for(lambda: committed_offsets(bootstrap, group) == expected, 30, "offsets after kill -9")
    assert wait_for(
        lambda: committed_offsets(bootstrap, group + "-simple") == {(topic, 0): 7},
        30,
        "simple offsets after kill -9",
    )
    # The group is still listed and empty after both restarts.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(15).valid}
    assert listed[group].state.name == "EMPTY"


def group_consumer(bootstrap: str, group: str, topic: str, **extra: Any) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )
    consumer.subscribe([topic])
    return consumer


def poll_until(consumers: list[Consumer], check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Drive the consumers' poll loops (rebalance callbacks run there) until ``check`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            c.poll(0.05)
        found = check()
        if found:
            return found
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("strategy", ["roundrobin", "cooperative-sticky"])
def test_assignors_are_relayed_untouched(group_broker: BrokerProcess, strategy: str) -> None:
    """The broker only picks the common protocol; eager and incremental assignors both work."""
    bootstrap = group_broker.bootstrap
    topic, group = f"assign-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    consumers = [
        group_consumer(bootstrap, group, topic, **{"partition.assignment.strategy": strategy})
        for _ in range(2)
    ]
    try:
        split = poll_until(
            consumers, stable_split(bootstrap, group, 2, 6), 30, "two members sharing 6 partitions"
        )
        if strategy == "roundrobin":  # round robin interleaves partitions between the two members
            assert sorted(p for _, p in next(iter(split.values()))) in ([0, 2, 4], [1, 3, 5])
        admin = AdminClient({"bootstrap.servers": bootstrap})
        assert admin.describe_consumer_groups([group])[group].result(10).partition_assignor == strategy
        consumers.pop().close()
        poll_until(consumers, stable_split(bootstrap, group, 1, 6), 30, "the survivor owning all partitions")
        # The consumer applies what the coordinator relayed during its own poll (incrementally
        # for cooperative-sticky), so poll until its local view agrees.
        poll_until(
            consumers, lambda: len(consumers[0].assignment()) == 6, 30, "the survivor's own assignment"
        )
    finally:
        for c in consumers:
            c.close()


def close_within(consumer: Consumer, timeout: float, broker: BrokerProcess, what: str) -> None:
    """Close in a helper thread, so that a close that never returns fails with the coordinator's log.

    librdkafka's close waits for every group request it has in flight; if the broker never
    answered one, the test must say so instead of blocking the whole run.
    """
    failure: list[BaseException] = []

    def close() -> None:
        try:
            consumer.close()
        except BaseException as exc:  # re-raised below
            failure.append(exc)

    thread = threading.Thread(target=close, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(
            f"{what}: close() still blocked after {timeout} s\n" + "".join(broker.output[-100:])
        )
    if failure:
        raise failure[0]


def taken_up(pods: list[Consumer], split: dict[str, list[tuple[str, int]]]) -> bool:
    """Has every consumer applied (in its own poll) what the coordinator says it was assigned?

    Closing a librdkafka consumer whose assignment is still waiting for the application's poll
    makes close() deliver that rebalance event itself, and its assign() then blocks forever
    (holding the GIL) under load. The broker answered SyncGroup already; the wait is client-side.
    """
    for pod in pods:
        local = sorted((tp.topic, tp.partition) for tp in pod.assignment())
        if local != split.get(pod.memberid() or ""):
            return False
    return True


def test_static_member_restart_keeps_its_partitions_without_rebalance(group_broker: BrokerProcess) -> None:
    bootstrap = group_broker.bootstrap
    topic, group = f"static-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 4)
    pods = [group_consumer(bootstrap, group, topic, **{"group.instance.id": f"pod-{i}"}) for i in range(2)]
    try:
        before = poll_until(pods, stable_split(bootstrap, group, 2, 4), 30, "two static members")
        poll_until(pods, lambda: taken_up(pods, before), 30, "both pods to take up their partitions")
        mine = next(tps for member, tps in before.items() if member.startswith("pod-0-"))
        other = next(member for member in before if member.startswith("pod-1-"))

        def rebalances() -> int:
            return sum(f"rebalance group {group} " in line for line in group_broker.output)

        rebalances_before = rebalances()
        # A static member does not send LeaveGroup: the coordinator keeps its place.
        close_within(pods[0], 30, group_broker, "the first pod-0")
        pods[0] = group_consumer(bootstrap, group, topic, **{"group.instance.id": "pod-0"})

        def restarted() -> Any:
            now = stable_split(bootstrap, group, 2, 4)()
            return now if now and not any(m in before for m in now if m.startswith("pod-0-")) else None

        after = poll_until(pods, restarted, 30, "pod-0 back under a new member id")
        poll_until(pods, lambda: taken_up(pods, after), 30, "the restarted pod-0 to take up its partitions")
        assert other in after  # the other member was not replaced
        assert next(tps for member, tps in after.items() if member.startswith("pod-0-")) == mine
        assert rebalances() == rebalances_before  # same generation: no PreparingRebalance at all
    finally:
        for i, c in enumerate(pods):
            close_within(c, 30, group_broker, f"pod-{i}")


def test_active_member_carries_on_across_a_broker_restart(group_broker: BrokerProcess) -> None:
    """Group membership is in __consumer_offsets too: after a restart the member keeps its place."""
    bootstrap = group_broker.bootstrap
    topic, group = f"restart-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 2)
    produced = produce(bootstrap, topic, 50)
    consumer = ThreadConsumer(bootstrap, group, topic, "survivor")
    try:
        before = wait_for(stable_split(bootstrap, group, 1, 2), 30, "the member to join")
        wait_for(lambda: produced <= set(consumer.values), 30, "the first records consumed")
        group_broker.restart()
        produced |= produce(bootstrap, topic, 50, start=50)
        wait_for(lambda: produced <= set(consumer.values), 60, "records produced after the restart")
        after = wait_for(stable_split(bootstrap, group, 1, 2), 30, "the group after the restart")
        assert list(after) == list(before)  # the same member id: no rejoin was needed
    finally:
        consumer.close()
