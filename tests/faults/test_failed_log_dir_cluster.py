"""A failed log dir in a 3-broker KRaft cluster takes only its partitions away from the broker:
broker 0 holds partition ``fails`` in one log dir and ``stays`` in the other, both led by it. Its
``fails`` dir is replaced by a file (the next segment roll cannot create its files there): the
controller moves the leadership of ``fails`` to another in-sync replica and an idempotent acks=all
producer goes on, every acknowledged record read back once and in order; ``stays`` keeps broker 0
as its leader and takes writes; ``kafka-log-dirs --describe`` shows the error on that dir only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode

from kcli.tools.cluster_wire import ClusterView
from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.server.cluster.test_reassignment import LoadProducer, read_partition
from tests.tools.helpers import run_tool


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "cluster", 3, mode="kraft", overrides={"log.segment.bytes": "16384"})
    for broker in c.brokers:  # two log dirs each
        text = broker.properties.read_text()
        second = broker.workdir / "second"
        text = re.sub(r"^log\.dirs=(.*)$", rf"log.dirs=\1,{second}", text, flags=re.M)
        broker.properties.write_text(text)
    c.start()
    yield c
    c.stop()


def _alter(bootstrap: str, broker: int, topic: str, path: Path) -> int:
    view = ClusterView(bootstrap)
    try:
        view.load([])
        body = {"dirs": [{"path": str(path), "topics": [{"name": topic, "partitions": [0]}]}]}
        return int(view.request(34, 2, body, node_id=broker).results[0].partitions[0].error_code)
    finally:
        view.close()


def _leader(admin: AdminClient, topic: str) -> int:
    return admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader


def test_a_failed_log_dir_moves_only_its_leaderships(cluster: Cluster) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    topics = [
        NewTopic(t, 1, replica_assignment=[[0, 1, 2]], config={"min.insync.replicas": "2"})
        for t in ("fails", "stays")
    ]
    for future in admin.create_topics(topics).values():
        future.result(30)
    b0 = cluster.brokers[0]
    first, second = b0.log_dirs, b0.workdir / "second"
    assert _alter(cluster.bootstrap, 0, "fails", second) == ErrorCode.none
    assert _alter(cluster.bootstrap, 0, "stays", first) == ErrorCode.none
    assert wait_until(lambda: (second / "fails-0").is_dir() and (first / "stays-0").is_dir(), 30)
    assert wait_until(lambda: _leader(admin, "fails") == 0 and _leader(admin, "stays") == 0, 30)

    fails = LoadProducer(cluster.bootstrap, "fails", 1)
    stays = LoadProducer(cluster.bootstrap, "stays", 1)
    for load in (fails, stays):
        load.thread.start()
    try:
        assert wait_until(lambda: fails.count() >= 200 and stays.count() >= 200, 60)
        second.rename(second.with_name("second.gone"))
        second.write_text("not a directory")
        assert wait_until(lambda: _leader(admin, "fails") in (1, 2), 60)
        mark = fails.count(), stays.count()
        assert wait_until(lambda: fails.count() >= mark[0] + 300 and stays.count() >= mark[1] + 300, 60)
        assert _leader(admin, "stays") == 0
    finally:
        for load in (fails, stays):
            load.stop.set()
            load.thread.join(90)
    assert fails.errors == [] and stays.errors == []
    assert read_partition(cluster.bootstrap, "fails", 0) == fails.acked[0]
    assert read_partition(cluster.bootstrap, "stays", 0) == stays.acked[0]
    result = run_tool(
        "log_dirs", ["--bootstrap-server", cluster.bootstrap, "--describe", "--broker-list", "0"]
    )
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout.splitlines()[2])
    errors = {d["logDir"]: d["error"] for d in described["brokers"][0]["logDirs"]}
    assert errors == {str(first): None, str(second): "org.apache.kafka.common.errors.KafkaStorageException"}
    assert "Log dir" in "".join(b0.output) and "failed: moving the leadership" in "".join(b0.output)
