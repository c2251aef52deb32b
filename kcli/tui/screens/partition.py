"""One partition's log, drawn: offset cells grouped by segment and batch, the log start, high
watermark, last stable offset, each replica's log end and each group's committed offset; lag as
the shaded gap; records/s and lag over time with the events that moved them; a cell opens its
record, and ``x`` X-rays its bytes.

Only the window on screen is read (a Fetch of those offsets, see :mod:`kcli.cluster_view.log_reader`), so a
partition of a million records scrolls as fast as one of ten. Every second the window is read
again: cells that were on screen and are gone since - retention moved the log start, compaction
emptied a batch - are drawn struck out for a few refreshes, so the cleaner is seen at work.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Header, Static

from kcli.cluster_view.log_model import PartitionLog
from kcli.logview.draw import draw, header_lines
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.events import EventLog
from kcli.tui.screens.sparks import legend, marks, spark
from kcli.tui.screens.widgets import StatusBar, fmt_ts

#: Rows of cells shown; the window is as many offsets as fit in them.
ROWS = 4
#: Refreshes a removed cell stays struck out.
REMOVED_FOR = 4
GROUPS_EVERY = 3
CONFIGS_EVERY = 15
HISTORY = 120


class Pane(VerticalScroll, can_focus=False):
    """The record / X-ray pane: scrolls, but never takes the arrow keys from the log."""


class PartitionScreen(DataScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left", "move(-1)", "Cell ←", show=False),
        Binding("right", "move(1)", "Cell →", show=False),
        Binding("up", "move_row(-1)", "Row ↑", show=False),
        Binding("down", "move_row(1)", "Row ↓", show=False),
        Binding("pageup", "page(-1)", "Older"),
        Binding("pagedown", "page(1)", "Newer"),
        Binding("home", "home", "Log start"),
        Binding("end", "follow", "Follow end"),
        Binding("enter", "open_record", "Open record"),
        Binding("x", "xray", "X-ray"),
        Binding("k", "toggle_keys", "Keys"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 1.0

    def __init__(self, topic: str, partition: int) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition
        self.plog: PartitionLog | None = None
        #: None: follow the newest records
        self.first: int | None = None
        self.cursor: int | None = None
        self.keys = False
        self.removed: dict[int, tuple[str, int]] = {}  # offset -> (why, refreshes left)
        self.rates: deque[float] = deque(maxlen=HISTORY)
        self.lags: dict[str, deque[float]] = {}
        self.events = EventLog()
        self._last_hw: tuple[float, int] | None = None
        self._fetches = 0
        #: plain text of the record pane, for tests
        self.pane_text = ""
        self.xray_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="partition-body"):
            yield Static("", id="partition-head")
            yield Static("", id="partition-trend")
            yield Static("reading…", id="log-strip")
            with Pane(id="record-pane"):
                yield Static(
                    "←/→ move between cells, ↑/↓ rows, pgup/pgdn page, enter opens the record, x X-rays "
                    "its bytes, k shows keys, end follows the newest",
                    id="record-text",
                )
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        self.sub_title = f"Log of {self.topic}-{self.partition}"

    # -- window ---------------------------------------------------------------------------------

    def _cell_width(self) -> int:
        hw = self.plog.high_watermark if self.plog and self.plog.high_watermark else 0
        width = max(2, len(str(hw + 64))) + 1
        return max(width, 9) if self.keys else width

    def _per_row(self) -> int:
        width = self.query_one("#log-strip").size.width or (self.app.size.width - 2)
        return max(4, (width - 2) // self._cell_width())

    def _count(self) -> int:
        per_row = self._per_row()
        return max(4, per_row * ROWS - per_row // 2)  # room for the + and unreplicated cells

    def fetch(self) -> PartitionLog:
        n = self._fetches
        self._fetches += 1
        return self.source.partition_log(
            self.topic,
            self.partition,
            self.first,
            self._count(),
            with_groups=n % GROUPS_EVERY == 0,
            with_configs=n % CONFIGS_EVERY == 0,
        )

    def apply(self, log: PartitionLog) -> None:
        prev = self.plog
        if prev is not None:
            if log.groups is None and log.groups_error is None:
                log = replace(log, groups=prev.groups, groups_error=prev.groups_error)
            if not log.configs:
                log = replace(log, configs=prev.configs)
        self._track_removed(prev, log)
        self._track_trends(prev, log)
        self.plog = log
        at_end = self.cursor is None or (prev is not None and self.cursor >= (prev.high_watermark or 0) - 1)
        if self.first is None and log.high_watermark and at_end:
            self.cursor = log.high_watermark - 1
        if self.cursor is not None and log.log_start is not None and self.cursor < log.log_start:
            self.cursor = log.log_start if (log.high_watermark or 0) > log.log_start else None
        self.render_log()

    def _track_removed(self, prev: PartitionLog | None, log: PartitionLog) -> None:
        self.removed = {o: (why, left - 1) for o, (why, left) in self.removed.items() if left > 1}
        if prev is None:
            return
        now = log.record_offsets
        for o in prev.record_offsets:
            if log.log_start is not None and o < log.log_start:
                self.removed[o] = ("retention", REMOVED_FOR)
            elif log.first <= o < log.stop and o not in now and log.batches_known:
                self.removed[o] = ("compaction", REMOVED_FOR)
        moved = [o for o, (why, left) in self.removed.items() if why == "retention" and left == REMOVED_FOR]
        if moved and prev.log_start is not None and log.log_start is not None:
            self.events.add(
                "retention",
                f"log start {prev.log_start:,} → {log.log_start:,}: retention deleted {len(moved):,} record(s)",
                len(self.rates),
            )
        gone = [o for o, (why, left) in self.removed.items() if why == "compaction" and left == REMOVED_FOR]
        if gone:
            self.events.add(
                "compaction", f"compaction removed {len(gone):,} record(s) of this window", len(self.rates)
            )

    def _track_trends(self, prev: PartitionLog | None, log: PartitionLog) -> None:
        now = time.monotonic()
        if log.high_watermark is not None:
            if self._last_hw is not None and now > self._last_hw[0]:
                rate = max(0.0, (log.high_watermark - self._last_hw[1]) / (now - self._last_hw[0]))
                self.rates.append(rate)
            self._last_hw = (now, log.high_watermark)
        for gid, lag in log.lag_by_group.items():
            if lag is not None:
                self.lags.setdefault(gid, deque(maxlen=HISTORY)).append(float(lag))
        if prev is None:
            return
        sample = len(self.rates)
        if log.leader != prev.leader:
            was = prev.leader if prev.leader >= 0 else "none"
            self.events.add("election", f"leader {was} → {log.leader if log.leader >= 0 else 'none'}", sample)
        lost = [r for r in prev.isr if r not in log.isr]
        won = [r for r in log.isr if r not in prev.isr]
        if lost:
            self.events.add("isr-shrink", f"ISR {_ids(prev.isr)} → {_ids(log.isr)}", sample)
        for r in won:
            self.events.add("isr-expand", f"broker {r} caught up (back in the ISR)", sample)
        was_alive = {r.broker: r.alive for r in prev.replica_ends}
        for r in log.replica_ends:
            if was_alive.get(r.broker) is True and not r.alive:
                self.events.add("broker-down", f"broker {r.broker} down", sample)
            elif was_alive.get(r.broker) is False and r.alive:
                self.events.add("broker-up", f"broker {r.broker} up", sample)
        before = {g.group_id: g for g in prev.groups or ()}
        for g in log.groups or ():
            old = before.get(g.group_id)
            if old is not None and old.owner != g.owner and log.groups is not prev.groups:
                kind = "member-joined" if g.owner and not old.owner else "rebalance"
                self.events.add(
                    kind,
                    f"{g.group_id}: partition owned by {g.owner or 'nobody'} (was {old.owner or 'nobody'})",
                    sample,
                )

    # -- drawing --------------------------------------------------------------------------------

    def render_log(self) -> None:
        log = self.plog
        if log is None:
            return
        width = (self.query_one("#log-strip").size.width or self.app.size.width) - 1
        head = Text("\n").join(header_lines(log))
        self.query_one("#partition-head", Static).update(head)
        shown = log
        below = sorted(o for o, (why, _) in self.removed.items() if why == "retention" and o < log.first)
        if below and below[-1] >= log.first - 1 - len(below):
            shown = replace(log, first=below[0])  # draw what retention just removed, struck out
        lines = draw(
            shown,
            width,
            keys=self.keys,
            cursor=self.cursor,
            removed={o: why for o, (why, _) in self.removed.items()},
            header=False,
        )
        self.query_one("#log-strip", Static).update(Text("\n").join(lines))
        self.query_one("#partition-trend", Static).update(self._trend(width))
        self.update_explain()

    def _trend(self, width: int) -> Text:
        room = max(10, min(40, width - 75))
        line = Text("records/s ", style="bold")
        line.append(spark(self.rates, room).ljust(room), style="green")
        line.append(f" {self.rates[-1] if self.rates else 0:,.1f}/s")
        for gid, values in list(self.lags.items())[:2]:
            line.append(f"   lag {gid} ", style="bold")
            line.append(spark(values, 20).ljust(20), style="yellow")
            line.append(f" {int(values[-1]):,}")
        under, marked = marks(len(self.rates), room, list(self.events.events))
        out = Text()
        out.append(line)
        if marked:
            out.append("\n" + " " * len("records/s "))
            out.append(under)
            out.append("\n")
            out.append(legend(marked[-4:], self.kapp.clock_text))
        return out

    # -- moving ---------------------------------------------------------------------------------

    def _bounds(self) -> tuple[int, int] | None:
        log = self.plog
        if log is None or log.high_watermark is None:
            return None
        low = log.log_start or 0
        return low, max(low, log.high_watermark - 1)

    def _goto(self, offset: int) -> None:
        bounds = self._bounds()
        if bounds is None or self.plog is None:
            return
        low, high = bounds
        self.cursor = min(max(offset, low), high)
        log = self.plog
        per_row = self._per_row()
        if self.cursor < log.first or self.cursor >= log.stop:
            first = self.cursor - (self.cursor - low) % per_row
            self.first = max(low, first - per_row * (ROWS // 2))
            self.refresh_data()
        self.render_log()

    def action_move(self, delta: int) -> None:
        if self.cursor is None:
            bounds = self._bounds()
            if bounds is None:
                return
            self.cursor = bounds[1]
        self._unfollow()
        self._goto(self.cursor + delta)

    def action_move_row(self, delta: int) -> None:
        self.action_move(delta * self._per_row())

    def action_page(self, delta: int) -> None:
        self.action_move(delta * self._count())

    def action_home(self) -> None:
        bounds = self._bounds()
        if bounds is not None:
            self._unfollow()
            self._goto(bounds[0])

    def action_follow(self) -> None:
        self.first = None
        bounds = self._bounds()
        if bounds is not None:
            self.cursor = bounds[1]
        self.refresh_data()
        self.app.notify("following the newest records", title=f"{self.topic}-{self.partition}", timeout=3)

    def _unfollow(self) -> None:
        if self.first is None and self.plog is not None:
            self.first = self.plog.first

    def action_toggle_keys(self) -> None:
        self.keys = not self.keys
        self.render_log()
        self.refresh_data()  # the window's size depends on the cells' width

    def action_refresh(self) -> None:
        self.refresh_data()

    # -- the record and its bytes ---------------------------------------------------------------

    def _set_pane(self, text: Text | str) -> None:
        self.query_one("#record-text", Static).update(text)
        self.pane_text = text.plain if isinstance(text, Text) else text

    def action_open_record(self) -> None:
        from kcli.cluster_view import decode

        log = self.plog
        if log is None or self.cursor is None:
            return
        record = log.record(self.cursor)
        if record is None:
            why = self.removed.get(self.cursor, ("not in the window",))[0]
            self._set_pane(f"offset {self.cursor}: no record ({why})")
            return
        batch = log.batch_of(record.offset)
        out = Text()
        out.append(f"{self.topic}-{self.partition} offset {record.offset:,}", style="bold")
        out.append(f"   {fmt_ts(record.timestamp)} UTC\n")
        if batch is not None:
            out.append(
                f"batch {batch.base_offset:,}-{batch.last_offset:,}: {batch.count} record(s), "
                f"{batch.size:,} bytes, compression {batch.compression}, {batch.timestamp_type}"
                + (", transactional" if batch.transactional else "")
                + (f", producer id {batch.producer_id}" if batch.producer_id >= 0 else "")
                + "\n",
                style="dim",
            )
        avro = self.kapp.avro_decoder
        for label, data in (("key", record.key), ("value", record.value)):
            readings = decode.readings(data, avro)
            out.append(f"{label} ({readings[0].label}): ", style="bold")
            out.append(readings[0].text + "\n")
        for k, v in record.headers:
            out.append(f"header {k}: ", style="bold")
            out.append(decode.one_line(v) + "\n")
        out.append("x shows the bytes (X-ray)", style="dim")
        self._set_pane(out)

    def action_xray(self) -> None:
        if self.plog is None or self.cursor is None:
            return
        offset = self.cursor
        self._set_pane(f"reading the batch of offset {offset} from the leader…")
        self.run_action_in_thread(self._xray, self._xrayed, offset)

    def _xray(self, offset: int) -> Text:
        from kcli.logview.xray import xray
        from kcli.logview.xray_render import render
        from kcli.logview.xray_schemas import registry_lookup

        found = self.source.record_batch(self.topic, self.partition, offset)
        result = xray(self.topic, self.partition, offset, found.raw, registry_lookup(self.kapp.registry_url))
        width = (self.query_one("#record-pane").size.width or self.app.size.width) - 3
        return Text("\n").join(render(result, width))

    def _xrayed(self, text: Text) -> None:
        self.xray_text = text.plain
        self._set_pane(text)

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import partition_lines

        return partition_lines(self.plog) if self.plog is not None else None

    def on_resize(self) -> None:
        self.render_log()


def _ids(ids: tuple[int, ...]) -> str:
    return ",".join(map(str, ids)) or "none"
