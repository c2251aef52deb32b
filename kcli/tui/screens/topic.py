"""One topic: partitions with replicas and watermarks, the consumer groups reading it with their lag
there, its configs (editable), and throughput and lag over time: a records/s sparkline for the
topic with the events that moved it marked under it ("member joined", "rebalance", "broker down",
elections, ISR changes), and per partition a records/s and a lag sparkline. ``l`` draws the
selected partition's log."""

from __future__ import annotations

import time
from collections import deque

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Static

from kcli.cluster_view.model import ConfigValue, PartitionInfo, TopicDetail
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.events import EventLog, GroupLook, group_events, look_from_topic
from kcli.tui.screens.navigation import OpenGroup, OpenMessages, OpenPartitionLog, ProduceRecord
from kcli.tui.screens.sparks import legend, marks, spark
from kcli.tui.screens.widgets import FROM_START_NOTE, StatusBar, fmt_count, fmt_lag, set_note

#: Samples kept for the sparkline: two minutes at one sample a second.
HISTORY = 120
#: Samples shown in a partition row's sparklines.
ROW_SPARK = 10
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
        Binding("l", "partition_log", "Log drawn"),
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
        self.events = EventLog()
        self.part_rates: dict[int, deque[float]] = {}
        self.part_lags: dict[int, deque[float]] = {}
        self._part_last: dict[int, int] = {}
        self._looks: dict[str, GroupLook] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="topic-body"):
            yield Static(f"Topic [b]{self.topic}[/b]", id="topic-summary", classes="panel-title")
            with Horizontal(id="throughput-row"):
                yield Static("records/s", id="rate", classes="rate")
                yield Static("", id="throughput")
            yield Static("", id="topic-trend-marks")
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
        parts.add_column("Records/s", key="rate-spark", width=ROW_SPARK)
        parts.add_column("Lag", key="lag-spark", width=ROW_SPARK + 7)
        groups = self.query_one("#topic-groups", DataTable)
        for title in ("Group", "State", "Members", "Partitions", "Lag", "Problem"):
            groups.add_column(title, key=title.lower())
        configs = self.query_one("#configs", DataTable)
        configs.add_column("Name", key="name")
        configs.add_column("Value", key="value")
        self.sub_title = f"Topic {self.topic}"
        parts.focus()
        self.query_one("#throughput").display = False  # shown from the first rate sample
        self.query_one("#topic-groups-note").display = False
        self.query_one("#topic-trend-marks").display = False

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
        prev = self.detail
        self.detail = data
        now = time.monotonic()
        high = data.high_total
        if self._last is not None and now > self._last[0]:
            rate = max(0.0, (high - self._last[1]) / (now - self._last[0]))
            self.samples.append(rate)
            self.query_one("#rate", Static).update(f"{rate:,.1f} records/s")
            self._track(prev, data, now - self._last[0])
            self._draw_trend()
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
                spark(self.part_rates.get(p.partition, ()), ROW_SPARK, top=self._peak(self.part_rates)),
                self._lag_cell(p.partition),
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

    # -- throughput and lag over time -----------------------------------------------------------

    def _track(self, prev: TopicDetail | None, data: TopicDetail, elapsed: float) -> None:
        """Per-partition records/s and lag samples, and the events between two refreshes."""
        sample = len(self.samples)
        for p in data.partitions:
            if p.high is not None:
                last = self._part_last.get(p.partition)
                if last is not None and elapsed > 0:
                    rate = max(0.0, (p.high - last) / elapsed)
                    self.part_rates.setdefault(p.partition, deque(maxlen=HISTORY)).append(rate)
                self._part_last[p.partition] = p.high
        if data.groups is not None:
            lags: dict[int, int] = {}
            for g in data.groups:
                for partition, lag in g.lag_by_partition:
                    lags[partition] = lags.get(partition, 0) + lag
            for p in data.partitions:
                self.part_lags.setdefault(p.partition, deque(maxlen=HISTORY)).append(
                    float(lags.get(p.partition, 0))
                )
            for g in data.groups:
                look = look_from_topic(g)
                self.events.extend(
                    group_events(g.group_id, self._looks.get(g.group_id), look, commits=False), sample
                )
                self._looks[g.group_id] = look
        if prev is None:
            return
        before = {p.partition: p for p in prev.partitions}
        for p in data.partitions:
            old = before.get(p.partition)
            if old is None:
                continue
            name = f"{data.name}-{p.partition}"
            for broker in sorted(set(p.offline) - set(old.offline)):
                self.events.add("broker-down", f"broker {broker} down ({name} lost a replica)", sample)
            for broker in sorted(set(old.offline) - set(p.offline)):
                self.events.add("broker-up", f"broker {broker} up again ({name})", sample)
            if p.leader != old.leader:
                self.events.add("election", f"{name} leader {old.leader} → {p.leader}", sample)
            if len(p.isr) < len(old.isr):
                self.events.add(
                    "isr-shrink",
                    f"{name} ISR {','.join(map(str, old.isr))} → {','.join(map(str, p.isr))}",
                    sample,
                )
            elif len(p.isr) > len(old.isr):
                self.events.add("isr-expand", f"{name} ISR back to {','.join(map(str, p.isr))}", sample)

    @staticmethod
    def _peak(series: dict[int, deque[float]]) -> float:
        return max((max(list(v)[-ROW_SPARK:], default=0.0) for v in series.values()), default=0.0)

    def _lag_cell(self, partition: int) -> str:
        values = self.part_lags.get(partition)
        if not values:
            return "-"
        return spark(values, ROW_SPARK, top=self._peak(self.part_lags)) + f" {int(values[-1]):,}"

    def _draw_trend(self) -> None:
        widget = self.query_one("#throughput", Static)
        width = max(10, (widget.size.width or 60) - 1)
        widget.update(spark(self.samples, width))
        widget.display = max(self.samples, default=0) > 0 or bool(self.events.events)
        under, marked = marks(len(self.samples), width, list(self.events.events))
        note = self.query_one("#topic-trend-marks", Static)
        if marked:
            from rich.text import Text

            text = Text(" " * 28)  # under the sparkline: the rate label's width
            text.append(under)
            text.append("\n")
            text.append(legend(marked[-5:], self.kapp.clock_text))
            note.update(text)
        note.display = bool(marked)

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
            self.post_message(OpenMessages(self.topic, self.detail.partitions[event.cursor_row].partition))
        elif event.data_table.id == "configs":
            self.action_edit_config()
        elif event.data_table.id == "topic-groups":
            self.action_open_group()

    def action_messages(self) -> None:
        self.post_message(OpenMessages(self.topic))

    def action_partition_log(self) -> None:
        if self.detail is None or not self.detail.partitions:
            return
        row = self.query_one("#partitions", DataTable).cursor_row
        if 0 <= row < len(self.detail.partitions):
            self.post_message(OpenPartitionLog(self.topic, self.detail.partitions[row].partition))

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import topic_lines

        return topic_lines(self.detail) if self.detail is not None else None

    def action_produce(self) -> None:
        self.post_message(ProduceRecord(self.topic, None, self.refresh_data))

    def action_open_group(self) -> None:
        row = self.query_one("#topic-groups", DataTable).cursor_row
        if 0 <= row < len(self.group_ids):
            self.post_message(OpenGroup(self.group_ids[row]))

    def action_edit_config(self) -> None:
        from kcli.tui.screens.forms import ConfigDialog

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
