"""``kcli tui``: the Textual application, its navigation, connection state and periodic refresh.

The app owns the one :class:`~kcli.cluster_view.source.DataSource` and a single timer. Each tick asks the
screen on top whether it is due for a refresh (its ``refresh_every``). When no broker answers,
full refreshes wait for an exponential backoff (2, 4, 8... up to 30 s), so a dead cluster costs
one timed-out request per period instead of a stream of them; meanwhile the app probes every
known broker address with a bare TCP connect each second, and retries at once when one accepts,
so reconnecting never waits for the rest of the backoff. The status bar says what the metadata
says - which broker answered, which are down, whether the bootstrap address itself answers -
and what the screen on top could not read.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.binding import Binding

from kcli.cluster_view.decode import AvroDecoder, registry_avro_decoder
from kcli.cluster_view.kafka import KafkaSource
from kcli.cluster_view.model import ClusterInfo
from kcli.cluster_view.source import DataSource, KafkaDataError, error_text
from kcli.tui.commands import KcliCommands
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.cluster import ClusterScreen
from kcli.tui.screens.groups import GroupScreen, GroupsScreen
from kcli.tui.screens.messages import MessagesScreen
from kcli.tui.screens.navigation import (
    OpenGroup,
    OpenMessages,
    OpenPartitionLog,
    OpenTopic,
    ProduceRecord,
    ResetGroupOffsets,
)
from kcli.tui.screens.topic import TopicScreen
from kcli.tui.screens.topics import TopicsScreen
from kcli.tui.screens.widgets import StatusBar

MAX_BACKOFF_S = 30.0


def _clock(wall: float) -> str:
    from kcli.tui.screens.base import clock

    return clock(wall)


PROBE_EVERY_S = 1.0


def _ids(ids: tuple[int, ...]) -> str:
    return ",".join(map(str, ids)) or "none"


class KcliApp(App[int]):
    """The explorer. ``live_refresh=False`` freezes the data after the first load (snapshot tests)."""

    CSS_PATH = "kcli.tcss"
    TITLE = "kcli tui"
    MODES = {"cluster": ClusterScreen, "topics": TopicsScreen, "groups": GroupsScreen}
    DEFAULT_MODE = "topics"
    COMMANDS = App.COMMANDS | {KcliCommands}
    BINDINGS = [
        Binding("1", "show('cluster')", "Cluster"),
        Binding("2", "show('topics')", "Topics"),
        Binding("3", "show('groups')", "Groups"),
        Binding("E", "explain", "Explain", key_display="E"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        source: DataSource,
        avro_decoder: AvroDecoder | None = None,
        live_refresh: bool = True,
        refresh_scale: float = 1.0,
        tick_s: float = 0.25,
        max_backoff_s: float = MAX_BACKOFF_S,
        probe_every_s: float = PROBE_EVERY_S,
        registry_url: str | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.avro_decoder = avro_decoder
        #: the schema registry the X-ray asks for the schema of Confluent-framed records
        self.registry_url = registry_url
        self.live_refresh = live_refresh
        self.refresh_scale = refresh_scale
        self.tick_s = tick_s
        self.max_backoff_s = max_backoff_s
        self.probe_every_s = probe_every_s
        self.connected: bool | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: str | None = None
        self.down_since: float | None = None
        self.probing = False
        self.next_probe_at = 0.0
        #: the address a probe found accepting connections while the cluster was unreachable
        self.last_probe: str | None = None
        #: the last "connection restored" message, for tests and the log
        self.last_restored: str | None = None
        self.last_action_error: str | None = None
        self.cluster_info: ClusterInfo | None = None
        self.topic_names: list[str] = []
        self.group_ids: list[str] = []
        #: how the timelines print a wall time (snapshot tests fix it)
        self.clock_text: Callable[[float], str] = _clock
        #: the Explain pane is shown on every view while True (``E`` toggles)
        self.explaining = False
        self.status_text = f"connecting to {source.bootstrap}…"
        self.status_level = "info"

    def on_mount(self) -> None:
        self.sub_title = self.source.bootstrap
        self.set_interval(self.tick_s, self._tick)

    # -- periodic refresh and connection state ------------------------------------------------

    def _tick(self) -> None:
        if not self.screen_stack:  # the app is shutting down: a late timer tick has nothing to paint
            return
        self.paint_status()
        if not self.live_refresh:
            return
        now = time.monotonic()
        if self.connected is False and not self.probing and now >= self.next_probe_at:
            self.probing = True
            self.run_worker(self._probe, thread=True, group="probe")
        screen = self.screen
        if not isinstance(screen, DataScreen) or not screen.refresh_every or screen.loading:
            return
        if now < self.retry_at:
            return
        if now - screen.last_started >= screen.refresh_every * self.refresh_scale:
            screen.refresh_data()

    def _probe(self) -> None:
        """Thread worker: is any broker address accepting connections again?"""
        try:
            address = self.source.probe()
        except Exception:
            address = None
        try:
            self.call_from_thread(self._probed, address)
        except RuntimeError:
            pass  # the app is shutting down

    def _probed(self, address: str | None) -> None:
        self.probing = False
        self.next_probe_at = time.monotonic() + self.probe_every_s
        if address is None or self.connected is not False:
            return
        self.last_probe = address
        self.retry_at = 0.0  # a broker is back: retry now rather than at the end of the backoff
        screen = self.screen if self.screen_stack else None
        if isinstance(screen, DataScreen) and not screen.loading:
            screen.refresh_data()

    def report_failure(self, message: str, unreachable: bool = True) -> None:
        """A fetch failed. ``unreachable``: no broker answered, so the connection is down and
        automatic refreshes back off (the probe cuts that short); otherwise only the screen
        that asked has a problem, which it shows itself."""
        if not unreachable:
            self.paint_status()
            return
        self.failures += 1
        backoff = min(self.max_backoff_s, 2.0**self.failures)
        self.retry_at = time.monotonic() + backoff
        self.last_error = message
        if self.connected is not False:
            self.down_since = time.time()
            self.notify(message, title=f"Cannot reach {self.source.bootstrap}", severity="error", timeout=6)
        self.connected = False
        self.paint_status()

    def report_success(self) -> None:
        if self.connected is False:
            from kcli.tui.screens.base import clock

            conn = self.source.connection()
            since = clock(self.down_since or time.time())
            self.last_restored = (
                f"{conn.answered_by or self.source.bootstrap} answers again; no broker answered "
                f"from {since} to {clock(time.time())} ({self.last_error})"
            )
            self.notify(self.last_restored, title="Connection restored", timeout=10)
        self.connected = True
        self.failures = 0
        self.retry_at = 0.0
        self.last_error = None
        self.down_since = None
        self.paint_status()

    def report_action_error(self, message: str) -> None:
        """A user's operation (create, delete, produce, reset...) failed: say why, keep going."""
        self.last_action_error = message
        self.notify(message, title="Error", severity="error", timeout=8)

    def status_line(self) -> tuple[str, str]:
        """(text, level) of the status bar: the connection as the metadata tells it, then what
        the screen on top could not read."""
        level = "ok"
        if self.connected is False:
            text = (
                f"✖ no broker answers ({self.source.bootstrap}): {self.last_error} · "
                f"checking every {self.probe_every_s:g}s for one that does (r retries now)"
            )
            level = "error"
        elif self.connected:
            conn = self.source.connection()
            text = "● connected" + (f" via {conn.answered_by}" if conn.answered_by else "")
            if conn.cluster_id:
                text += f" · cluster {conn.cluster_id}"
            if conn.down:
                text += f" · brokers {_ids(conn.live)} up, {_ids(conn.down)} down"
                level = "warn"
            else:
                text += f" · {len(conn.live)} broker{'s' if len(conn.live) != 1 else ''}"
            if conn.bootstrap_down:
                text += f" · bootstrap {', '.join(conn.bootstrap_down)} does not answer"
                level = "warn"
        else:
            text, level = f"connecting to {self.source.bootstrap}…", "info"
        screen = self.screen if self.screen_stack else None
        problem = screen.problem_text() if isinstance(screen, DataScreen) else None
        if problem:
            text += f" · ⚠ {problem}"
            if level != "error":
                level = "warn"
        return text, level

    def paint_status(self) -> None:
        if not self.screen_stack:  # shutting down; a worker's late report has nowhere to show
            return
        text, level = self.status_line()
        if (text, level) == (self.status_text, self.status_level) and self._status_painted():
            return
        self.status_text, self.status_level = text, level
        for bar in self.screen.query(StatusBar):
            bar.show(text, level)

    def _status_painted(self) -> bool:
        return all(str(bar.content) == self.status_text for bar in self.screen.query(StatusBar))

    # -- navigation ---------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        from kcli.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.BINDINGS))

    def action_explain(self) -> None:
        self.explaining = not self.explaining
        if isinstance(self.screen, DataScreen):
            self.screen.update_explain()

    def action_refresh(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.retry_at = 0.0
            self.screen.refresh_data()

    def action_create_topic(self) -> None:
        self.switch_mode("topics")
        screen = self.screen
        if isinstance(screen, TopicsScreen):
            screen.action_create_topic()

    # The screens and the command palette ask for views and forms with these messages
    # (kcli.tui.screens.navigation); they bubble from the screen to the app.

    def on_open_topic(self, message: OpenTopic) -> None:
        self.open_topic(message.name)

    def on_open_messages(self, message: OpenMessages) -> None:
        self.open_messages(message.topic, message.partition)

    def on_open_group(self, message: OpenGroup) -> None:
        self.open_group(message.group_id)

    def on_open_partition_log(self, message: OpenPartitionLog) -> None:
        self.open_partition_log(message.topic, message.partition)

    def on_produce_record(self, message: ProduceRecord) -> None:
        self.produce(message.topic, message.partition, message.on_done)

    def on_reset_group_offsets(self, message: ResetGroupOffsets) -> None:
        self.reset_offsets(message.group_id, message.on_done)

    def open_topic(self, name: str) -> None:
        self.push_screen(TopicScreen(name))

    def open_messages(self, topic: str, partition: int | None = None) -> None:
        self.push_screen(MessagesScreen(topic, partition))

    def open_group(self, group_id: str) -> None:
        self.push_screen(GroupScreen(group_id))

    def open_partition_log(self, topic: str, partition: int) -> None:
        from kcli.tui.screens.partition import PartitionScreen

        self.push_screen(PartitionScreen(topic, partition))

    # -- operations started from several screens ------------------------------------------------

    def produce(self, topic: str, partition: int | None, on_done: Callable[[], None] | None) -> None:
        """Ask for a record in a form (which sends it and stays open if refused), report where it landed."""
        from kcli.tui.screens.forms import ProduceDialog

        def sent(result: tuple[int, int] | None) -> None:
            if result is not None:
                self._produced(topic, result[0], result[1], on_done)

        self.push_screen(ProduceDialog(topic, partition), sent)

    def _produced(self, topic: str, partition: int, offset: int, on_done: Callable[[], None] | None) -> None:
        self.notify(f"Record written to {topic}-{partition} at offset {offset}", title="Produced")
        if on_done is not None:
            on_done()

    def reset_offsets(self, group_id: str, on_done: Callable[[], None] | None) -> None:
        from kcli.tui.screens.reset_offsets import ResetOffsetsDialog

        def closed(changed: bool | None) -> None:
            if changed and on_done is not None:
                on_done()

        self.push_screen(ResetOffsetsDialog(group_id), closed)


def run(bootstrap: str, command_config: str | None, registry_url: str | None = None) -> int:
    """Entry point of ``kcli tui``: build the Kafka source and run the app until the user quits."""
    try:
        source = KafkaSource(bootstrap, command_config)
    except (KafkaDataError, OSError, ValueError) as exc:
        print(f"kcli tui: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # kcli.client raises its ToolError for bad config files
        print(f"kcli tui: {error_text(exc)}", file=sys.stderr)
        return 1
    try:
        _ = source.admin  # librdkafka validates the settings here: a typo fails now, not in a worker
    except Exception as exc:
        try:
            from kcli.client import config_error_message

            message = config_error_message(exc)
        except ImportError:  # pragma: no cover
            message = error_text(exc)
        print(f"kcli tui: {message}", file=sys.stderr)
        return 1
    from kcli.cluster_view.local_lab import local_registry_url

    url = registry_url or source.extra.get("schema.registry.url") or local_registry_url(bootstrap)
    decoder = registry_avro_decoder(url, source.extra)
    app = KcliApp(source, avro_decoder=decoder, registry_url=url)
    try:
        result: Any = app.run()
    finally:
        source.close()
    return int(result or 0)
