"""KIP-848 consumer groups (``group.protocol=consumer``) with confluent-kafka 2.12 (librdkafka),
and the protocol answers a client library hides (exact error codes, through raw requests).

One broker for the module, with short consumer-group timeouts so a crashed member is fenced in
seconds (``group.consumer.session.timeout.ms`` 3 s, heartbeats every 300 ms).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode

from tests.broker_process import BrokerProcess
from tests.group_member import MemberProcess
from tests.kafka_wire import Connection, code

KIP848_SETTINGS = {
    "group.consumer.min.session.timeout.ms": "1000",
    "group.consumer.session.timeout.ms": "3000",
    "group.consumer.min.heartbeat.interval.ms": "100",
    "group.consumer.heartbeat.interval.ms": "300",
}


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("kip848"), KIP848_SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until its answer
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def produce(bootstrap: str, topic: str, values: range, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in values:
        producer.produce(topic, str(i).encode(), partition=i % partitions)
    assert producer.flush(30) == 0


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def described(bootstrap: str, group: str):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    result = admin.describe_consumer_groups([group])[group].result(15)
    del admin
    return result


def uniform_and_stable(bootstrap: str, group: str, members: int, partitions: int) -> bool:
    """The group is Stable with ``members`` members, each owning its target, the loads differ by
    at most one and every partition is owned exactly once: the uniform assignor's shape."""
    from confluent_kafka import ConsumerGroupState

    d = described(bootstrap, group)
    if d.state != ConsumerGroupState.STABLE or len(d.members) != members:
        return False
    owned: list[int] = []
    sizes = []
    for m in d.members:
        current = sorted(tp.partition for tp in m.assignment.topic_partitions)
        target = sorted(tp.partition for tp in m.target_assignment.topic_partitions)
        if current != target:
            return False
        owned += current
        sizes.append(len(current))
    return sorted(owned) == list(range(partitions)) and max(sizes) - min(sizes) <= 1


def test_three_members_join_leave_and_crash_with_every_record_delivered(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"kip848-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    produce(bootstrap, topic, range(0, 600), 6)
    members: list[MemberProcess] = []
    try:
        a = MemberProcess(bootstrap, group, topic, "consumer")
        members.append(a)
        a.wait(lambda m: len(m.assigned) == 6, 30, "the first member to own every partition")
        b = MemberProcess(bootstrap, group, topic, "consumer")
        c = MemberProcess(bootstrap, group, topic, "consumer")
        members += [b, c]
        for m in members:
            m.wait(lambda m: len(m.assigned) == 2, 30, "two partitions per member")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 3, 6), 30, "a uniform, stable assignment")
        produce(bootstrap, topic, range(600, 1200), 6)

        a.close()  # leaves the group: its partitions move to the others at once
        assert "CLOSED" in a.lines
        for m in (b, c):
            m.wait(lambda m: len(m.assigned) == 3, 30, "three partitions each after a member left")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 2, 6), 30, "uniform after a leave")

        b.kill()  # no leave: fenced after group.consumer.session.timeout.ms
        c.wait(lambda m: len(m.assigned) == 6, 30, "the survivor to own everything after the crash")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 1, 6), 30, "stable with the survivor")
        produce(bootstrap, topic, range(1200, 1800), 6)

        def seen() -> set[int]:
            return set(a.values) | set(b.values) | set(c.values)

        c.wait(lambda _: seen() >= set(range(1800)), 60, "every record delivered at least once")
        assert seen() == set(range(1800))
        c.close()
    finally:
        for m in members:
            m.kill()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(15)
    assert sorted((tp.partition, tp.offset) for tp in committed.topic_partitions) == [
        (p, 300) for p in range(6)
    ]


def test_regex_subscription_follows_new_topics(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    prefix = f"rx{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, f"{prefix}-a", 2)
    create_topic(bootstrap, f"{prefix}-b", 1)
    produce(bootstrap, f"{prefix}-a", range(0, 10), 2)
    produce(bootstrap, f"{prefix}-b", range(10, 20), 1)
    member = MemberProcess(bootstrap, f"g-{prefix}", f"^{prefix}-.*", "consumer")
    try:
        member.wait(lambda m: set(m.values) >= set(range(20)), 30, "both matching topics consumed")
        create_topic(bootstrap, f"{prefix}-c", 1)
        produce(bootstrap, f"{prefix}-c", range(20, 30), 1)
        member.wait(lambda m: set(m.values) >= set(range(30)), 60, "a topic created later consumed too")
        d = described(bootstrap, f"g-{prefix}")
        topics = {tp.topic for m in d.members for tp in m.assignment.topic_partitions}
        assert topics == {f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"}
    finally:
        member.close()


# --- the protocol's answers, exactly ---------------------------------------------------------------


def find_coordinator(conn: Connection, group: str) -> None:
    """What a client does first (it also creates ``__consumer_offsets``)."""
    answer = conn.request(10, 4, {"key_type": 0, "coordinator_keys": [group]})
    assert code(answer.coordinators[0].error_code) == 0


def heartbeat(conn: Connection, group: str, member: str, epoch: int, **fields: object):
    body = {
        "group_id": group,
        "member_id": member,
        "member_epoch": epoch,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout": 30000 if epoch == 0 else -1,
        "subscribed_topic_names": None,
        "subscribed_topic_regex": None,
        "server_assignor": None,
        "topic_partitions": [] if epoch == 0 else None,
    }
    body.update(fields)
    return conn.request(68, 1, body)


def owned(response) -> list[dict]:
    return [
        {"topic_id": tp.topic_id, "partitions": list(tp.partitions)}
        for tp in response.assignment.topic_partitions
    ]


def commit(conn: Connection, group: str, member: str, epoch: int, topic: str, version: int = 9) -> int:
    response = conn.request(
        8,
        version,
        {
            "group_id": group,
            "generation_id_or_member_epoch": epoch,
            "member_id": member,
            "group_instance_id": None,
            "retention_time": -1,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 1,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                }
            ],
        },
    )
    return code(response.topics[0].partitions[0].error_code)


def fetch_error(conn: Connection, group: str, member: str, epoch: int) -> int:
    response = conn.request(
        9,
        9,
        {
            "groups": [{"group_id": group, "member_id": member, "member_epoch": epoch, "topics": None}],
            "require_stable": False,
        },
    )
    return code(response.groups[0].error_code)


def test_offset_commits_are_fenced_by_member_epoch(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"fence-{uuid.uuid4().hex[:6]}", f"gf-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 2)
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    with Connection(bootstrap) as conn:
        find_coordinator(conn, group)
        joined = heartbeat(conn, group, a, 0, subscribed_topic_names=[topic])
        assert code(joined.error_code) == 0 and joined.member_epoch == 1
        assert sorted(p for tp in joined.assignment.topic_partitions for p in tp.partitions) == [0, 1]
        assert commit(conn, group, a, 1, topic) == ErrorCode.none
        assert commit(conn, group, a, 0, topic) == ErrorCode.stale_member_epoch
        assert commit(conn, group, a, 2, topic) == ErrorCode.stale_member_epoch
        assert commit(conn, group, "nobody", 1, topic) == ErrorCode.unknown_member_id
        assert commit(conn, group, a, 1, topic, version=8) == ErrorCode.unsupported_version
        assert (
            commit(conn, group, "", -1, topic) == ErrorCode.unknown_member_id
        )  # not empty: no admin commits
        assert fetch_error(conn, group, a, 0) == ErrorCode.stale_member_epoch
        assert fetch_error(conn, group, a, 1) == ErrorCode.none

        # B joins: A must revoke a partition before B gets it, and keeps epoch 1 until it has.
        joined_b = heartbeat(conn, group, b, 0, subscribed_topic_names=[topic])
        assert joined_b.member_epoch == 2 and owned(joined_b) == []  # the partition is not released yet
        revoke = heartbeat(conn, group, a, 1, topic_partitions=owned(joined))
        assert revoke.member_epoch == 1 and len(owned(revoke)[0]["partitions"]) == 1
        released = heartbeat(conn, group, a, 1, topic_partitions=owned(revoke))
        assert released.member_epoch == 2
        assert commit(conn, group, a, 1, topic) == ErrorCode.stale_member_epoch
        assert commit(conn, group, a, 2, topic) == ErrorCode.none
        given = heartbeat(conn, group, b, 2, topic_partitions=[])
        assert given.member_epoch == 2 and len(owned(given)[0]["partitions"]) == 1

        # Wrong epochs and unknown members are refused, and the group is unharmed.
        assert code(heartbeat(conn, group, a, 7).error_code) == ErrorCode.fenced_member_epoch
        assert code(heartbeat(conn, group, "nobody", 3).error_code) == ErrorCode.unknown_member_id
        bad_regex = heartbeat(conn, group, uuid.uuid4().hex, 0, subscribed_topic_regex="(unclosed")
        assert code(bad_regex.error_code) == ErrorCode.invalid_regular_expression
        assert "not a valid regular expression" in bad_regex.error_message
        bad_assignor = heartbeat(
            conn, group, uuid.uuid4().hex, 0, subscribed_topic_names=[topic], server_assignor="x"
        )
        assert code(bad_assignor.error_code) == ErrorCode.unsupported_assignor
        assert code(heartbeat(conn, group, a, 2).error_code) == ErrorCode.none
        describe = conn.request(69, 1, {"group_ids": [group], "include_authorized_operations": False})
        assert {m.member_id for m in describe.groups[0].members} == {a, b}
        assert describe.groups[0].group_epoch == 2 and describe.groups[0].assignment_epoch == 2

        # A member that stops heartbeating is fenced after the session timeout; B gets its partition.
        def b_owns_everything() -> bool:
            answer = heartbeat(conn, group, b, heartbeat_epoch[0], topic_partitions=owned_by_b[0])
            heartbeat_epoch[0] = answer.member_epoch
            if answer.assignment is not None:
                owned_by_b[0] = owned(answer)
            return sum(len(t["partitions"]) for t in owned_by_b[0]) == 2

        heartbeat_epoch, owned_by_b = [2], [owned(given)]
        wait_for(b_owns_everything, 20, "the silent member's partition to move")
        assert commit(conn, group, a, 2, topic) == ErrorCode.unknown_member_id


def test_heartbeat_for_a_classic_group_that_cannot_migrate(kip848_broker: BrokerProcess) -> None:
    group = f"connect-{uuid.uuid4().hex[:6]}"
    with Connection(kip848_broker.bootstrap) as conn:
        find_coordinator(conn, group)
        join = {
            "group_id": group,
            "session_timeout": 10000,
            "rebalance_timeout": 10000,
            "member_id": "",
            "group_instance_id": None,
            "protocol_type": "connect",
            "protocols": [{"name": "sessioned", "metadata": b"\x00\x01"}],
            "reason": None,
        }
        first = conn.request(11, 5, join)
        assert code(first.error_code) == ErrorCode.member_id_required
        joined = conn.request(11, 5, dict(join, member_id=first.member_id))
        assert code(joined.error_code) == 0
        refused = heartbeat(conn, group, uuid.uuid4().hex, 0, subscribed_topic_names=["t"])
        assert code(refused.error_code) == ErrorCode.group_id_not_found
        assert refused.error_message == f"Group {group} is not a consumer group."
        listed = conn.request(16, 5, {"states_filter": [], "types_filter": []})
        assert [(g.group_type, g.protocol_type) for g in listed.groups if g.group_id == group] == [
            ("classic", "connect")
        ]


class WireMember:
    """A consumer-protocol member driven by hand: it keeps its epoch and what it owns, and
    acknowledges every assignment at once (as a client that revokes instantly would)."""

    def __init__(self, conn: Connection, group: str, topic: str, instance: str | None = None):
        self.conn, self.group, self.topic, self.instance = conn, group, topic, instance
        self.member_id = uuid.uuid4().hex
        self.epoch = 0
        self.owned: list[dict] = []

    def beat(self):
        if self.epoch == 0:
            answer = heartbeat(
                self.conn,
                self.group,
                self.member_id,
                0,
                subscribed_topic_names=[self.topic],
                instance_id=self.instance,
            )
        else:
            answer = heartbeat(
                self.conn,
                self.group,
                self.member_id,
                self.epoch,
                topic_partitions=self.owned,
                instance_id=self.instance,
            )
        if code(answer.error_code) == 0:
            self.epoch = answer.member_epoch
            if answer.assignment is not None:
                self.owned = owned(answer)
        return answer

    def partitions(self) -> list[int]:
        return sorted(p for tp in self.owned for p in tp["partitions"])


def test_static_member_returns_without_a_rebalance(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"static-{uuid.uuid4().hex[:6]}", f"gs-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 4)
    with Connection(bootstrap) as conn:
        find_coordinator(conn, group)
        a, b = WireMember(conn, group, topic, "i-1"), WireMember(conn, group, topic, "i-2")
        for _ in range(4):
            a.beat()
            b.beat()
        assert len(a.partitions()) == 2 and len(b.partitions()) == 2
        epoch, kept = a.epoch, a.partitions()
        taken = heartbeat(conn, group, uuid.uuid4().hex, 0, subscribed_topic_names=[topic], instance_id="i-1")
        assert code(taken.error_code) == ErrorCode.unreleased_instance_id
        left = heartbeat(conn, group, a.member_id, -2, instance_id="i-1")
        assert code(left.error_code) == 0 and left.member_epoch == -2
        back = WireMember(conn, group, topic, "i-1")
        assert code(back.beat().error_code) == 0
        assert back.partitions() == kept
        describe = conn.request(69, 1, {"group_ids": [group], "include_authorized_operations": False})
        assert describe.groups[0].group_epoch == epoch  # no rebalance for the returning instance
        assert {m.member_id for m in describe.groups[0].members} == {back.member_id, b.member_id}
        stale = heartbeat(conn, group, a.member_id, epoch, instance_id="i-1")
        assert code(stale.error_code) == ErrorCode.fenced_instance_id


def test_offsets_survive_the_group_and_commit_by_admin_when_empty(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"empty-{uuid.uuid4().hex[:6]}", f"ge-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    member = uuid.uuid4().hex
    with Connection(bootstrap) as conn:
        find_coordinator(conn, group)
        joined = heartbeat(conn, group, member, 0, subscribed_topic_names=[topic])
        assert commit(conn, group, member, joined.member_epoch, topic) == 0
        assert code(heartbeat(conn, group, member, -1).error_code) == 0
        assert commit(conn, group, "", -1, topic) == 0  # an empty group takes the admin's commits
    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
    )
    assert committed[group].result(15).topic_partitions[0].offset == 1
    from confluent_kafka import ConsumerGroupState

    assert described(bootstrap, group).state == ConsumerGroupState.EMPTY
    deleted = admin.delete_consumer_groups([group])[group]
    deleted.result(15)
    listed = admin.list_consumer_groups().result(15)
    assert group not in {g.group_id for g in listed.valid}
