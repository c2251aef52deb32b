"""kafka-leader-election: Kafka's option checks, and its three kinds of output lines against a real
three-broker cluster (elected, already elected, could not be elected) and a single broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.tools.helpers import run_tool

BOOT = ["--bootstrap-server", "127.0.0.1:1"]  # never contacted: validation fails first
CONFIGS = ["--admin.config", "a.properties", "--command-config", "c.properties"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "This tool attempts to elect a new leader for a set of topic partitions."),
        (["--topic", "t"], "Missing required option(s): bootstrap-server, election-type"),
        ([*BOOT, "--all-topic-partitions"], "Missing required option(s): election-type"),
        ([*BOOT, "--election-type", "preferred"], "One and only one of the following options is required"),
        (
            [
                *BOOT,
                "--election-type",
                "preferred",
                "--all-topic-partitions",
                "--topic",
                "t",
                "--partition",
                "0",
            ],
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
        ),
        ([*BOOT, "--election-type", "preferred", "--topic", "t"], "Missing required option(s): partition"),
        (
            [*BOOT, "--election-type", "unclean", "--all-topic-partitions", "--partition", "0"],
            "Option partition is only allowed if topic is used",
        ),
        (
            [*BOOT, "--election-type", "fastest", "--all-topic-partitions"],
            "Cannot parse argument 'fastest' of option election-type",
        ),
        (
            [*BOOT, "--election-type", "preferred", "--topic", "t", "--partition", "one"],
            "Cannot parse argument 'one' of option partition",
        ),
        (  # as joptsimple, the value is converted only after the option checks
            [*BOOT, "--election-type", "fastest"],
            "One and only one of the following options is required",
        ),
        (
            [*BOOT, "--election-type", "preferred", "--all-topic-partitions", *CONFIGS],
            'Option "[admin.config]" can\'t be used with option "[command-config]"',
        ),
    ],
)
def test_option_errors_are_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = run_tool("leader_election", args)
    assert result.returncode == 1
    assert message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_duplicate_partitions_in_the_json_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "election.json"
    path.write_text(
        json.dumps({"partitions": [{"topic": "t", "partition": 0}, {"topic": "t", "partition": 0}]})
    )
    result = run_tool(
        "leader_election", [*BOOT, "--election-type", "preferred", "--path-to-json-file", str(path)]
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "Replica election data contains duplicate partitions: [t-0]"


JACKSON = "com.fasterxml.jackson.databind.JsonMappingException: "


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "Replica election data is empty"),
        ("{not json", "Replica election data is empty"),
        ('{"topics": []}', 'Replica election data is missing "partitions" field'),
        ("[1]", JACKSON + "Expected JSON object, received [1]"),
        ('{"partitions": null}', JACKSON + "Expected JSON array, received null"),
        ('{"partitions": [{"topic": "t"}]}', JACKSON + "No such field exists: `partition`"),
        ('{"partitions": [{"topic": 1, "partition": 0}]}', JACKSON + "Expected `String` value, received 1"),
        (
            '{"partitions": [{"topic": "t", "partition": "0"}]}',
            JACKSON + 'Expected `Integer` value, received "0"',
        ),
    ],
)
def test_malformed_json_files_fail_as_kafkas_tool(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "election.json"
    path.write_text(content)
    result = run_tool(
        "leader_election", [*BOOT, "--election-type", "preferred", "--path-to-json-file", str(path)]
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")


def test_a_missing_json_file_is_named_as_java_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    args = [*BOOT, "--election-type", "preferred", "--path-to-json-file", str(missing)]
    result = run_tool("leader_election", args)
    assert (result.returncode, result.stderr) == (1, f"java.nio.file.NoSuchFileException: {missing}\n")


@pytest.fixture(params=["zookeeper", "kraft"])
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 3, mode=request.param)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def leaders(bootstrap: str, topic: str) -> list[int]:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return [p.leader for _, p in sorted(metadata.topics[topic].partitions.items())]


def isr_sizes(bootstrap: str, topic: str) -> list[int]:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return [len(p.isrs) for _, p in sorted(metadata.topics[topic].partitions.items())]


def test_preferred_election_reports_each_outcome(cluster: Cluster, tmp_path: Path) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    assignment = [[0, 1, 2], [0, 2, 1], [2, 1, 0]]
    admin.create_topics([NewTopic("e", len(assignment), replica_assignment=assignment)])["e"].result(30)
    survivors = f"{cluster.brokers[1].bootstrap},{cluster.brokers[2].bootstrap}"
    cluster.brokers[0].kill()
    assert wait_until(lambda: leaders(survivors, "e")[:2] != [0, 0], 30)
    path = tmp_path / "election.json"
    path.write_text(
        json.dumps({"partitions": [{"topic": "e", "partition": 0}, {"topic": "e", "partition": 2}]})
    )
    args = ["--bootstrap-server", survivors, "--election-type", "PREFERRED", "--path-to-json-file", str(path)]
    failed = run_tool("leader_election", args)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        "Valid replica already elected for partitions e-2",
        "Error completing leader election (PREFERRED) for partition: e-0: "
        "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: "
        "Failed to elect leader for partition e-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy",
    ]
    assert failed.stderr.strip() == "1 replica(s) could not be elected"

    cluster.brokers[0].start()
    assert wait_until(lambda: isr_sizes(survivors, "e") == [3, 3, 3], 30)
    elected = run_tool(
        "leader_election",
        ["--bootstrap-server", survivors, "--election-type", "preferred", "--all-topic-partitions"],
    )
    assert elected.returncode == 0, elected.stderr
    line = elected.stdout.strip()
    assert line.startswith("Successfully completed leader election (PREFERRED) for partitions ")
    assert sorted(line.rsplit("partitions ", 1)[1].split(", ")) == ["e-0", "e-1"]
    assert leaders(survivors, "e") == [0, 0, 2]


def test_unclean_election_picks_a_live_replica_out_of_sync(tmp_path: Path) -> None:
    """Replicas 0,1: broker 1 dies (ISR 0), then broker 0 (no leader); broker 1 comes back out of
    sync, so only an unclean election gives the partition a leader again."""
    cluster = Cluster(tmp_path, 3)
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("u", 1, replica_assignment=[[0, 1]])])["u"].result(30)
        observer = cluster.brokers[2].bootstrap

        def partition() -> Any:
            return (
                AdminClient({"bootstrap.servers": observer})
                .list_topics("u", timeout=10)
                .topics["u"]
                .partitions[0]
            )

        def brokers() -> set[int]:
            return set(AdminClient({"bootstrap.servers": observer}).list_topics(timeout=10).brokers)

        cluster.brokers[1].kill()
        assert wait_until(lambda: partition().isrs == [0], 30)
        cluster.brokers[0].kill()
        assert wait_until(lambda: partition().leader == -1, 30)
        cluster.brokers[1].start()
        assert wait_until(lambda: 1 in brokers(), 30)
        assert partition().leader == -1  # clean elections only: broker 1 is not in the ISR
        args = [
            "--bootstrap-server",
            observer,
            "--election-type",
            "unclean",
            "--topic",
            "u",
            "--partition",
            "0",
        ]
        result = run_tool("leader_election", args)
        assert (result.returncode, result.stdout) == (
            0,
            "Successfully completed leader election (UNCLEAN) for partitions u-0\n",
        ), result.stderr
        assert wait_until(lambda: partition().leader == 1, 30)
        again = run_tool("leader_election", args)
        assert (again.returncode, again.stdout) == (0, "Valid replica already elected for partitions u-0\n")
    finally:
        cluster.stop()


def test_a_single_broker_has_nothing_to_elect(broker: BrokerProcess, tmp_path: Path) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # kept alive until its answer
    admin.create_topics([NewTopic("one", 1, 1)])["one"].result(30)
    config = tmp_path / "admin.properties"
    config.write_text("client.id=elections\ndefault.api.timeout.ms=20000\n")
    args = ["--bootstrap-server", broker.bootstrap, "--election-type", "Preferred", "--topic", "one"]
    result = run_tool("leader_election", [*args, "--partition", "0", "--command-config", str(config)])
    assert (result.returncode, result.stdout) == (0, "Valid replica already elected for partitions one-0\n")
    # Kafka 4.2 deprecated --admin.config: still honoured, with a notice on stdout
    result = run_tool("leader_election", [*args, "--partition", "0", "--admin.config", str(config)])
    assert (result.returncode, result.stdout.splitlines()) == (
        0,
        [
            "Option --admin.config has been deprecated and will be removed in a future version. "
            "Use --command-config instead.",
            "Valid replica already elected for partitions one-0",
        ],
    )


def test_an_unknown_partition_is_an_error_line(broker: BrokerProcess) -> None:
    args = ["--bootstrap-server", broker.bootstrap, "--election-type", "unclean", "--topic", "nope"]
    result = run_tool("leader_election", [*args, "--partition", "3"])
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(
        "Error completing leader election (UNCLEAN) for partition: nope-3: "
        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
    ), result.stdout
    assert result.stderr.strip() == "1 replica(s) could not be elected"
