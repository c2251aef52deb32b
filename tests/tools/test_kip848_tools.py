"""The tools on KIP-848 groups: ``kafka-consumer-groups --describe --members --verbose`` and
``--state --verbose`` with Kafka 4.x's epoch columns for a consumer group (and ``-`` for a classic
one), the UPGRADED column while a group mixes both protocols, and ``kafka-groups --list``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.broker_process import BrokerProcess
from tests.compat.test_kip848_confluent import KIP848_SETTINGS, create_topic, uniform_and_stable, wait_for
from tests.group_member import MemberProcess
from tests.tools.helpers import run_tool


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("kip848-tools"), KIP848_SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def groups(kip848_broker: BrokerProcess) -> Iterator[tuple[str, str, str]]:
    """A consumer group of two members, a classic group of one, and the topic they read."""
    bootstrap = kip848_broker.bootstrap
    topic = f"tools-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 4)
    consumer_group, classic_group = f"new-{uuid.uuid4().hex[:6]}", f"old-{uuid.uuid4().hex[:6]}"
    members = [MemberProcess(bootstrap, consumer_group, topic, "consumer") for _ in range(2)]
    members.append(MemberProcess(bootstrap, classic_group, topic, "range"))
    try:
        wait_for(lambda: uniform_and_stable(bootstrap, consumer_group, 2, 4), 60, "a stable consumer group")
        members[2].wait(lambda m: len(m.assigned) == 4, 60, "the classic member's assignment")
        yield topic, consumer_group, classic_group
    finally:
        for m in members:
            m.kill()


def consumer_groups(bootstrap: str, *args: str) -> list[list[str]]:
    result = run_tool("consumer_groups", ["--bootstrap-server", bootstrap, *args])
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines() if line.strip()]


def test_members_verbose_shows_member_and_target_epochs(
    kip848_broker: BrokerProcess, groups: tuple[str, str, str]
) -> None:
    topic, consumer_group, classic_group = groups
    rows = consumer_groups(
        kip848_broker.bootstrap, "--describe", "--group", consumer_group, "--members", "--verbose"
    )
    header, members = rows[0], rows[1:]
    assert header == [
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
    assert len(members) == 2
    for row in members:
        partitions, epoch, current, target_epoch, target = row[4:9]
        assert partitions == "2" and current == target and current.startswith(f"{topic}:")
        assert int(epoch) == int(target_epoch) >= 2
    classic = consumer_groups(
        kip848_broker.bootstrap, "--describe", "--group", classic_group, "--members", "--verbose"
    )
    assert classic[1][5] == "-" and classic[1][7] == "-"  # a classic group has no epochs


def test_state_verbose_shows_group_and_assignment_epochs(
    kip848_broker: BrokerProcess, groups: tuple[str, str, str]
) -> None:
    _, consumer_group, classic_group = groups
    rows = consumer_groups(
        kip848_broker.bootstrap, "--describe", "--group", consumer_group, "--state", "--verbose"
    )
    assert rows[0] == [
        "GROUP",
        "COORDINATOR",
        "(ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "GROUP-EPOCH",
        "TARGET-ASSIGNMENT-EPOCH",
        "#MEMBERS",
    ]
    group, _host, _id, strategy, state, group_epoch, assignment_epoch, members = rows[1]
    assert (group, strategy, state, members) == (consumer_group, "uniform", "Stable", "2")
    assert int(group_epoch) == int(assignment_epoch) >= 2
    classic = consumer_groups(
        kip848_broker.bootstrap, "--describe", "--group", classic_group, "--state", "--verbose"
    )
    assert classic[1][3:] == ["range", "Stable", "-", "-", "1"]


def test_kafka_groups_lists_every_type(kip848_broker: BrokerProcess, groups: tuple[str, str, str]) -> None:
    _, consumer_group, classic_group = groups
    result = run_tool("groups", ["--bootstrap-server", kip848_broker.bootstrap, "--list"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["GROUP", "TYPE", "PROTOCOL"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows[consumer_group] == ["Consumer", "consumer"]
    assert rows[classic_group] == ["Classic", "consumer"]
    only = run_tool(
        "groups", ["--bootstrap-server", kip848_broker.bootstrap, "--list", "--group-type", "CONSUMER"]
    )
    assert consumer_group in only.stdout and classic_group not in only.stdout
    bad = run_tool(
        "groups", ["--bootstrap-server", kip848_broker.bootstrap, "--list", "--group-type", "nope"]
    )
    assert bad.returncode == 1 and bad.stderr.strip() == "--group-type must be a valid group type."
    both = run_tool(
        "groups", ["--bootstrap-server", kip848_broker.bootstrap, "--list", "--consumer", "--share"]
    )
    assert both.returncode == 1 and 'Option "[consumer]" can\'t be used with option "[share]"' in both.stderr
