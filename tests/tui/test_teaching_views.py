"""The teaching views of ``kcli tui`` driven by Textual's Pilot against the real broker: the
partition's log drawn (cells, markers, the window, a record opened and X-rayed, retention removing
cells as it runs), the Explain pane, a group's timeline, per-partition sparklines."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.cluster_view.kafka import KafkaSource
from kcli.explain_texts import key_partition
from kcli.tui.app import KcliApp
from kcli.tui.screens.groups import GroupScreen
from kcli.tui.screens.messages import MessagesScreen
from kcli.tui.screens.partition import PartitionScreen
from kcli.tui.screens.topic import TopicScreen
from kcli.tui.screens.widgets import ExplainPane
from tests.broker_process import BrokerProcess
from tests.tui.helpers import rows, sync, wait_for

SIZE = (150, 45)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_app(bootstrap: str) -> KcliApp:
    return KcliApp(KafkaSource(bootstrap, timeout_s=5.0), refresh_scale=0.2)


@pytest.fixture
def bootstrap(shared_broker: BrokerProcess) -> Iterator[str]:
    yield shared_broker.bootstrap


def setup_topic(bootstrap: str, records: int = 30) -> tuple[str, str]:
    """A topic with 2 partitions, ``records`` keyed records in partition 1, a group committed at 10."""
    topic, group = unique("drawn"), unique("g")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(15)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(records):
        p.produce(topic, key=f"user-{i % 3}".encode(), value=f'{{"n": {i}}}'.encode(), partition=1)
        if i % 10 == 9:
            p.flush(10)  # three batches of ten
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 1, 10)], asynchronous=False)
    c.close()
    return topic, group


def strip(app: KcliApp) -> str:
    return str(app.screen.query_one("#log-strip").render())


@sync
async def test_the_log_drawn_from_the_topic_view(bootstrap: str) -> None:
    topic, group = setup_topic(bootstrap)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        app.open_topic(topic)
        await wait_for(
            pilot, lambda: isinstance(app.screen, TopicScreen) and app.screen.loads > 0, what="topic"
        )
        await pilot.press("down")  # partition 1
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, PartitionScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, PartitionScreen) and screen.partition == 1
        await wait_for(
            pilot, lambda: screen.plog is not None and screen.plog.groups is not None, what="groups"
        )
        text = strip(app)
        head = str(app.screen.query_one("#partition-head").render())
        assert f"{topic}-1" in head and "log start 0" in head and "HW 30" in head
        for label in ("┃seg 0", "▲log start 0", f"▲{group} 10 (lag 20)"):
            assert label in text, (label, text)
        # every batch the leader holds is drawn; the producer flushed after 10 and 20 records, so
        # batches begin there (librdkafka may split a flush's records into more than one batch)
        bases = {b.base_offset for b in screen.plog.batches}
        assert {0, 10, 20} <= bases
        for b in screen.plog.batches:
            if b.last_offset - b.base_offset >= 3:  # long enough to carry its label
                assert f"b {b.base_offset}-{b.last_offset}" in text, (b, text)
        assert "HW 30" in text and "LEO b0" in text
        assert screen.cursor == 29  # follows the newest record
        await pilot.press("left", "left", "left", "enter")
        await wait_for(pilot, lambda: "offset 26" in screen.pane_text, what="record 26 opened")
        assert "user-2" in screen.pane_text and '"n": 26' in screen.pane_text
        assert "batch " in screen.pane_text and "record(s)" in screen.pane_text
        await pilot.press("x")
        await wait_for(pilot, lambda: "X-ray of" in screen.xray_text, what="X-ray")
        base = next(b.base_offset for b in screen.plog.batches if b.holds(26))
        for field in (
            "baseOffset",
            "recordCount",
            "offsetDelta",
            f"offset {base} + {26 - base} = 26",
            "'user-2'",
        ):
            assert field in screen.xray_text, field
        # home jumps to the log start: the window moves and is read again
        loads = screen.loads
        await pilot.press("home")
        await wait_for(pilot, lambda: screen.cursor == 0 and screen.loads > loads, what="log start")
        assert screen.plog is not None and screen.plog.first == 0


@sync
async def test_retention_visibly_removes_cells(bootstrap: str) -> None:
    topic, _group = setup_topic(bootstrap)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        app.open_partition_log(topic, 1)
        await wait_for(pilot, lambda: isinstance(app.screen, PartitionScreen) and app.screen.loads > 0)
        screen = app.screen
        assert isinstance(screen, PartitionScreen)
        await pilot.press("home")
        await wait_for(
            pilot, lambda: screen.plog is not None and screen.plog.first == 0, what="from the start"
        )
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for fut in admin.delete_records([TopicPartition(topic, 1, 5)]).values():
            fut.result(15)  # what retention does, at once
        await wait_for(
            pilot, lambda: screen.plog is not None and screen.plog.log_start == 5, what="log start 5"
        )
        assert {o for o, (why, _) in screen.removed.items() if why == "retention"} == {0, 1, 2, 3, 4}
        assert "struck: gone since last look (retention)" in strip(app)
        assert any("retention deleted 5 record(s)" in t for t in screen.events.texts())


@sync
async def test_explain_pane_follows_the_view(bootstrap: str) -> None:
    topic, group = setup_topic(bootstrap)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        app.open_partition_log(topic, 1)
        await wait_for(pilot, lambda: isinstance(app.screen, PartitionScreen) and app.screen.loads > 0)
        await pilot.press("E")
        await wait_for(pilot, lambda: bool(app.screen.query(ExplainPane)), what="explain pane")
        lines = "\n".join(app.screen.query_one(ExplainPane).lines)
        assert "High watermark 30" in lines and f"Group {group} committed 10" in lines
        await pilot.press("escape")  # back: the pane stays on, explaining that view
        await wait_for(pilot, lambda: not isinstance(app.screen, PartitionScreen))
        await wait_for(
            pilot,
            lambda: "A topic is a named stream" in "\n".join(app.screen.query_one(ExplainPane).lines),
            what="the topics explained",
        )
        # a record: why it is in its partition (these were written to partition 1 explicitly)
        app.open_messages(topic, None)
        await wait_for(pilot, lambda: isinstance(app.screen, MessagesScreen) and len(app.screen.shown) == 30)
        await wait_for(pilot, lambda: "murmur2" in "\n".join(app.screen.query_one(ExplainPane).lines))
        lines = "\n".join(app.screen.query_one(ExplainPane).lines)
        first = app.screen.shown[0].message
        expected = key_partition(first.key, 2)
        if expected == 1:
            assert "mod 2 partitions = 1." in lines, lines
        else:
            assert "yet it is in partition 1 (an explicit partition, or the count changed)" in lines, lines
        await pilot.press("E")
        await wait_for(pilot, lambda: not app.screen.query(ExplainPane), what="pane closed")


@sync
async def test_group_timeline_and_partition_sparklines(bootstrap: str) -> None:
    topic, group = unique("live"), unique("g")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(15)
    stop = threading.Event()

    def produce() -> None:
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        i = 0
        while not stop.is_set():
            p.produce(topic, key=f"k{i % 7}".encode(), value=b"x")
            p.poll(0)
            i += 1
            stop.wait(0.01)
        p.flush(5)

    consumers: list[Consumer] = []
    running: list[threading.Thread] = []

    def consume(c: Consumer) -> None:
        while not stop.is_set():
            c.poll(0.2)

    def start_member(name: str) -> None:
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": name,
                "auto.offset.reset": "earliest",
                "auto.commit.interval.ms": 500,
                "session.timeout.ms": 6000,
            }
        )
        c.subscribe([topic])
        consumers.append(c)
        t = threading.Thread(target=consume, args=(c,), daemon=True)
        running.append(t)
        t.start()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    app = make_app(bootstrap)
    try:
        start_member("member-a")
        async with app.run_test(size=SIZE) as pilot:
            app.open_topic(topic)
            await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen))
            # per-partition records/s sparklines fill as the producer writes
            await wait_for(
                pilot,
                lambda: all(r[9].strip() for r in rows(pilot, "#partitions")),
                timeout=30,
                what="records/s sparklines",
            )
            app.pop_screen()
            app.open_group(group)
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.loads > 0)
            screen = app.screen
            assert isinstance(screen, GroupScreen)
            await wait_for(
                pilot, lambda: len(screen.detail.members if screen.detail else ()) == 1, timeout=30
            )
            start_member("member-b")
            # the rebalance timeline tells the join and the moved partitions; the commits table
            # the committed offsets moving
            await wait_for(
                pilot,
                lambda: any(e.text.startswith("member-b joined") for e in screen.timeline.events),
                timeout=40,
                what="member joined",
            )
            await wait_for(
                pilot,
                lambda: (
                    any(e.text.startswith("moved ") for e in screen.timeline.events)
                    and any(e.kind == "commit" for e in screen.events.events)
                ),
                timeout=30,
                what="moved partitions and commits",
            )
            assert any(f"{group}: committed {topic}-" in r[1] for r in rows(pilot, "#group-commits"))
    finally:
        stop.set()
        for t in running:
            t.join(5)
        for c in consumers:
            c.close()
        producer.join(10)
