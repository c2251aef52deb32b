"""A KRaft controller quorum (issue 22): three process.roles=controller voters and three brokers.

One cluster for the module: kafka-metadata-quorum's output in Kafka's format, then kill -9 of the
active controller while an idempotent acks=all producer runs - a new leader within seconds,
topic creation working afterwards, every acknowledged record read back exactly once, and the
metadata identical on every broker at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("quorum"), 3, mode="kraft", controllers=3)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def quorum(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kcli.tools.metadata_quorum",
            "--bootstrap-server",
            bootstrap,
            "describe",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def status(bootstrap: str) -> dict[str, str]:
    out = quorum(bootstrap, "--status")
    if out.returncode:
        return {}
    return dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)


def leader_id(bootstrap: str) -> int | None:
    found = status(bootstrap).get("LeaderId")
    return int(found) if found else None


def test_describe_status_and_replication_in_kafkas_format(cluster: Cluster):
    assert wait_until(lambda: leader_id(cluster.bootstrap) is not None, 30)
    out = quorum(cluster.bootstrap, "--status")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    labels = ["ClusterId", "LeaderId", "LeaderEpoch", "HighWatermark", "MaxFollowerLag",
              "MaxFollowerLagTimeMs", "CurrentVoters", "CurrentObservers"]  # fmt: skip
    assert [line.split(":")[0] for line in lines] == labels
    assert all(line[24] != " " and line[:24].endswith(" ") for line in lines)  # values at column 25
    values = {k: v.strip() for k, v in (line.split(":", 1) for line in lines)}
    assert int(values["LeaderId"]) in (100, 101, 102)
    voters = [c.port for c in cluster.controllers]
    expected = ", ".join(
        f'{{"id": {100 + i}, "endpoints": ["CONTROLLER://127.0.0.1:{port}"]}}'
        for i, port in enumerate(voters)
    )
    assert values["CurrentVoters"] == f"[{expected}]"
    assert values["CurrentObservers"] == '[{"id": 0}, {"id": 1}, {"id": 2}]'

    out = quorum(cluster.bootstrap, "--replication")
    assert out.returncode == 0, out.stderr
    rows = [line.rstrip("\t").split("\t") for line in out.stdout.splitlines()]
    assert [c.strip() for c in rows[0]] == [
        "NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"
    ]  # fmt: skip
    assert len({len(row[0]) for row in rows}) == 1  # each column padded to its widest cell
    statuses = [(int(r[0]), r[6].strip()) for r in rows[1:]]
    assert statuses[0] == (int(values["LeaderId"]), "Leader")
    assert sorted(s for _, s in statuses[1:3]) == ["Follower", "Follower"]
    assert statuses[3:] == [(0, "Observer"), (1, "Observer"), (2, "Observer")]
    assert all(r[1].strip() == "AAAAAAAAAAAAAAAAAAAAAA" for r in rows[1:])

    both = quorum(cluster.bootstrap, "--status", "--replication")
    assert both.returncode == 1
    assert (
        both.stderr.strip()
        == "Only one of --status or --replication should be specified with describe sub-command"
    )


def test_a_clean_stop_of_the_active_controller_hands_over_by_end_quorum_epoch(cluster: Cluster):
    """KIP-595's EndQuorumEpoch: the stopping leader tells the voters, they elect the next one at
    once (their log says why), and the stop prints no traceback. The node is started again after,
    so the module's cluster keeps three voters."""
    assert wait_until(lambda: leader_id(cluster.bootstrap) is not None, 30)
    old = leader_id(cluster.bootstrap)
    victim = next(c for c in cluster.controllers if f"node.id={old}\n" in c.properties.read_text())
    others = [c for c in cluster.controllers if c is not victim]
    marks = [len(c.output) for c in others]
    assert victim.stop() == 0
    stopped_log = "".join(victim.output)
    assert "Traceback" not in stopped_log, stopped_log[-3000:]
    assert "Resigning the leadership of epoch" in stopped_log
    assert wait_until(lambda: (leader_id(cluster.bootstrap) or old) != old, 15), "no new leader"
    new = leader_id(cluster.bootstrap)
    reasons = ["".join(c.output[mark:]) for c, mark in zip(others, marks, strict=True)]
    assert all(f"Leader {old} resigned epoch" in r and "(EndQuorumEpoch" in r for r in reasons), reasons
    assert f"Leader {old} unreachable" not in "".join(reasons)  # not the fetch timeout's way
    new_leader = next(c for c in others if f"node.id={new}\n" in c.properties.read_text())
    assert "Elected as leader" in "".join(new_leader.output[marks[others.index(new_leader)] :])
    victim.start()
    assert wait_until(lambda: status(cluster.bootstrap).get("MaxFollowerLag", "").strip() == "0", 30)


def metadata_view(bootstrap: str) -> dict[str, list[tuple[int, int, tuple[int, ...], tuple[int, ...]]]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(timeout=10)
    return {
        name: sorted(
            (p.id, p.leader, tuple(p.replicas), tuple(sorted(p.isrs))) for p in t.partitions.values()
        )
        for name, t in md.topics.items()
    }


def test_kill_the_active_controller_under_load(cluster: Cluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("load", 3, 3, config={"min.insync.replicas": "2"})])["load"].result(30)
    acked: list[bytes] = []
    errors: list[str] = []
    stop = threading.Event()

    def produce() -> None:
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 5})  # fmt: skip

        def done(err, msg) -> None:  # type: ignore[no-untyped-def]
            if err is None:
                acked.append(msg.value())
            else:
                errors.append(str(err))

        i = 0
        while not stop.is_set():
            producer.produce("load", f"m{i}".encode(), on_delivery=done)
            producer.poll(0.002)
            i += 1
        producer.flush(60)

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        assert wait_until(lambda: len(acked) > 200, 30)
        old = leader_id(cluster.bootstrap)
        victim = next(c for c in cluster.controllers if f"node.id={old}\n" in c.properties.read_text())
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait()
        assert wait_until(lambda: (leader_id(cluster.bootstrap) or old) != old, 15), "no new leader"
        elected_in = time.monotonic() - killed_at
        assert elected_in < 15
        result = admin.create_topics([NewTopic("after-failover", 2, 3)])["after-failover"]
        result.result(30)
        before = len(acked)
        assert wait_until(lambda: len(acked) > before + 200, 30)
    finally:
        stop.set()
        thread.join(90)
    assert not errors, errors[:3]

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "check", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})  # fmt: skip
    ends = {p: consumer.get_watermark_offsets(TopicPartition("load", p), timeout=10)[1] for p in range(3)}
    consumer.assign([TopicPartition("load", p, 0) for p in range(3)])
    seen: list[bytes] = []
    positions = dict.fromkeys(range(3), 0)
    deadline = time.monotonic() + 60
    while any(positions[p] < ends[p] for p in range(3)) and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        seen.append(msg.value())
        positions[msg.partition()] = msg.offset() + 1
    consumer.close()
    assert len(seen) == len(set(seen)), "a record was written twice"
    assert set(acked) <= set(seen), f"{len(set(acked) - set(seen))} acknowledged record(s) lost"

    for broker in cluster.brokers:
        assert wait_until(lambda b=broker: "after-failover" in metadata_view(b.bootstrap), 30)
    # Identical metadata on every broker once they have all applied the same log.
    assert wait_until(lambda: len({repr(metadata_view(b.bootstrap)) for b in cluster.brokers}) == 1, 30)
    views = {b.bootstrap: metadata_view(b.bootstrap) for b in cluster.brokers}
    assert len({repr(v) for v in views.values()}) == 1
    assert re.match(r"^\d+$", status(cluster.bootstrap)["HighWatermark"].strip())
