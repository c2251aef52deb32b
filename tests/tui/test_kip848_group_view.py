"""The TUI's group view for KIP-848 groups: the protocol, the group and member epochs, each member's
current and target assignment, and the rebalance timeline built from one refresh to the next."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from textual.widgets import DataTable, Static

from kcli.cluster_view.kafka import KafkaSource
from kcli.cluster_view.model import GroupDetail, GroupMemberInfo
from kcli.tui.app import KcliApp
from kcli.tui.screens.groups import GroupScreen
from kcli.tui.screens.rebalance_timeline import Timeline
from tests.broker_process import BrokerProcess
from tests.compat.test_kip848_confluent import KIP848_SETTINGS, create_topic, uniform_and_stable, wait_for
from tests.group_member import MemberProcess
from tests.tui.helpers import rows, sync
from tests.tui.helpers import wait_for as wait_in_app


def detail(owners: dict[str, list[int]], epoch: int | None = None, state: str = "Stable") -> GroupDetail:
    members = tuple(
        GroupMemberInfo(m, f"client-{m}", "/h", tuple(("t", p) for p in ps)) for m, ps in owners.items()
    )
    return GroupDetail("g", state, "range", 0, members, (), (), "classic", epoch, epoch)


def test_timeline_tells_joins_moves_and_pauses() -> None:
    now = [100.0]
    timeline = Timeline(clock=lambda: now[0])
    timeline.observe(detail({"a": [0, 1, 2, 3]}))
    now[0] = 102.0  # eager: everything revoked while the group rebalances
    timeline.observe(detail({"a": [], "b": []}, state="PreparingRebalance"))
    now[0] = 105.0
    timeline.observe(detail({"a": [0, 1], "b": [2, 3]}))
    texts = [e.text for e in timeline.events]
    assert "client-b joined (b)" in texts and "state PreparingRebalance -> Stable" in texts
    assert (
        "moved t-0 -> client-a, paused 3.0 s; t-1 -> client-a, paused 3.0 s; t-2 -> client-b, paused 3.0 s; "
        "t-3 -> client-b, paused 3.0 s" in texts
    )
    now[0] = 107.0  # incremental: only one partition moves, straight to its new owner
    timeline.observe(detail({"a": [0], "b": [2, 3, 1]}))
    assert timeline.events[-1].text == "moved t-1 -> client-b, paused 0.0 s"
    timeline.observe(detail({"b": [0, 1, 2, 3]}))
    assert "client-a left or was fenced (a)" in [e.text for e in timeline.events]


@pytest.fixture(scope="module")
def kip848_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    proc = BrokerProcess(tmp_path_factory.mktemp("kip848-tui"), KIP848_SETTINGS).start()
    try:
        yield proc
    finally:
        proc.stop()


@sync
async def test_group_view_shows_epochs_targets_and_the_rebalance(kip848_broker: BrokerProcess) -> None:
    bootstrap = kip848_broker.bootstrap
    topic, group = f"tui848-{uuid.uuid4().hex[:6]}", f"gt-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 4)
    members = [MemberProcess(bootstrap, group, topic, "consumer")]
    try:
        members[0].wait(lambda m: len(m.assigned) == 4, 60, "the first member to own everything")
        wait_for(lambda: uniform_and_stable(bootstrap, group, 1, 4), 30, "a stable group")
        app = KcliApp(KafkaSource(bootstrap, timeout_s=5.0), refresh_scale=0.2)  # type: ignore[arg-type]
        async with app.run_test(size=(160, 45)) as pilot:
            app.push_screen(GroupScreen(group))
            await wait_in_app(pilot, lambda: len(rows(pilot, "#members")) == 1, what="one member")

            def summary() -> str:
                return str(app.screen.query_one("#group-summary", Static).render())

            await wait_in_app(pilot, lambda: "consumer (KIP-848)" in summary(), what="the group's type")
            assert "uniform" in summary() and "group epoch" in summary()
            assert "(epoch " in rows(pilot, "#members")[0][3]
            members.append(MemberProcess(bootstrap, group, topic, "consumer"))
            await wait_in_app(
                pilot, lambda: len(rows(pilot, "#members")) == 2, timeout=60, what="two members"
            )

            def timeline() -> str:
                widget = app.screen.query_one("#group-timeline", Static)
                return str(widget.render()) if widget.display else ""

            await wait_in_app(
                pilot, lambda: "joined" in timeline(), timeout=60, what="the join in the timeline"
            )
            await wait_in_app(pilot, lambda: "moved" in timeline(), timeout=60, what="moved partitions")
            assert app.screen.query_one("#members", DataTable).row_count == 2
    finally:
        for m in members:
            m.kill()
