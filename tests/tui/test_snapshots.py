"""Layout snapshots of the main screens, fed by a fixed data source so that they never drift.

Regenerate after an intended layout change with ``pytest tests/tui --snapshot-update`` and review
the SVG diff. Functional behaviour is tested against the real broker in ``test_app.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from kcli.tui.app import KcliApp
from kcli.tui.screens.base import DataScreen
from tests.tui.fixed_source import FixedSource
from tests.tui.helpers import wait_for

SIZE = (130, 36)


def make_app() -> KcliApp:
    app = KcliApp(FixedSource(), live_refresh=False)
    app.clock_text = lambda _wall: "12:00:00"  # timelines print wall times: fixed for the snapshots
    return app


def loaded(*keys: str, final: type | None = None) -> Callable[[Pilot], Awaitable[None]]:
    """Press ``keys`` one by one, each time waiting until the new screen has applied its data;
    ``final``: the screen type the last key opens (a modal's push is not done when press returns)."""

    async def run_before(pilot: Pilot) -> None:
        async def settle() -> None:
            await wait_for(
                pilot,
                lambda: (
                    pilot.app.screen.loads > 0
                    if isinstance(pilot.app.screen, DataScreen)
                    else getattr(pilot.app.screen, "settled", True)
                ),
                what="screen data",
            )
            # Let the data's repaint and any relayout it causes (a wrapped note grows a dialog)
            # finish before the next key or the screenshot, even on a busy machine.
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            await pilot.pause()

        await settle()
        for key in keys:
            await pilot.press(key)
            await settle()
        if final is not None:
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, final), what=final.__name__)
            await settle()

    return run_before


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("topics", ()),
        ("cluster", ("1",)),
        ("topic_detail", ("down", "down", "enter")),
        ("messages", ("down", "down", "m", "down", "down", "down")),
        ("groups", ("3",)),
        ("group_detail", ("3", "down", "enter")),
        ("help", ("question_mark",)),
        ("create_topic", ("n",)),
        ("partition_log", ("down", "down", "enter", "l")),
        ("partition_log_keys", ("down", "down", "enter", "l", "k", "left", "enter")),
        ("explain", ("down", "down", "enter", "l", "E")),
    ],
)
def test_screen_snapshot(snap_compare, name: str, keys: tuple[str, ...]) -> None:
    from kcli.tui.screens.forms import CreateTopicDialog
    from kcli.tui.screens.help import HelpScreen

    final = {"help": HelpScreen, "create_topic": CreateTopicDialog}.get(name)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=loaded(*keys, final=final))


def test_xray_snapshot(snap_compare) -> None:
    """The X-ray of a Confluent-framed record: batch header, record varints, framing."""
    from kcli.tui.screens.partition import PartitionScreen

    async def run_before(pilot: Pilot) -> None:
        await loaded("down", "down", "enter", "l", final=PartitionScreen)(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: "X-ray of" in pilot.app.screen.xray_text, what="the X-ray")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(130, 50), run_before=run_before)
