"""Replication quotas (KIP-73) on a real 3-broker KRaft cluster, driven by the drop-in
``kafka-reassign-partitions --throttle`` and ``kafka-configs``.

A partition holding 4 MB moves from brokers {0,1} to {1,2} at 100 KB/s, raised to 500 KB/s with
``--additional`` on the way: it completes with every record once and in order, and it takes at
least what the quota allows - the bytes beyond the quota's initial allowance (one window here,
``replication.quota.window.num=2``) and one fetch (1 MiB), at the highest rate. That is a lower
bound from the data, not a timed-speed test: without the throttle the copy takes a fraction of
it. The throttle configs are shown by ``kafka-configs --describe`` while it runs and are gone
after ``--verify``; invalid values are refused with Kafka's wording. One cluster for the module."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.server.cluster.test_reassignment import plan, read_partition
from tests.tools.helpers import run_tool

TOPIC = "throttled"
RECORDS, VALUE_BYTES = 4000, 1000
FIRST_RATE, RATE = 100_000, 500_000  # the first so slow that --additional always finds it running
WINDOW_NUM, WINDOW_S, FETCH_BYTES = 2, 1, 1024 * 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(
        tmp_path_factory.mktemp("throttle"),
        3,
        mode="kraft",
        overrides={"replication.quota.window.num": str(WINDOW_NUM)},
    )
    c.start()
    yield c
    c.stop()


def tool(module: str, *args: str) -> tuple[int, str]:
    result = run_tool(module, list(args))
    return result.returncode, result.stdout + result.stderr


def configs(cluster: Cluster, kind: str, name: str) -> str:
    code, out = tool(
        "configs",
        "--bootstrap-server",
        cluster.bootstrap,
        "--describe",
        "--entity-type",
        kind,
        "--entity-name",
        name,
    )
    assert code == 0, out
    return out


def test_a_throttled_reassignment_moves_everything_no_faster_than_the_quota(
    cluster: Cluster, tmp_path: Path
) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[0, 1]])])[TOPIC].result(30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 20})
    values = [f"{i:08d}".ljust(VALUE_BYTES, "x") for i in range(RECORDS)]
    for value in values:
        producer.produce(TOPIC, value.encode(), partition=0)
        producer.poll(0)
    assert producer.flush(60) == 0

    path = plan(tmp_path / "move.json", {(TOPIC, 0): [1, 2]})
    started = time.monotonic()
    code, out = tool(
        "reassign_partitions", "--bootstrap-server", cluster.bootstrap, "--execute",
        "--reassignment-json-file", path, "--throttle", str(FIRST_RATE),
    )  # fmt: skip
    assert code == 0, out
    assert out.endswith(
        "Warning: You must run --verify periodically, until the reassignment completes, to ensure the "
        f"throttle is removed.\nThe inter-broker throttle limit was set to {FIRST_RATE} B/s\n"
        "Successfully started partition reassignment for throttled-0\n"
    )
    # the sources throttle as leaders, the new replica as follower; the rate on every broker involved
    described = configs(cluster, "topics", TOPIC)
    assert "follower.replication.throttled.replicas=0:2 sensitive=false" in described
    assert "leader.replication.throttled.replicas=0:0,0:1 sensitive=false" in described
    # --additional resubmits the running plan with a new rate
    code, out = tool(
        "reassign_partitions", "--bootstrap-server", cluster.bootstrap, "--execute", "--additional",
        "--reassignment-json-file", path, "--throttle", str(RATE),
    )  # fmt: skip
    assert code == 0, out
    for broker in ("0", "1", "2"):
        assert configs(cluster, "brokers", broker) == (
            f"Dynamic configs for broker {broker} are:\n"
            f"  follower.replication.throttled.rate={RATE} sensitive=false "
            f"synonyms={{DYNAMIC_BROKER_CONFIG:follower.replication.throttled.rate={RATE}}}\n"
            f"  leader.replication.throttled.rate={RATE} sensitive=false "
            f"synonyms={{DYNAMIC_BROKER_CONFIG:leader.replication.throttled.rate={RATE}}}\n"
        )

    def verify() -> str:
        code, out = tool(
            "reassign_partitions",
            "--bootstrap-server",
            cluster.bootstrap,
            "--verify",
            "--reassignment-json-file",
            path,
        )
        assert code == 0, out
        return out

    assert wait_until(lambda: "still in progress" not in verify(), 120)
    elapsed = time.monotonic() - started
    # Nothing moved faster than the quota allows (the log holds at least the values' bytes).
    allowance = RATE * (WINDOW_NUM - 1) * WINDOW_S + FETCH_BYTES
    bound = (RECORDS * VALUE_BYTES - allowance) / RATE
    assert elapsed >= bound, f"the move took {elapsed:.1f} s, less than the quota allows ({bound:.1f} s)"

    assert verify() == (
        "Status of partition reassignment:\nReassignment of partition throttled-0 is completed.\n\n"
        "Clearing broker-level throttles on brokers 0,1,2\nClearing topic-level throttles on topic throttled\n"
    )
    described = configs(cluster, "topics", TOPIC)
    assert "throttled" not in described.replace(f"Dynamic configs for topic {TOPIC}", "")
    assert configs(cluster, "brokers", "2") == "Dynamic configs for broker 2 are:\n"
    assert read_partition(cluster.bootstrap, TOPIC, 0) == values  # every record once, in order
    code, out = tool(
        "log_dirs",
        "--bootstrap-server",
        cluster.bootstrap,
        "--describe",
        "--topic-list",
        TOPIC,
        "--broker-list",
        "1,2",
    )
    sizes = [
        d["partitions"][0]["size"] for b in json.loads(out.splitlines()[2])["brokers"] for d in b["logDirs"]
    ]
    assert len(sizes) == 2 and sizes[0] == sizes[1] >= RECORDS * VALUE_BYTES  # broker 2 has it all


@pytest.mark.parametrize(
    ("kind", "name", "setting", "message"),
    [
        (
            "topics", TOPIC, "leader.replication.throttled.replicas=[0:1,*]",
            "Invalid value [0:1, *] for configuration leader.replication.throttled.replicas: "
            "leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the "
            "following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
        ),
        (
            "brokers", "1", "follower.replication.throttled.rate=-1",
            "Invalid value -1 for configuration follower.replication.throttled.rate: Value must be at least 0",
        ),
        (
            "brokers", "1", "leader.replication.throttled.rate=fast",
            "Invalid value fast for configuration leader.replication.throttled.rate: Not a number of type LONG",
        ),
    ],
)  # fmt: skip
def test_invalid_throttle_values_are_refused_with_kafkas_wording(
    cluster: Cluster, kind: str, name: str, setting: str, message: str
) -> None:
    if kind == "topics":
        AdminClient({"bootstrap.servers": cluster.bootstrap}).create_topics([NewTopic(TOPIC, 1, 1)])
        assert wait_until(lambda: configs_ok(cluster, name), 30)
    code, out = tool(
        "configs", "--bootstrap-server", cluster.bootstrap, "--alter", "--entity-type", kind,
        "--entity-name", name, "--add-config", setting,
    )  # fmt: skip
    assert code == 1
    assert message in out, out  # kafka-configs prints the broker's INVALID_CONFIG message
    key = setting.split("=")[0]
    assert key not in configs(cluster, kind, name)


def configs_ok(cluster: Cluster, name: str) -> bool:
    code, _ = tool(
        "configs",
        "--bootstrap-server",
        cluster.bootstrap,
        "--describe",
        "--entity-type",
        "topics",
        "--entity-name",
        name,
    )
    return code == 0
