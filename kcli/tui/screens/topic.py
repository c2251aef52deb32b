"""One topic: partitions with replicas and watermarks, the consumer groups reading it with their lag
there, its configs (editable), and a live throughput sparkline."""

from __future__ import annotations

import time
from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Sparkline, Static

from kcli.tui.model import ConfigValue, PartitionInfo, TopicDetail
from kcli.tui.screens.base import DataScreen
from kcli.tui.widgets import FROM_START_NOTE, StatusBar, fmt_count, fmt_lag, set_note

#: Samples kept for the sparkline: two minutes at one sample a second.
HISTORY = 120
#: The groups of the topic cost a coordinator round trip per group: read them every Nth refresh.
GROUPS_EVERY = 3


def replication_summary(data: TopicDetail) -> str:
    """``under-replicated 2   offline 1`` for the summary line; empty when all is in sync."""
    urp = sum(p.state == "URP" for p in data.partitions)
    offline = sum(p.state == "offline" for p in data.partitions)
    text = f"   under-replicated [b]{urp}[/b]" if urp else ""
    return text + (f"   offline [b]{offline}[/b]" if offline else "")


def high_cell(p: PartitionInfo) -> str:
    """The high watermark, with the last stable offset beside it while a transaction is open
    (read_committed consumers see up to the LSO only)."""
    text = fmt_count(p.high)
    return f"{text} (LSO {fmt_count(p.stable)})" if p.open_transaction else text


class TopicScreen(DataScreen):
    """Refreshed every second: records/s is the growth of the summed high watermarks between samples."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("m", "messages", "Messages"),
        Binding("p", "produce", "Produce"),
        Binding("e", "edit_config", "Edit config"),
        Binding("g", "open_group", "Open group"),
        Binding("d", "delete_topic", "Delete"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 1.0

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic
        self.samples: deque[float] = deque(maxlen=HISTORY)
        self._last: tuple[float, int] | None = None
        self._configs: tuple = ()
        self.detail: TopicDetail | None = None
        self.group_ids: list[str] = []
        self._fetches = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="topic-body"):
            yield Static(f"Topic [b]{self.topic}[/b]", id="topic-summary", classes="panel-title")
            with Horizontal(id="throughput-row"):
                yield Static("records/s", id="rate", classes="rate")
                yield Sparkline([], id="throughput")
            with Horizontal(id="topic-tables"):
                with Vertical(id="partitions-pane"):
                    yield Static("Partitions", classes="section-title")
                    yield DataTable(id="partitions", cursor_type="row", zebra_stripes=True)
                    yield Static("Consumer groups (g opens)", classes="section-title")
                    yield DataTable(id="topic-groups", cursor_type="row")
                    yield Static("", id="topic-groups-note", classes="note")
                with Vertical(id="configs-pane"):
                    yield Static("Configs (* = set explicitly; e edits)", classes="section-title")
                    yield DataTable(id="configs", cursor_type="row")
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        parts = self.query_one("#partitions", DataTable)
        for title in ("Partition", "Leader", "Replicas", "ISR", "Offline", "Low", "High", "Records", "State"):
            parts.add_column(title, key=title.lower())
        groups = self.query_one("#topic-groups", DataTable)
        for title in ("Group", "State", "Members", "Partitions", "Lag", "Problem"):
            groups.add_column(title, key=title.lower())
        configs = self.query_one("#configs", DataTable)
        configs.add_column("Name", key="name")
        configs.add_column("Value", key="value")
        self.sub_title = f"Topic {self.topic}"
        parts.focus()
        self.query_one("#throughput", Sparkline).display = False  # shown from the first rate sample
        self.query_one("#topic-groups-note").display = False

    def fetch(self) -> TopicDetail:
        with_groups = self._fetches % GROUPS_EVERY == 0
        self._fetches += 1
        return self.source.topic_detail(self.topic, with_groups=with_groups)

    def apply(self, data: TopicDetail) -> None:
        if data.groups is None and data.groups_error is None and self.detail is not None:
            # groups were not asked for this time: keep the last ones
            data = TopicDetail(
                data.name,
                data.internal,
                data.partitions,
                data.configs,
                self.detail.groups,
                self.detail.groups_error,
            )
        self.detail = data
        now = time.monotonic()
        high = data.high_total
        if self._last is not None and now > self._last[0]:
            rate = max(0.0, (high - self._last[1]) / (now - self._last[0]))
            self.samples.append(rate)
            self.query_one("#rate", Static).update(f"{rate:,.1f} records/s")
            spark = self.query_one("#throughput", Sparkline)
            spark.data = list(self.samples)
            spark.display = max(self.samples) > 0  # a flat zero line renders as a full bar
        self._last = (now, high)
        self.query_one("#topic-summary", Static).update(
            f"Topic [b]{data.name}[/b]   partitions [b]{len(data.partitions)}[/b]   "
            f"records [b]{fmt_count(data.records)}[/b]"
            + replication_summary(data)
            + ("   [i]internal[/i]" if data.internal else "")
        )
        parts = self.query_one("#partitions", DataTable)
        cursor = parts.cursor_row
        parts.clear()
        for p in data.partitions:
            parts.add_row(
                str(p.partition),
                str(p.leader) if p.leader >= 0 else "none",
                ",".join(map(str, p.replicas)),
                ",".join(map(str, p.isr)),
                ",".join(map(str, p.offline)),
                fmt_count(p.low),
                high_cell(p),
                fmt_count(p.records),
                p.state,
            )
        if 0 <= cursor < len(data.partitions):
            parts.move_cursor(row=cursor, animate=False)
        self._apply_groups(data)
        if data.configs != self._configs:
            self._configs = data.configs
            configs = self.query_one("#configs", DataTable)
            cursor = configs.cursor_row
            configs.clear()
            for c in data.configs:
                value = "******" if c.sensitive else (c.value if c.value is not None else "null")
                configs.add_row(c.name + ("" if c.default else " *"), value)
            if 0 <= cursor < len(data.configs):
                configs.move_cursor(row=cursor, animate=False)

    def _apply_groups(self, data: TopicDetail) -> None:
        table = self.query_one("#topic-groups", DataTable)
        cursor = table.cursor_row
        table.clear()
        groups = data.groups or ()
        self.group_ids = [g.group_id for g in groups]
        for g in groups:
            table.add_row(
                g.group_id,
                g.state,
                str(g.members),
                str(g.partitions),
                fmt_lag(g.lag, g.uncommitted),
                g.error or "",
            )
        if 0 <= cursor < len(groups):
            table.move_cursor(row=cursor, animate=False)
        note = ""
        if data.groups_error:
            note = f"⚠ consumer groups: {data.groups_error}"
        elif data.groups is not None and not groups:
            note = "no consumer group reads this topic"
        elif any(g.uncommitted for g in groups):
            note = FROM_START_NOTE
        set_note(self.query_one("#topic-groups-note", Static), note)

    def selected_partition(self) -> int | None:
        if self.detail is None:
            return None
        table = self.query_one("#partitions", DataTable)
        if table.has_focus and 0 <= table.cursor_row < len(self.detail.partitions):
            return self.detail.partitions[table.cursor_row].partition
        return None

    def selected_config(self) -> ConfigValue | None:
        configs = self._configs
        row = self.query_one("#configs", DataTable).cursor_row
        return configs[row] if 0 <= row < len(configs) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "partitions" and self.detail is not None:
            self.kapp.open_messages(self.topic, self.detail.partitions[event.cursor_row].partition)
        elif event.data_table.id == "configs":
            self.action_edit_config()
        elif event.data_table.id == "topic-groups":
            self.action_open_group()

    def action_messages(self) -> None:
        self.kapp.open_messages(self.topic)

    def action_produce(self) -> None:
        self.kapp.produce(self.topic, None, self.refresh_data)

    def action_open_group(self) -> None:
        row = self.query_one("#topic-groups", DataTable).cursor_row
        if 0 <= row < len(self.group_ids):
            self.kapp.open_group(self.group_ids[row])

    def action_edit_config(self) -> None:
        from kcli.tui.screens.dialogs import ConfigDialog

        config = self.selected_config()
        if config is None:
            return

        def changed(what: str | None) -> None:
            if what:
                self.app.notify(f"{self.topic}: {what}", title="Config changed")
                self.refresh_data()

        self.app.push_screen(ConfigDialog(self.topic, config), changed)

    def action_delete_topic(self) -> None:
        from kcli.tui.screens.topics import confirm_delete

        confirm_delete(self, self.topic, self._deleted)

    def _deleted(self) -> None:
        self.app.notify(f"Deleted topic {self.topic}", title="Topics")
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.refresh_data()
