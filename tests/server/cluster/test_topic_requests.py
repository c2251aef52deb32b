"""Requests the broker accepted without doing what they asked (issue 12) and topic rules Kafka's
controller enforces (issue 14), on a lone broker and on a three-broker cluster:

- CreatePartitions honours an explicit replica assignment or answers Kafka's error;
- ListOffsets checks the client's current leader epoch (FENCED/UNKNOWN_LEADER_EPOCH);
- InitProducerId without a transactional id never bumps the epoch of an id it is handed;
- ``a_b`` is refused when ``a.b`` exists (the names collide in metrics), and vice versa;
- one request may not create more than Kafka's 10,000 metadata records (POLICY_VIOLATION).

Raw ListOffsets and InitProducerId requests go through the broker's own kio-based Kafka client,
as no client library lets a test choose the leader epoch or producer id it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from kcli.server.cluster.kafka_connection import KafkaConnection
from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.tools.helpers import run_tool

BATCH_MESSAGE = "Unable to perform excessively large batch operation."


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("cluster"), 3)
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    broker = BrokerProcess(tmp_path_factory.mktemp("single")).start()
    yield broker
    broker.stop()


@pytest.fixture(params=["single", "cluster"])
def bootstrap(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(request.param).bootstrap


def create_error(admin: AdminClient, topic: NewTopic, validate_only: bool = False) -> KafkaError | None:
    future = admin.create_topics([topic], validate_only=validate_only, operation_timeout=30)[topic.topic]
    try:
        future.result(60)
        return None
    except KafkaException as exc:
        return exc.args[0]


def replicas(admin: AdminClient, topic: str) -> list[list[int]]:
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    return [list(partitions[p].replicas) for p in sorted(partitions)]


def raw(bootstrap: str, api_key: int, version: int, body: dict[str, Any]) -> Any:
    host, _, port = bootstrap.split(",")[0].rpartition(":")

    async def go() -> Any:
        conn = KafkaConnection(host, int(port), "kcli-test")
        try:
            return await conn.request(api_key, version, body, timeout_s=30)
        finally:
            await conn.close()

    return asyncio.run(go())


# --- topic rules (issue 14) --------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [("a.b", "a_b"), ("x_y", "x.y")])
def test_names_that_collide_in_metrics_are_refused(bootstrap: str, first: str, second: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    suffix = "-cluster" if "," in bootstrap else "-single"
    first, second = first + suffix, second + suffix
    assert create_error(admin, NewTopic(first, 1, 1)) is None
    error = create_error(admin, NewTopic(second, 1, 1))
    assert error is not None and error.code() == KafkaError.TOPIC_EXCEPTION, error
    assert error.str() == f"Topic '{second}' collides with existing topic: {first}"
    assert second not in admin.list_topics(timeout=10).topics


def test_one_request_may_create_at_most_ten_thousand_records(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # 1 TopicRecord + 9,999 PartitionRecords fit; one more partition (or one config) does not.
    assert create_error(admin, NewTopic("wide", 9_999, 1), validate_only=True) is None
    for topic in (NewTopic("wide", 10_000, 1), NewTopic("wide", 9_999, 1, config={"retention.ms": "1000"})):
        error = create_error(admin, topic, validate_only=True)
        assert error is not None and error.code() == KafkaError.POLICY_VIOLATION, error
        assert error.str() == BATCH_MESSAGE
    error = create_error(admin, NewTopic("huge", 100_000, 1))
    assert error is not None and error.code() == KafkaError.POLICY_VIOLATION, error
    assert "huge" not in admin.list_topics(timeout=10).topics


def test_kafka_topics_reports_the_bound_as_kafka_does(single: BrokerProcess) -> None:
    result = run_tool(
        "topics",
        ["--create", "--topic", "many", "--partitions", "100000", "--bootstrap-server", single.bootstrap],
    )
    assert result.returncode == 1
    assert f"Error while executing topic command : {BATCH_MESSAGE}" in result.stderr


# --- CreatePartitions with an explicit assignment ---------------------------------------------


def test_create_partitions_honours_an_explicit_assignment(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("grow", 1, replica_assignment=[[0]])])["grow"].result(30)
    admin.create_partitions([NewPartitions("grow", 3, replica_assignment=[[1], [1]])])["grow"].result(30)
    assert wait_until(lambda: replicas(admin, "grow") == [[0], [1], [1]], 30)

    refusals = [
        ([[7]], "The manual partition assignment includes broker 7, but no such broker is registered."),
        ([[1, 1]], "The manual partition assignment includes the broker 1 more than once."),
        ([[1], [2]], "Attempted to add 1 additional partition(s), but only 2 assignment(s) were specified."),
        (
            [[1, 2]],
            "The manual partition assignment includes a partition with 2 replica(s), but this is not "
            "consistent with previous partitions, which have 1 replica(s).",
        ),
    ]
    for assignment, message in refusals:
        future = admin.create_partitions([NewPartitions("grow", 4, replica_assignment=assignment)])["grow"]
        with pytest.raises(KafkaException) as exc:
            future.result(30)
        error = exc.value.args[0]
        assert (error.code(), error.str()) == (KafkaError.INVALID_REPLICA_ASSIGNMENT, message)
    assert len(replicas(admin, "grow")) == 3


def test_kafka_topics_alter_with_a_replica_assignment(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("grown", 1, replica_assignment=[[2]])])["grown"].result(30)
    result = run_tool(
        "topics",
        [
            "--alter", "--topic", "grown", "--partitions", "3",
            "--replica-assignment", "2,1,1", "--bootstrap-server", cluster.bootstrap,
        ],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert wait_until(lambda: replicas(admin, "grown") == [[2], [1], [1]], 30)


def test_a_lone_broker_refuses_an_assignment_naming_other_brokers(single: BrokerProcess) -> None:
    admin = AdminClient({"bootstrap.servers": single.bootstrap})
    admin.create_topics([NewTopic("alone", 1, 1)])["alone"].result(30)
    future = admin.create_partitions([NewPartitions("alone", 2, replica_assignment=[[1]])])["alone"]
    with pytest.raises(KafkaException) as exc:
        future.result(30)
    assert exc.value.args[0].code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    admin.create_partitions([NewPartitions("alone", 2, replica_assignment=[[0]])])["alone"].result(30)
    assert replicas(admin, "alone") == [[0], [0]]


# --- InitProducerId ---------------------------------------------------------------------------


def test_init_producer_id_never_bumps_the_epoch_of_an_id_it_did_not_issue(single: BrokerProcess) -> None:
    body = {
        "transactional_id": None,
        "transaction_timeout": 60000,
        "producer_id": 987_654,
        "producer_epoch": 3,
    }
    answer = raw(single.bootstrap, 22, 4, body)
    assert answer.error_code == 0
    assert answer.producer_id != 987_654 and answer.producer_epoch == 0
    following = raw(single.bootstrap, 22, 4, dict(body, producer_id=-1, producer_epoch=-1))
    assert (following.producer_id, following.producer_epoch) == (answer.producer_id + 1, 0)


# --- ListOffsets and the current leader epoch (last: it moves a leadership) -------------------


def list_offsets(bootstrap: str, topic: str, current_leader_epoch: int) -> tuple[int, int]:
    body = {
        "replica_id": -1,
        "isolation_level": 0,
        "topics": [
            {
                "name": topic,
                "partitions": [
                    {"partition_index": 0, "current_leader_epoch": current_leader_epoch, "timestamp": -1}
                ],
            }
        ],
    }
    (partition,) = raw(bootstrap, 2, 4, body).topics[0].partitions
    return partition.error_code, partition.offset


def test_list_offsets_checks_the_current_leader_epoch(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("epochs", 1, replica_assignment=[[0, 1]])])["epochs"].result(30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    producer.produce("epochs", b"x")
    assert producer.flush(30) == 0
    leader = cluster.brokers[0].bootstrap
    assert list_offsets(leader, "epochs", -1) == (0, 1)
    assert list_offsets(leader, "epochs", 0) == (0, 1)
    assert list_offsets(leader, "epochs", 1)[0] == KafkaError.UNKNOWN_LEADER_EPOCH

    cluster.brokers[0].kill()  # broker 1 leads under epoch 1
    follower = cluster.brokers[1].bootstrap
    assert wait_until(lambda: list_offsets(follower, "epochs", 1)[0] == 0, 30)
    assert list_offsets(follower, "epochs", 0)[0] == KafkaError.FENCED_LEADER_EPOCH
    assert list_offsets(follower, "epochs", 2)[0] == KafkaError.UNKNOWN_LEADER_EPOCH
    cluster.brokers[0].start()
