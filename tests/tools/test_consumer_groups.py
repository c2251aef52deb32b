"""kafka-consumer-groups as a subprocess against the real broker: formats, lag, resets, errors.

Expected values are computed from what the test produced (offsets, timestamps), and the output
formats are Kafka's ConsumerGroupCommand ones (left-aligned columns, at least 15 wide, single
space between columns, "-" for unknown values).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess
from tests.waiting import wait_for

DRY_RUN_WARNING = (
    "WARN: No action will be performed as the --execute option is missing.In a future major release"
)


def tool(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.tools.consumer_groups", "--bootstrap-server", bootstrap, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the future resolves
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(15)


def produce(bootstrap: str, topic: str, per_partition: dict[int, list[int]]) -> None:
    """Produce records with the given timestamps (ms) to each partition."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition, stamps in per_partition.items():
        for i, ts in enumerate(stamps):
            producer.produce(topic, value=f"v{i}".encode(), partition=partition, timestamp=ts)
    assert producer.flush(30) == 0


def commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """A simple (generation -1) commit, as an assign() consumer or an admin does."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
        )
    finally:
        consumer.close()


def committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}


def row(widths: list[int], values: list[object]) -> str:
    return " ".join(str(v).ljust(w) if w else str(v) for w, v in zip(widths, values, strict=True))


@pytest.fixture
def active_consumer(shared_broker: BrokerProcess) -> Iterator[Callable[[str, str], Consumer]]:
    """Start group consumers that stay members until the test ends."""
    started: list[Consumer] = []

    def start(group: str, topic: str) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": shared_broker.bootstrap,
                "group.id": group,
                "client.id": "lab-client",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([topic])
        started.append(consumer)
        admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})

        def joined() -> bool:
            description = admin.describe_consumer_groups([group])[group].result(10)
            return description.state.name == "STABLE" and any(
                m.assignment.topic_partitions for m in description.members
            )

        # librdkafka joins from its own thread; polling here would consume records the test counts.
        wait_for(joined, 30, f"a member of {group} with an assignment")
        return consumer

    yield start
    for consumer in started:
        consumer.close()


def test_describe_shows_lag_before_and_after_consumption(
    shared_broker: BrokerProcess, active_consumer: Callable[[str, str], Consumer]
) -> None:
    bootstrap = shared_broker.bootstrap
    topic, group = name("lagtopic"), name("laggroup")
    create_topic(bootstrap, topic, 2)
    produce(bootstrap, topic, {0: [1000] * 3, 1: [1000] * 5})
    commit(bootstrap, group, {(topic, 0): 1, (topic, 1): 0})

    before = tool(bootstrap, "--describe", "--group", group)
    assert before.returncode == 0, before.stderr
    assert f"Consumer group '{group}' has no active members." in before.stderr
    widths = [15, max(15, len(topic)), 10, 15, 15, 15, 15, 15, 0]
    header = row(
        widths,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
    )
    assert before.stdout.splitlines() == [
        "",
        header,
        row(widths, [group, topic, 0, 1, 3, 2, "-", "-", "-"]),
        row(widths, [group, topic, 1, 0, 5, 5, "-", "-", "-"]),
    ]

    consumer = active_consumer(group, topic)
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 7 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            seen += 1
    assert seen == 7  # 2 left on partition 0, 5 on partition 1
    consumer.commit(asynchronous=False)
    after = tool(bootstrap, "--describe", "--group", group)
    lines = after.stdout.splitlines()
    assert lines[1].split() == header.split()
    cells = [line.split() for line in lines[2:4]]
    assert [(c[2], c[3], c[4], c[5]) for c in cells] == [("0", "3", "3", "0"), ("1", "5", "5", "0")]
    assert all(
        c[7] == "/127.0.0.1" and c[8] == "lab-client" and c[6].startswith("lab-client-") for c in cells
    )
    assert "has no active members" not in after.stderr
    verbose = tool(bootstrap, "--describe", "--group", group, "--verbose").stdout.splitlines()
    assert verbose[1].split()[:5] == ["GROUP", "TOPIC", "PARTITION", "LEADER-EPOCH", "CURRENT-OFFSET"]
    assert [line.split()[2:5] for line in verbose[2:4]] in (
        [["0", "0", "3"], ["1", "0", "5"]],  # the epoch the consumer saw when it committed
        [["0", "-", "3"], ["1", "-", "5"]],
    )

    members = tool(bootstrap, "--describe", "--group", group, "--members", "--verbose")
    member_lines = members.stdout.splitlines()
    assert member_lines[1].split() == [
        "GROUP",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "CURRENT-EPOCH",
        "CURRENT-ASSIGNMENT",
        "TARGET-EPOCH",
        "TARGET-ASSIGNMENT",
    ]
    assert member_lines[2].split()[2:] == ["/127.0.0.1", "lab-client", "2", "-", f"{topic}:0,1", "-", "-"]

    state = tool(bootstrap, "--describe", "--group", group, "--state")
    state_cells = state.stdout.splitlines()[2].split()
    assert state_cells[0] == group
    assert state_cells[1] == f"127.0.0.1:{shared_broker.port}"
    assert state_cells[2:] == ["(0)", "range", "Stable", "1"]


@pytest.mark.parametrize(
    "sub_action", [[], ["--offsets"], ["--members"], ["--members", "--verbose"], ["--state"]]
)
def test_missing_group_is_reported_as_kafka_does(shared_broker: BrokerProcess, sub_action: list[str]) -> None:
    """Kafka 4.x: the GroupIdNotFoundException from DescribeGroups v6, printError on stdout, the
    stack trace on stderr, exit code 0 (ConsumerGroupCommand.run catches it and returns)."""
    group = name("nosuchgroup")
    result = tool(shared_broker.bootstrap, "--describe", "--group", group, *sub_action)
    failure = f"org.apache.kafka.common.errors.GroupIdNotFoundException: Group {group} not found."
    assert result.stdout == f"\nError: Executing consumer group command failed due to {failure}\n"
    assert result.stderr == f"java.util.concurrent.ExecutionException: {failure}\n"
    assert result.returncode == 0


def test_a_missing_group_fails_the_whole_describe(shared_broker: BrokerProcess) -> None:
    """Kafka describes all groups before printing any: one missing group means no tables at all."""
    bootstrap = shared_broker.bootstrap
    topic, present, missing = name("mixtopic"), name("present"), name("nosuchgroup")
    create_topic(bootstrap, topic, 1)
    commit(bootstrap, present, {(topic, 0): 0})
    result = tool(bootstrap, "--describe", "--group", present, "--group", missing)
    assert result.stdout.startswith("\nError: Executing consumer group command failed due to ")
    assert f"Group {missing} not found." in result.stdout and present not in result.stdout
    assert result.returncode == 0


def test_list_with_state_filter_and_delete(shared_broker: BrokerProcess) -> None:
    bootstrap = shared_broker.bootstrap
    topic, group = name("listtopic"), name("listgroup")
    create_topic(bootstrap, topic, 1)
    commit(bootstrap, group, {(topic, 0): 0})
    listed = tool(bootstrap, "--list")
    assert group in listed.stdout.splitlines()
    with_state = tool(bootstrap, "--list", "--state", "Empty")
    width = max([15, *(len(line.split()[0]) for line in with_state.stdout.splitlines()[1:])]) + 10
    assert with_state.stdout.splitlines()[0] == "GROUP".ljust(width) + " STATE".ljust(21)
    assert f"{group.ljust(width)} {'Empty'.ljust(20)}" in with_state.stdout.splitlines()
    assert group not in tool(bootstrap, "--list", "--state", "Stable").stdout
    deleted = tool(bootstrap, "--delete", "--group", group)
    assert deleted.stdout.strip() == f"Deletion of requested consumer groups ('{group}') was successful."
    assert group not in tool(bootstrap, "--list").stdout.splitlines()
    again = tool(bootstrap, "--delete", "--group", group)  # Kafka: printError, per-group line, exit 0
    assert again.stdout == (
        "\nError: Deletion of some consumer groups failed:\n"
        f"* Group '{group}' could not be deleted due to: "
        "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.\n"
    )
    assert again.stderr == ""
    assert again.returncode == 0


def test_reset_offsets_targets_match_kafka(
    shared_broker: BrokerProcess, tmp_path: Path, active_consumer: Callable[[str, str], Consumer]
) -> None:
    bootstrap = shared_broker.bootstrap
    topic, group = name("resettopic"), name("resetgroup")
    create_topic(bootstrap, topic, 2)
    now = int(time.time() * 1000)
    hour = 3_600_000
    # partition 0: ten records, one per second from base; partition 1: five old and five recent.
    base = now - 10 * hour
    produce(bootstrap, topic, {0: [base + i * 1000 for i in range(10)], 1: [now - 5 * hour] * 5 + [now] * 5})
    commit(bootstrap, group, {(topic, 0): 4, (topic, 1): 6})

    def reset(*args: str, execute: bool = True) -> dict[tuple[str, int], int]:
        result = tool(
            bootstrap, "--reset-offsets", "--group", group, *args, *(["--execute"] if execute else [])
        )
        assert result.returncode == 0, result.stderr
        assert "Error" not in result.stdout, result.stdout
        lines = result.stdout.splitlines()
        assert lines[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
        plan = {(c[1], int(c[2])): int(c[3]) for c in (line.split() for line in lines[2:])}
        if execute:
            assert committed(bootstrap, group) == {**committed(bootstrap, group), **plan}
        return plan

    t0, t1 = (topic, 0), (topic, 1)
    # Plan only (no --execute): the warning, the plan, nothing committed.
    plan_only = tool(bootstrap, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest")
    assert DRY_RUN_WARNING in plan_only.stderr
    assert plan_only.stdout.splitlines()[2].split() == [group, topic, "0", "0"]
    assert committed(bootstrap, group) == {t0: 4, t1: 6}
    assert reset("--topic", topic, "--to-earliest", "--dry-run", execute=False) == {t0: 0, t1: 0}
    assert committed(bootstrap, group) == {t0: 4, t1: 6}

    assert reset("--topic", topic, "--to-latest") == {t0: 10, t1: 10}
    assert reset("--topic", topic, "--to-earliest") == {t0: 0, t1: 0}
    assert reset("--topic", f"{topic}:1", "--to-offset", "3") == {t1: 3}
    assert reset("--topic", f"{topic}:0", "--to-offset", "99") == {t0: 10}  # clamped to the log end
    assert reset("--all-topics", "--shift-by", "-2") == {t0: 8, t1: 1}
    assert reset("--all-topics", "--shift-by", "-5") == {t0: 3, t1: 0}  # clamped to the log start
    assert reset("--all-topics", "--to-current") == {t0: 3, t1: 0}
    stamp = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 4500) // 1000))
        + f".{(base + 4500) % 1000:03d}"
    )
    assert reset("--topic", f"{topic}:0", "--to-datetime", stamp) == {t0: 5}
    assert reset("--topic", f"{topic}:1", "--by-duration", "PT1H") == {t1: 5}
    plan_file = tmp_path / "plan.csv"
    plan_file.write_text(f"{topic},0,7\n{topic},1,2\n")
    assert reset("--from-file", str(plan_file)) == {t0: 7, t1: 2}
    assert committed(bootstrap, group) == {t0: 7, t1: 2}

    # Refused while the group has members, with Kafka's message.
    active_consumer(group, topic)
    refused = tool(
        bootstrap, "--reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute"
    )
    assert (
        f"Error: Assignments can only be reset if the group '{group}' is inactive, but the current state is Stable."
        in refused.stdout
    )
    assert committed(bootstrap, group) == {t0: 7, t1: 2}


def test_delete_offsets_and_usage_errors(
    shared_broker: BrokerProcess, active_consumer: Callable[[str, str], Consumer]
) -> None:
    bootstrap = shared_broker.bootstrap
    topic, group = name("deltopic"), name("delgroup")
    create_topic(bootstrap, topic, 2)
    commit(bootstrap, group, {(topic, 0): 0, (topic, 1): 0})
    result = tool(bootstrap, "--delete-offsets", "--group", group, "--topic", f"{topic}:0")
    assert result.stdout.splitlines()[0] == f"Request succeeded for deleting offsets from group {group}."
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["", row([15, 10, 15], ["TOPIC", "PARTITION", "STATUS"])]
    assert lines[3].split() == [topic, "0", "Successful"]
    assert committed(bootstrap, group) == {(topic, 1): 0}

    # A group consuming the topic keeps its offsets: partition-level errors, as Kafka reports them.
    active_consumer(group, topic)
    refused = tool(bootstrap, "--delete-offsets", "--group", group, "--topic", topic).stdout.splitlines()
    assert refused[:2] == ["", "Error: Encountered some partition-level error, see the follow-up details."]
    assert [line.split(None, 2)[2] for line in refused[4:]] == [
        "Error: The consumer group is actively subscribed to the topic"
    ] * 2

    usage = tool(bootstrap, "--describe")
    assert usage.returncode == 1
    assert (
        usage.stderr.splitlines()[0] == "Option [describe] takes one of these options: --group, --all-groups"
    )
    both = tool(
        bootstrap,
        "--reset-offsets",
        "--group",
        group,
        "--all-topics",
        "--to-earliest",
        "--dry-run",
        "--execute",
    )
    assert both.returncode == 1 and "only accepts one of [execute] and [dry-run]" in both.stderr
    assert "Traceback" not in usage.stderr + both.stderr
