"""``kcli tui`` through broker outages of a real 3-broker KRaft cluster (``tests/cluster_process.py``).

One cluster for the module; each test restarts what it killed. The controller runs Kafka's
automatic preferred-leader rebalance every second instead of every five minutes, so the leaders
of ``__consumer_offsets`` - the group coordinators - move back to the restarted brokers within
seconds, as they do in a lab after ``leader.imbalance.check.interval.seconds``. That move is what
left the groups view stuck for 14 minutes: librdkafka's admin client kept asking the broker that
had stopped being the coordinator (or crashed on its answer, see ``kcli/cluster_view/group_reader.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.cluster_view.group_reader import WireGroupReader
from kcli.cluster_view.kafka import KafkaSource
from kcli.tui.app import KcliApp
from kcli.tui.screens.forms import CreateTopicDialog
from kcli.tui.screens.groups import GroupsScreen
from kcli.tui.screens.topic import TopicScreen
from kcli.tui.screens.widgets import StatusBar
from tests.broker_process import BrokerProcess
from tests.cluster_process import Cluster
from tests.tui.helpers import column, rows, sync, wait_for

SIZE = (160, 45)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("tui-outage")
    cluster = Cluster(
        workdir,
        3,
        mode="kraft",
        overrides={
            "offsets.topic.replication.factor": "3",
            "default.replication.factor": "3",
            "num.partitions": "3",
            "replica.lag.time.max.ms": "3000",
        },
    )
    assert cluster.controller is not None
    props = cluster.controller.properties
    props.write_text(
        props.read_text() + "leader.imbalance.check.interval.seconds=1\nbroker.session.timeout.ms=4000\n"
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def make_app(bootstrap: str, **kwargs: object) -> KcliApp:
    kwargs.setdefault("refresh_scale", 0.2)
    timeout = float(kwargs.pop("timeout_s", 5.0))  # type: ignore[arg-type]
    return KcliApp(KafkaSource(bootstrap, timeout_s=timeout), **kwargs)  # type: ignore[arg-type]


def coordinators(cluster: Cluster, groups: list[str]) -> dict[str, int | str]:
    brokers = {
        i: ("127.0.0.1", b.port) for i, b in enumerate(cluster.brokers) if b.proc and b.proc.poll() is None
    }
    with WireGroupReader(brokers, 5.0) as reader:
        return reader.find_coordinators(groups)


def committed_groups(bootstrap: str, topic: str, count: int) -> list[str]:
    """``count`` groups that each committed offset 4 on every partition of ``topic`` and left."""
    names = [f"lab-{uuid.uuid4().hex[:6]}-{i}" for i in range(count)]
    for name in names:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": name, "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition(topic, p, 4) for p in range(3)], asynchronous=False)
        consumer.close()
    return names


def restart(cluster: Cluster, ids: list[int]) -> None:
    for i in ids:
        if cluster.brokers[i].proc is None or cluster.brokers[i].proc.poll() is not None:
            cluster.brokers[i].start()


@sync
async def test_groups_view_recovers_by_itself_after_two_brokers_die_and_return(cluster: Cluster) -> None:
    topic = f"outage-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 3, 3)])[topic].result(30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(30):
        producer.produce(topic, value=b"v%d" % i, partition=i % 3)
    assert producer.flush(30) == 0
    groups = committed_groups(cluster.bootstrap, topic, 6)
    before = coordinators(cluster, groups)
    assert all(isinstance(c, int) for c in before.values()), before
    # Kill the two brokers coordinating the most groups; the app knows only the first as bootstrap.
    doomed = sorted({0, 1, 2}, key=lambda b: -sum(c == b for c in before.values()))[:2]
    moved = [g for g in groups if before[g] in doomed]
    assert moved, before
    app = make_app(cluster.brokers[doomed[0]].bootstrap)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.switch_mode("groups")
            await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen), what="groups screen")
            screen = app.screen

            def row(group: str) -> list[str] | None:
                found = [r for r in rows(pilot, "#groups") if r[0] == group]
                return found[0] if found else None

            def all_readable() -> bool:
                return all(
                    (r := row(g)) is not None and r[1] == "Empty" and r[5] == "18" and r[6] == ""
                    for g in groups
                )

            await wait_for(pilot, all_readable, timeout=30, what="every group Empty with lag 18")

            for i in doomed:
                cluster.brokers[i].kill()
            # While they are gone the app says so: the status bar names the brokers that are down,
            # and a group whose coordinator cannot be asked shows why (the coordinators move to the
            # surviving broker within seconds, so a refresh may also find them all readable).
            said: list[str] = []
            status = lambda: str(screen.query_one(StatusBar).content)  # noqa: E731

            def says_what_failed() -> bool:
                said.extend(f"{r[0]}: {r[6]}" for g in moved if (r := row(g)) is not None and r[6])
                down = ",".join(map(str, sorted(doomed)))
                return f"{down} down" in status()

            await wait_for(pilot, says_what_failed, timeout=30, what="the brokers that are down")
            assert f"connected via broker {doomed[0]}" not in status(), status()
            assert not [r for r in rows(pilot, "#groups") if r[1] == "Unknown"], rows(pilot, "#groups")

            restart(cluster, doomed)
            # Coordinators move back to the restarted brokers (their preferred leaders, once back in
            # the ISR): wait until one has, then the view must show every group again, by itself,
            # without a key press.
            deadline = time.monotonic() + 120
            while not any(coordinators(cluster, moved).get(g) == before[g] for g in moved):
                assert time.monotonic() < deadline, "no coordinator moved back"
                await pilot.pause(0.5)
            loads = screen.loads
            await wait_for(
                pilot, lambda: screen.loads >= loads + 2, timeout=60, what="two refreshes after the move"
            )
            await wait_for(pilot, all_readable, timeout=60, what="every group readable again")
            assert screen.problem is None
            # ... and once it can read everything again it says what failed meanwhile.
            for line in said:
                group = line.split(":", 1)[0]
                assert any(group in message and "failed" in message for message in screen.recoveries), (
                    said,
                    screen.recoveries,
                )
            assert "down" not in status(), status()
    finally:
        restart(cluster, [0, 1, 2])


@sync
async def test_bootstrap_broker_down_status_and_offsets_tell_the_truth(cluster: Cluster) -> None:
    """Killing the broker the app was started with: the status bar stops claiming it is connected
    to it, and partitions it led show ``-`` (unknown), never librdkafka's -1001 "invalid offset"."""
    topic = f"solo-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 3, replica_assignment=[[0], [1], [2]])])[topic].result(30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap})
    for p in range(3):
        producer.produce(topic, value=b"x", partition=p)
    assert producer.flush(30) == 0
    app = make_app(cluster.brokers[0].bootstrap)
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.open_topic(topic)
            await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="topic screen")
            screen = app.screen
            await wait_for(
                pilot, lambda: column(pilot, "#partitions", 6) == ["1", "1", "1"], what="watermarks"
            )
            status = lambda: str(screen.query_one(StatusBar).content)  # noqa: E731
            assert status().startswith("● connected via broker"), status()

            cluster.brokers[0].kill()
            seen: list[list[str]] = []
            loads = screen.loads

            def settled() -> bool:
                seen.extend(r[5:7] for r in rows(pilot, "#partitions"))
                return screen.loads > loads + 3 and "does not answer" in status()

            await wait_for(pilot, settled, timeout=40, what="refreshes after the kill")
            assert not [cell for cells in seen for cell in cells if cell.startswith("-") and cell != "-"], (
                seen
            )
            text = status()
            assert f"bootstrap {cluster.brokers[0].bootstrap} does not answer" in text, text
            assert "via broker 0 at" not in text and "brokers 1,2 up, 0 down" in text, text
    finally:
        restart(cluster, [0])


@sync
async def test_create_form_starts_from_the_cluster_defaults(cluster: Cluster) -> None:
    """default.replication.factor=3 and num.partitions=3 on this cluster: the form says 3 and 3."""
    topic = f"defaults-{uuid.uuid4().hex[:6]}"
    app = make_app(cluster.bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.loads > 0, what="topics loaded")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTopicDialog), what="create form")
        form = app.screen
        await wait_for(pilot, lambda: form.settled, what="defaults read")
        assert form.query_one("#rf").value == "3"
        assert form.query_one("#partitions").value == "3"
        await pilot.press(*topic, "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateTopicDialog), what="created")
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10)
    assert [len(p.replicas) for p in md.topics[topic].partitions.values()] == [3, 3, 3]


@sync
async def test_reconnects_as_soon_as_a_broker_answers(tmp_path: Path) -> None:
    """After four failed refreshes the backoff is 16 s; a broker that comes back is used within
    a few seconds anyway, because the app probes for one every second."""
    broker = BrokerProcess(tmp_path).start()
    try:
        app = make_app(broker.bootstrap, timeout_s=2.0)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.connected is True, what="connected")
            broker.kill()
            await wait_for(pilot, lambda: app.failures >= 4, timeout=60, what="four failed refreshes")
            broker.start()
            await wait_for(pilot, lambda: app.connected is True, timeout=10, what="reconnected within 10 s")
            assert app.last_restored and "no broker answered from" in app.last_restored
    finally:
        broker.kill()
