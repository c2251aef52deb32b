"""A lagging controller follower installs the leader's snapshot (KIP-630), and can then lead; an
up-to-date follower takes snapshots of its own log.

Three controllers snapshot every couple of KB of metadata. One follower (F) is stopped; topics
are created until the leader's snapshot ends past F's log end, so the leader no longer has the
records F needs and answers its fetch with the snapshot id. F is started and must catch up (its
log end equal to the leader's, as ``kafka-metadata-quorum describe --replication`` shows it).
Then the other follower (G) is stopped, one more topic is committed by the leader and F, the
leader is killed -9 and G started again: G's log lacks that topic, so only F can win the vote
(Raft's up-to-date rule), and F must lead with every topic - read back from F's own snapshot and
log once the cluster is stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from kcli.server.cluster.image import MetadataImage
from kcli.server.cluster.metadata_log import MetadataLog
from kcli.tools.admin_wire import Connection
from kcli.tools.cli import ToolError
from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until

DESCRIBE_QUORUM = 55


def quorum(broker: BrokerProcess) -> dict | None:
    """DescribeQuorum through the broker: leader id and {voter: (log end, last caught up ms)}."""
    body = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}
    try:
        with Connection("127.0.0.1", broker.port, 5.0) as conn:
            response = conn.request(DESCRIBE_QUORUM, 1, body)
    except (ToolError, OSError):
        return None
    if int(response.error_code) or not response.topics:
        return None
    p = response.topics[0].partitions[0]
    if int(p.error_code) or int(p.leader_id) < 0:
        return None
    voters = {
        int(v.replica_id): (int(v.log_end_offset), int(v.last_caught_up_timestamp)) for v in p.current_voters
    }
    return {"leader": int(p.leader_id), "voters": voters}


def snapshot_end(controller: BrokerProcess) -> int:
    """The end offset of the newest snapshot file in a controller's metadata directory (0: none)."""
    found = [int(p.name.split("-")[0]) for p in controller.log_dirs.glob("__cluster_metadata-0/*.checkpoint")]
    return max(found, default=0)


def topics_in_log(controller: BrokerProcess, node_id: int) -> set[str]:
    """The topics of a stopped controller's metadata: its snapshot, then its log after it."""
    log = MetadataLog(controller.log_dirs, node_id)
    try:
        image = MetadataImage()
        latest = log.latest_snapshot()
        start = log.start_offset
        if latest is not None:
            for rec in log.read_snapshot(latest[1]):
                image.replay(rec)
            start = max(start, latest[0])
        for _, rec in log.read(start, max_records=1 << 62):
            image.replay(rec)
        return set(image.topics)
    finally:
        log.close()


def create(admin: AdminClient, names: list[str]) -> None:
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(30)


def test_lagging_follower_installs_the_snapshot_then_leads(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 1, mode="kraft", controllers=3,
                      controller_overrides={"metadata.log.max.record.bytes.between.snapshots": "2000"})  # fmt: skip
    cluster.start()
    try:
        broker = cluster.brokers[0]
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        assert wait_until(lambda: quorum(broker) is not None, 30)
        leader = quorum(broker)["leader"]  # type: ignore[index]
        by_id = {100 + i: c for i, c in enumerate(cluster.controllers)}
        f_id, g_id = sorted(v for v in by_id if v != leader)
        f, g = by_id[f_id], by_id[g_id]

        create(admin, ["before-0", "before-1"])
        assert wait_until(
            lambda: len({e for e, _ in (quorum(broker) or {"voters": {0: (-1, 0)}})["voters"].values()}) == 1,
            30,
        )
        f.stop()
        f_end = quorum(broker)["voters"][f_id][0]  # type: ignore[index]

        created = ["before-0", "before-1"]
        while True:  # topics F misses, until the leader's snapshot ends past F's log end
            batch = [f"while-f-down-{len(created) + i}" for i in range(10)]
            create(admin, batch)
            created += batch
            if snapshot_end(by_id[leader]) > f_end:
                break
            assert len(created) < 400, "the leader never snapshotted past the stopped follower's log end"

        # G, an up-to-date follower, snapshots its own log too (it never needed the leader's).
        assert wait_until(lambda: any("Wrote snapshot" in line for line in g.output), 30), (
            "the follower G took no snapshot of its own"
        )
        assert snapshot_end(g) > 0
        assert not any("Installed the leader's snapshot" in line for line in g.output)

        restarted_ms = int(time.time() * 1000)
        f.start()

        def f_caught_up() -> bool:
            found = quorum(broker)
            if found is None or found["leader"] != leader:
                return False
            ends = {e for e, _ in found["voters"].values()}
            return len(ends) == 1 and found["voters"][f_id][1] >= restarted_ms

        assert wait_until(f_caught_up, 60), quorum(broker)
        assert any("Installed the leader's snapshot" in line for line in f.output), (
            "F did not install a snapshot"
        )
        assert snapshot_end(f) > f_end

        g.stop()
        create(admin, ["only-on-f-and-leader"])
        created.append("only-on-f-and-leader")
        by_id[leader].kill()
        g.start()
        assert wait_until(lambda: (quorum(broker) or {}).get("leader") == f_id, 60), quorum(broker)
        create(admin, ["after-f-leads"])
        created.append("after-f-leads")
        assert wait_until(lambda: set(created) <= set(admin.list_topics(timeout=10).topics), 30)
    finally:
        cluster.stop()
        for process in [*cluster.controllers, *cluster.brokers]:  # every node's log, for a failure
            (process.workdir / "output.log").write_text("".join(process.output))
    assert set(created) <= topics_in_log(f, f_id)
