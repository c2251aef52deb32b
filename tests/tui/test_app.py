"""The TUI driven by Textual's Pilot against a real broker (``tests/broker_process.py``).

Every wait is on what the interface shows (table rows, screen type, status text), with a
deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, Static, TextArea

from kcli.cluster_view.kafka import KafkaSource
from kcli.tui.app import KcliApp
from kcli.tui.screens.cluster import ClusterScreen
from kcli.tui.screens.dialogs import ConfirmDialog, TypeNameDialog
from kcli.tui.screens.forms import ConfigDialog, CreateTopicDialog, ProduceDialog
from kcli.tui.screens.groups import GroupScreen, GroupsScreen
from kcli.tui.screens.help import HelpScreen
from kcli.tui.screens.messages import MessagesScreen
from kcli.tui.screens.reset_offsets import ResetOffsetsDialog
from kcli.tui.screens.topic import TopicScreen
from kcli.tui.screens.topics import TopicsScreen
from kcli.tui.screens.widgets import StatusBar
from tests.broker_process import BrokerProcess
from tests.tui.helpers import column, rows, sync, wait_for

SIZE = (150, 45)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_app(bootstrap: str, **kwargs: object) -> KcliApp:
    """An app refreshing five times faster than for people, so tests see changes quickly."""
    kwargs.setdefault("refresh_scale", 0.2)
    return KcliApp(KafkaSource(bootstrap, timeout_s=5.0), **kwargs)  # type: ignore[arg-type]


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=10).values():
        fut.result(15)


def produce(bootstrap: str, topic: str, count: int, prefix: str = "value") -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(count):
        producer.produce(topic, key=f"key-{i}".encode(), value=f"{prefix}-{i}".encode())
    assert producer.flush(15) == 0


@pytest.fixture
def bootstrap(shared_broker: BrokerProcess) -> Iterator[str]:
    yield shared_broker.bootstrap


async def filter_topics(pilot, name: str) -> None:
    """Type ``name`` into the topic filter and wait until it is the only row."""
    await pilot.press("slash")
    pilot.app.screen.query_one("#topic-filter", Input).value = name
    await pilot.press("enter")
    await wait_for(pilot, lambda: column(pilot, "#topics") == [name], what=f"only {name} listed")


@sync
async def test_navigate_every_screen(bootstrap: str, shared_broker: BrokerProcess) -> None:
    topic = unique("nav")
    create_topic(bootstrap, topic, partitions=3)
    produce(bootstrap, topic, 5)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        # Topics is the first screen; the new topic shows with its record count.
        await wait_for(pilot, lambda: topic in column(pilot, "#topics"), what="topic row")
        await filter_topics(pilot, topic)
        await wait_for(pilot, lambda: rows(pilot, "#topics")[0][1:4] == ["3", "1", "5"], what="5 records")
        assert rows(pilot, "#topics")[0][4].endswith(" B")  # size on disk, from DescribeLogDirs

        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen), what="cluster screen")
        port = str(shared_broker.port)
        await wait_for(pilot, lambda: rows(pilot, "#brokers")[0][1].endswith(":" + port), what="broker row")
        assert rows(pilot, "#brokers")[0][3] == "yes"  # the only broker is the controller

        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="topics screen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="topic detail")
        await wait_for(pilot, lambda: len(rows(pilot, "#partitions")) == 3, what="3 partitions")
        assert sum(int(r[7]) for r in rows(pilot, "#partitions")) == 5
        await wait_for(pilot, lambda: "retention.ms" in column(pilot, "#configs"), what="configs")
        # Live throughput: records produced now show as a rate and a sparkline.
        produce(bootstrap, topic, 200)
        await wait_for(pilot, lambda: app.screen.query_one("#throughput").display, what="sparkline shown")
        assert "records/s" in str(app.screen.query_one("#rate", Static).content)
        await wait_for(
            pilot, lambda: sum(int(r[7]) for r in rows(pilot, "#partitions")) == 205, what="205 records"
        )

        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MessagesScreen), what="messages screen")
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 200, what="first page of messages")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="back to detail")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="back to topics")

        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen), what="groups screen")
        await wait_for(pilot, lambda: app.screen.loads > 0, what="groups loaded")

        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen), what="help closed")

        # The command palette reaches every screen by name.
        await pilot.press("ctrl+p")
        await pilot.press(*"Show cluster")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette) and app.screen.query_one(CommandList).option_count > 0
            ),
            what="palette hits",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen), what="palette -> cluster")
        assert str(app.screen.query_one(StatusBar).content).startswith("● connected via broker 0")


@sync
async def test_late_timer_tick_or_report_after_quit_is_ignored(bootstrap: str) -> None:
    """A refresh timer or a worker can fire while the app is tearing down its screens (seen on
    CI); painting the status bar then must not raise ``ScreenStackError`` into the user's terminal."""
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.connected is True, what="connected")
    assert not app.screen_stack
    app._tick()
    app.report_success()
    app.report_failure("gone")
    assert app.status_level == "ok"  # nothing was repainted after the last screen went away


@sync
async def test_filter_and_sort_topics(bootstrap: str) -> None:
    prefix = unique("sorted")
    for suffix, partitions in (("a", 1), ("b", 3), ("c", 2)):
        create_topic(bootstrap, f"{prefix}-{suffix}", partitions)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: f"{prefix}-c" in column(pilot, "#topics"), what="topics listed")
        await pilot.press("slash", *prefix, "enter")
        await wait_for(pilot, lambda: len(column(pilot, "#topics")) == 3, what="filtered to 3")
        assert column(pilot, "#topics") == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
        await pilot.press("s")  # next sort column: partitions, largest first
        assert column(pilot, "#topics") == [f"{prefix}-b", f"{prefix}-c", f"{prefix}-a"]
        await pilot.click("#topics", offset=(3, 0))  # header click on Topic: back to name order
        assert column(pilot, "#topics") == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: len(column(pilot, "#topics")) > 3, what="filter cleared")


@sync
async def test_create_and_delete_topic(bootstrap: str) -> None:
    topic = unique("created")
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.loads > 0, what="topics loaded")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTopicDialog), what="create form")
        await pilot.press(*topic)
        form = app.screen
        form.query_one("#partitions", Input).value = "4"
        form.query_one("#configs", Input).value = "cleanup.policy=compact"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="form closed")
        await wait_for(pilot, lambda: topic in column(pilot, "#topics"), what="created topic listed")
        await filter_topics(pilot, topic)
        assert rows(pilot, "#topics")[0][1] == "4"

        # Creating it again is refused by the broker: the reason is shown in the form, which stays
        # open with what was typed, so the student corrects the name instead of retyping it all.
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateTopicDialog), what="create form")
        form = app.screen
        await pilot.press(*topic)
        form.query_one("#configs", Input).value = "retention.ms=60000"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "already exists" in (form.last_error or ""), what="error in the form")
        assert app.screen is form
        assert "already exists" in str(form.query_one("#form-error", Static).content)
        assert form.query_one("#name", Input).value == topic
        assert form.query_one("#configs", Input).value == "retention.ms=60000"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="form closed")

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="detail")
        await wait_for(
            pilot,
            lambda: ["cleanup.policy *", "compact"] in rows(pilot, "#configs"),
            what="config set at creation",
        )
        await pilot.press("escape")

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirmation")
        await pilot.press("n")  # cancelling deletes nothing
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="cancelled")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: column(pilot, "#topics") == [], timeout=20, what="topic gone")


@sync
async def test_produce_browse_and_live_tail(bootstrap: str) -> None:
    topic = unique("produced")
    create_topic(bootstrap, topic, partitions=2)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        app.open_messages(topic)
        await wait_for(pilot, lambda: isinstance(app.screen, MessagesScreen), what="messages screen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.loads > 0, what="empty topic loaded")
        assert rows(pilot, "#messages") == []

        # Produce from the form, with a header.
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProduceDialog), what="produce form")
        form = app.screen
        form.query_one("#key", Input).value = "user-1"
        form.query_one("#headers", Input).value = "source=tui"
        form.query_one("#value", TextArea).text = '{"clicks": 3}'
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="form closed")

        await pilot.press("l")
        await wait_for(pilot, lambda: len(rows(pilot, "#messages")) == 1, what="produced record browsed")
        row = rows(pilot, "#messages")[0]
        assert row[3] == "user-1" and row[4] == '{"clicks": 3}'
        detail = screen.detail_text
        assert "source = tui" in detail and '"clicks": 3' in detail and "JSON" in detail

        # Live tail: records produced from elsewhere appear without reloading.
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.tail_ready, what="tail positioned at the end")
        produce(bootstrap, topic, 3, prefix="tailed")
        await wait_for(
            pilot,
            lambda: sum(r[4].startswith("tailed-") for r in rows(pilot, "#messages")) == 3,
            what="tailed records",
        )

        # The text filter applies to the rows shown.
        screen.query_one("#filter", Input).value = "tailed-1"
        await wait_for(pilot, lambda: column(pilot, "#messages", 4) == ["tailed-1"], what="filtered row")
        await pilot.press("t")
        assert not screen.tailing

        # Browse one partition from an offset.
        screen.query_one("#filter", Input).value = ""
        screen.query_one("#partition", Input).value = "0"
        await pilot.press("l")
        await wait_for(pilot, lambda: set(column(pilot, "#messages", 0)) <= {"0"}, what="partition 0 only")


@sync
async def test_group_lag_falls_and_offsets_reset(bootstrap: str) -> None:
    topic, group = unique("lagged"), unique("group")
    create_topic(bootstrap, topic)
    produce(bootstrap, topic, 10)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])

    def consume_and_commit(count: int) -> None:
        got = 0
        while got < count:
            msg = consumer.poll(10)
            assert msg is not None, "no record within 10 s"
            if msg.error() is None:
                got += 1
        consumer.commit(asynchronous=False)

    app = make_app(bootstrap)
    try:
        async with app.run_test(size=SIZE) as pilot:
            consume_and_commit(4)
            await pilot.press("3")

            def lag() -> str | None:
                found = [r for r in rows(pilot, "#groups") if r[0] == group]
                return found[0][5] if found else None

            await wait_for(pilot, lambda: lag() == "6", what="lag 6 after 4 of 10 consumed")
            consume_and_commit(6)
            await wait_for(pilot, lambda: lag() == "0", what="lag 0 after all consumed")

            # Detail: member with its assignment, per-partition offsets.
            screen = app.screen
            screen.query_one("#groups", DataTable).move_cursor(row=screen.group_ids.index(group))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen), what="group detail")
            await wait_for(pilot, lambda: len(rows(pilot, "#members")) == 1, what="one member")
            assert rows(pilot, "#members")[0][3] == f"{topic}-0"
            await wait_for(
                pilot,
                lambda: [r[:5] for r in rows(pilot, "#offsets")] == [[topic, "0", "10", "10", "0"]],
                what="offsets",
            )
            assert rows(pilot, "#offsets")[0][5].startswith("rdkafka-")  # the owning member

            # Reset is refused while the member is active, as Kafka refuses it.
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, ResetOffsetsDialog), what="reset form")
            await pilot.press("ctrl+r")
            form = app.screen
            await wait_for(
                pilot,
                lambda: "inactive" in str(form.query_one("#form-error", Static).content),
                what="refusal",
            )
            await pilot.press("escape")

            consumer.close()
            await wait_for(pilot, lambda: rows(pilot, "#members") == [], what="member left")
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, ResetOffsetsDialog), what="reset form")
            form = app.screen
            await pilot.press("ctrl+r")  # preview: earliest is the default target
            await wait_for(
                pilot, lambda: rows(pilot, "#preview") == [[topic, "0", "10", "0"]], what="preview"
            )
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm reset")
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen), what="reset done")
            await wait_for(
                pilot,
                lambda: [r[:5] for r in rows(pilot, "#offsets")] == [[topic, "0", "0", "10", "10"]],
                what="lag 10",
            )

            # The other targets, through the same data layer the form uses: an offset is clamped
            # into the log, a timestamp finds the first record at or after it.
            plan = app.source.preview_reset(group, "offset", 7)
            assert [(r.current, r.target) for r in plan] == [(0, 7)]
            assert [r.target for r in app.source.preview_reset(group, "offset", 99)] == [10]
            assert [r.target for r in app.source.preview_reset(group, "timestamp", 0)] == [0]
            far_future = 4_102_444_800_000  # 2100-01-01: no record yet, so the log end
            assert [r.target for r in app.source.preview_reset(group, "timestamp", far_future)] == [10]
    finally:
        consumer.close()


@sync
async def test_broker_loss_is_shown_and_recovered(tmp_path) -> None:
    broker = BrokerProcess(tmp_path).start()
    try:
        app = make_app(broker.bootstrap, max_backoff_s=1.0)
        async with app.run_test(size=SIZE) as pilot:
            status = lambda: str(app.screen.query_one(StatusBar).content)  # noqa: E731
            await wait_for(pilot, lambda: status().startswith("● connected"), what="connected")
            broker.kill()
            await wait_for(pilot, lambda: status().startswith("✖"), timeout=30, what="disconnection shown")
            assert app.connected is False
            broker.start()
            await wait_for(pilot, lambda: status().startswith("● connected"), timeout=40, what="reconnected")
    finally:
        broker.kill()


@sync
async def test_replication_state_of_a_cluster_with_a_broker_down(tmp_path) -> None:
    from tests.cluster_process import Cluster

    cluster = Cluster(tmp_path, 3).start()
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        # Every partition of a topic has the same replication factor (Kafka refuses a mixed manual
        # assignment), so the lost follower and the lost only replica are in two topics.
        futures = admin.create_topics(
            [
                NewTopic("rep", 2, replica_assignment=[[0, 1, 2], [1, 0, 2]]),
                NewTopic("rep-solo", 1, replica_assignment=[[2]]),
            ]
        )
        for future in futures.values():
            future.result(30)
        cluster.brokers[2].kill()
        app = make_app(f"{cluster.brokers[0].bootstrap},{cluster.brokers[1].bootstrap}")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash")
            app.screen.query_one("#topic-filter", Input).value = "rep"
            await pilot.press("enter")
            await wait_for(pilot, lambda: column(pilot, "#topics") == ["rep", "rep-solo"], what="rep topics")
            # rep's partitions lost a follower, rep-solo its only replica: both are reported.
            await wait_for(
                pilot,
                lambda: [r[5] for r in rows(pilot, "#topics")] == ["2 of 2", "1 offline"],
                what="replication state",
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="topic detail")
            await wait_for(
                pilot,
                lambda: (
                    [(r[1], r[3], r[4], r[8]) for r in rows(pilot, "#partitions")]
                    == [("0", "0,1", "2", "URP"), ("1", "1,0", "2", "URP")]
                ),
                what="partition states",
            )
            await pilot.press("1")
            await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen), what="cluster screen")
            # the live brokers, and the one that holds replicas but is down
            await wait_for(
                pilot,
                lambda: (
                    [(r[0], r[4]) for r in rows(pilot, "#brokers")]
                    == [("0", "up"), ("1", "up"), ("2", "DOWN")]
                ),
                what="two live brokers, one down",
            )
            summary = str(app.screen.query_one("#cluster-summary", Static).content)
            assert "under-replicated [b]2[/b]   offline [b]1[/b]" in summary, summary
            assert "brokers [b]2[/b] (down: [b]2[/b])" in summary, summary
    finally:
        cluster.stop()


@sync
async def test_partitions_without_a_committed_offset_count_and_show_their_owner(bootstrap: str) -> None:
    """A live member owns three partitions but committed only partition 0: the other two show
    ``-`` as kafka-consumer-groups does, yet their records count in the lag (from the log start),
    in the group list, the group detail (with the owning member) and the topic's group table."""
    topic, group = unique("uncommitted"), unique("group")
    create_topic(bootstrap, topic, partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(30):
        producer.produce(topic, value=b"v", partition=i % 3)
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        while not consumer.assignment():
            consumer.poll(0.5)
        consumer.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
        app = make_app(bootstrap)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3")
            await wait_for(pilot, lambda: isinstance(app.screen, GroupsScreen), what="groups")

            def group_row() -> list[str] | None:
                found = [r for r in rows(pilot, "#groups") if r[0] == group]
                return found[0] if found else None

            # 6 behind on partition 0, and partitions 1 and 2 read from their start: 10 + 10.
            await wait_for(pilot, lambda: (group_row() or [""] * 6)[5] == "26*", what="lag 26*")
            assert group_row()[4] == topic
            assert "no committed offset" in str(app.screen.query_one("#groups-note", Static).content)

            app.open_group(group)
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen), what="group detail")
            await wait_for(pilot, lambda: len(rows(pilot, "#offsets")) == 3, what="3 partitions")
            offsets = rows(pilot, "#offsets")
            assert [r[:5] for r in offsets] == [
                [topic, "0", "4", "10", "6"],
                [topic, "1", "-", "10", "10*"],
                [topic, "2", "-", "10", "10*"],
            ]
            member = rows(pilot, "#members")[0][2]
            assert {r[5] for r in offsets} == {member}  # the owning member of every partition

            await pilot.press("escape")
            app.open_topic(topic)
            await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="topic detail")
            await wait_for(
                pilot,
                lambda: [r[:5] for r in rows(pilot, "#topic-groups")] == [[group, "Stable", "1", "3", "26*"]],
                what="the group and its lag on this topic",
            )
    finally:
        consumer.close()


@sync
async def test_topic_configs_are_edited_with_broker_validation(bootstrap: str) -> None:
    topic = unique("configured")
    create_topic(bootstrap, topic)
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        app.open_topic(topic)
        await wait_for(pilot, lambda: isinstance(app.screen, TopicScreen), what="topic detail")
        screen = app.screen
        await wait_for(pilot, lambda: "retention.ms" in column(pilot, "#configs"), what="configs")
        configs = screen.query_one("#configs", DataTable)
        configs.move_cursor(row=column(pilot, "#configs").index("retention.ms"))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigDialog), what="config form")
        form = app.screen
        form.query_one("#value", Input).value = "soon"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.last_error is not None, what="the broker's refusal")
        assert "retention.ms" in form.last_error and app.screen is form  # the form stays, value kept
        assert form.query_one("#value", Input).value == "soon"
        form.query_one("#value", Input).value = "60000"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="form closed")
        await wait_for(pilot, lambda: ["retention.ms *", "60000"] in rows(pilot, "#configs"), what="set")

        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigDialog), what="config form")
        await pilot.press("ctrl+r")  # back to the default: the override is removed
        await wait_for(pilot, lambda: app.screen is screen, what="form closed")
        await wait_for(
            pilot,
            lambda: any(r[0] == "retention.ms" and r[1] != "60000" for r in rows(pilot, "#configs")),
            what="default again",
        )


@sync
async def test_internal_topics_need_their_name_typed_to_be_deleted(bootstrap: str) -> None:
    system = f"_{unique('kcli-system')}"  # a platform topic like _schemas: same rule as __*
    create_topic(bootstrap, system)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("any")})
    consumer.commit(offsets=[TopicPartition(system, 0, 0)], asynchronous=False)  # __consumer_offsets exists
    consumer.close()
    app = make_app(bootstrap)
    async with app.run_test(size=SIZE) as pilot:
        await filter_topics(pilot, "__consumer_offsets")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameDialog), what="typed confirmation")
        dialog = app.screen
        await pilot.press("y", "enter")  # a single y (then enter) deletes nothing
        assert app.screen is dialog
        assert "nothing deleted" in str(dialog.query_one("#form-error", Static).content)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, TopicsScreen), what="cancelled")
        assert column(pilot, "#topics") == ["__consumer_offsets"]

        await filter_topics(pilot, system)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameDialog), what="typed confirmation")
        await pilot.press(*system, "enter")
        await wait_for(pilot, lambda: column(pilot, "#topics") == [], timeout=20, what="deleted")
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    assert "__consumer_offsets" in md.topics and system not in md.topics


def test_secured_listener_group_reader_answers_like_the_wire_reader(bootstrap: str) -> None:
    """The AdminClient-based reader (used when the listener is not PLAINTEXT) reads the same
    groups, states, members' assignments and committed offsets as the kio one."""
    from kcli.cluster_view.admin_groups import AdminGroupReader
    from kcli.cluster_view.group_reader import WireGroupReader

    topic, group = unique("readers"), unique("group")
    create_topic(bootstrap, topic, partitions=2)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        while not consumer.assignment():
            consumer.poll(0.5)
        consumer.commit(offsets=[TopicPartition(topic, 1, 0)], asynchronous=False)
        source = KafkaSource(bootstrap)
        md = source.admin.list_topics(timeout=10)
        with WireGroupReader({b.id: (b.host, b.port) for b in md.brokers.values()}, 5.0) as wire:
            expected = wire.read([group])[group]
            assert group in wire.list_groups().groups
        admin = AdminGroupReader(source)
        assert group in admin.list_groups().groups
        got = admin.read([group])[group]
        assert (got.state, got.protocol, got.offsets, got.errors) == ("Stable", "range", {(topic, 1): 0}, [])
        assert (expected.state, expected.protocol, expected.offsets) == (got.state, got.protocol, got.offsets)
        assert [m.assignment for m in got.members or ()] == [((topic, 0), (topic, 1))]
        assert [m.assignment for m in expected.members or ()] == [((topic, 0), (topic, 1))]
    finally:
        consumer.close()
