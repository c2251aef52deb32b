"""Online migration of a classic consumer group to the KIP-848 protocol, as Kafka 4.0 does it: a
rolling restart replaces the classic members (confluent-kafka, ``group.protocol=classic``) one by
one with ``group.protocol=consumer`` members while records keep flowing; the group is converted on
the first new member's heartbeat, serves both protocols in between, and no record is lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, ConsumerGroupType
from confluent_kafka.admin import AdminClient

from tests.broker_process import BrokerProcess
from tests.compat.test_kip848_confluent import (
    KIP848_SETTINGS,
    create_topic,
    described,
    produce,
    uniform_and_stable,
    wait_for,
)
from tests.group_member import MemberProcess
from tests.tools.helpers import run_tool


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("kip848-migration"), KIP848_SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.parametrize("classic", ["cooperative-sticky", "range"])
def test_rolling_upgrade_from_classic_to_consumer_loses_no_record(
    kip848_broker: BrokerProcess, classic: str
) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"mig-{uuid.uuid4().hex[:6]}", f"gm-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produce(bootstrap, topic, range(0, 300), 6)
    members: list[MemberProcess] = []

    def start(protocol: str) -> MemberProcess:
        member = MemberProcess(bootstrap, group, topic, protocol)
        members.append(member)
        return member

    def seen() -> set[int]:
        return set().union(*(m.values for m in members))

    try:
        old = [start(classic) for _ in range(3)]
        for m in old:
            m.wait(lambda m: len(m.assigned) == 2, 60, "the classic group to assign two partitions each")
        assert described(bootstrap, group).type == ConsumerGroupType.CLASSIC
        next_value = 300
        new: list[MemberProcess] = []
        for step, leaving in enumerate(old):
            leaving.close()
            new.append(start("consumer"))
            produce(bootstrap, topic, range(next_value, next_value + 150), 6)
            next_value += 150
            if step == 0:
                wait_for(
                    lambda: described(bootstrap, group).type == ConsumerGroupType.CONSUMER,
                    30,
                    "the group converted",
                )
            live = [m for m in members if m.proc.poll() is None]
            for m in live:
                m.wait(
                    lambda m: len(m.assigned) == 2, 60, f"two partitions each after upgrade step {step + 1}"
                )
            if step == 0:  # one member on each protocol: the tool shows which is which
                shown = run_tool(
                    "consumer_groups",
                    [
                        "--bootstrap-server",
                        bootstrap,
                        "--describe",
                        "--group",
                        group,
                        "--members",
                        "--verbose",
                    ],
                )
                lines = [line.split() for line in shown.stdout.splitlines() if line.strip()]
                assert lines[0][-1] == "UPGRADED"
                assert sorted(line[-1] for line in lines[1:]) == ["false", "false", "true"]
            so_far = set(range(next_value))
            live[-1].wait(lambda _, so_far=so_far: seen() >= so_far, 60, "every record so far delivered")
        wait_for(
            lambda: uniform_and_stable(bootstrap, group, 3, 6), 30, "a stable consumer group of new members"
        )
        produce(bootstrap, topic, range(next_value, next_value + 150), 6)
        next_value += 150
        new[-1].wait(lambda _: seen() >= set(range(next_value)), 60, "every record delivered")
        assert seen() == set(range(next_value))
        for m in new:
            m.close()
    finally:
        for m in members:
            m.kill()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
    per_partition = next_value // 6
    assert sorted((tp.partition, tp.offset) for tp in committed.topic_partitions) == [
        (p, per_partition) for p in range(6)
    ]


def test_group_turns_classic_again_when_its_last_new_member_leaves(kip848_broker: BrokerProcess) -> None:
    """A rollback: the consumer-protocol member leaves a group whose other member is classic; the
    group becomes a classic group again (Kafka 4.0's downgrade) and the classic member takes
    every partition."""
    bootstrap = kip848_broker.bootstrap
    topic, group = f"down-{uuid.uuid4().hex[:6]}", f"gd-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, range(0, 100), 4)
    classic = MemberProcess(bootstrap, group, topic, "cooperative-sticky")
    members = [classic]
    try:
        classic.wait(lambda m: len(m.assigned) == 4, 60, "the classic member alone")
        members.append(MemberProcess(bootstrap, group, topic, "consumer"))
        wait_for(lambda: described(bootstrap, group).type == ConsumerGroupType.CONSUMER, 30, "the upgrade")
        for m in members:
            m.wait(lambda m: len(m.assigned) == 2, 60, "two partitions each in the mixed group")
        members[1].close()
        wait_for(lambda: described(bootstrap, group).type == ConsumerGroupType.CLASSIC, 30, "the downgrade")
        classic.wait(lambda m: len(m.assigned) == 4, 60, "the classic member owning everything again")
        produce(bootstrap, topic, range(100, 200), 4)
        classic.wait(
            lambda m: set(m.values) | set(members[1].values) >= set(range(200)), 60, "every record delivered"
        )
    finally:
        for m in members:
            m.kill()
