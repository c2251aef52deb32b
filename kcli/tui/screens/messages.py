"""The message browser: read a topic or one partition from a position, page both ways, jump to an
offset or a time, inspect, filter, tail, produce.

The browser holds a window of records (:mod:`kcli.tui.screens.record_window`), oldest first, and for each
partition the offsets the window covers, ``[lower, upper)``. ``[`` reads the page before
``lower``, ``]`` the page from ``upper``; whatever falls out of the window on the other side
moves that side's bound. Records are decoded (Avro through the registry, JSON, text) in the
worker thread that read them, so the list shows and the filter searches decoded values and
header values, never hex where a reading exists.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Select, Static
from textual.worker import Worker, get_current_worker

from kcli.cluster_view import decode
from kcli.cluster_view.decode import RecordView
from kcli.cluster_view.model import Message
from kcli.cluster_view.source import error_text
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.navigation import ProduceRecord
from kcli.tui.screens.record_window import (
    MAX_ROWS,
    PAGE,
    Page,
    drop,
    extend,
    move_bounds,
    page_ranges,
    start_from,
    trim,
)
from kcli.tui.screens.widgets import StatusBar, fmt_count, fmt_ts

START_CHOICES = [
    ("from beginning", "beginning"),
    ("last records", "end"),
    ("from offset", "offset"),
    ("from time", "timestamp"),
]


class MessagesScreen(DataScreen):
    """Loads once per request (no periodic refresh); live tail follows the end in a worker."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "load", "Load"),
        Binding("left_square_bracket", "older", "Older", key_display="["),
        Binding("right_square_bracket", "newer", "Newer", key_display="]"),
        Binding("g", "goto", "Go to offset/time"),
        Binding("t", "toggle_tail", "Live tail"),
        Binding("F", "follow", "Follow newest", key_display="F"),
        Binding("p", "produce", "Produce"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("f", "focus_form", "Position"),
    ]
    refresh_every = 0.0  # no periodic reload: a browse is a snapshot the user asked for

    def __init__(self, topic: str, partition: int | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition
        self.records: list[RecordView] = []
        self.shown: list[RecordView] = []
        #: partition -> [lower, upper): the offsets the window covers
        self.bounds: dict[int, list[int]] = {}
        self.marks: dict[int, tuple[int, int]] = {}
        self.tailing = False
        #: True once the tail consumer is positioned: records produced from then on will show
        self.tail_ready = False
        self._tail: Worker | None = None
        #: plain text of the detail pane, for tests and copy/paste
        self.detail_text = ""
        self._start = "beginning"
        #: what the next fetch does: ("load",) reads the form, ("older",) and ("newer",) page
        self._op: tuple = ("load",)
        self._current: tuple = ("load", None, "beginning", None)

    @property
    def messages(self) -> list[Message]:
        return [r.message for r in self.records]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="messages-body"):
            with Horizontal(id="browse-form"):
                yield Select(START_CHOICES, value="beginning", allow_blank=False, id="start")
                yield Input(placeholder="offset / time (g)", id="position")
                yield Input(
                    "" if self.partition is None else str(self.partition),
                    placeholder="all partitions",
                    id="partition",
                    type="integer",
                )
                yield Input(placeholder="filter key/value/header text (/)", id="filter")
            yield Static("", id="messages-summary", classes="panel-title")
            with Horizontal(id="messages-split"):
                yield DataTable(id="messages", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="message-detail"):
                    yield Static("select a record", id="detail-text")
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#messages", DataTable)
        for title, width in (("P", 3), ("Offset", 8), ("Timestamp (UTC)", 23), ("Key", 14), ("Value", None)):
            table.add_column(title, key=title.lower(), width=width)
        self.sub_title = f"Messages {self.topic}" + ("" if self.partition is None else f" [{self.partition}]")
        table.focus()

    # -- loading -----------------------------------------------------------------------------

    def _request(self) -> tuple[int | None, str, int | None]:
        """Partition, start and position from the form; raises ValueError with a readable text.

        A typed position chooses the start by itself: a plain number is an offset (epoch
        milliseconds from 12 digits up), anything else a time; the selector follows.
        """
        part_text = self.query_one("#partition", Input).value.strip()
        partition = int(part_text) if part_text else None
        select = self.query_one("#start", Select)
        start = str(select.value)
        raw = self.query_one("#position", Input).value.strip()
        start, position = start_from(raw, start)
        if start != select.value:
            self._start = start
            select.value = start
        return partition, start, position

    def refresh_data(self) -> None:
        """Run the operation asked for (a page back or forward), else a load from the form."""
        if not self.ready:
            return
        if self.loading:
            self._pending = True  # asked while reading: done right after, see DataScreen
            return
        op, self._op = self._op, ("load",)
        if op[0] == "load":
            try:
                op = ("load", *self._request())
            except ValueError as exc:
                self.kapp.report_action_error(str(exc))
                return
        self._current = op
        super().refresh_data()

    def fetch(self) -> Page:
        avro = self.kapp.avro_decoder
        kind = self._current[0]
        if kind == "load":
            _, partition, start, position = self._current
            plan = self.source.plan_browse(self.topic, partition, start, position, PAGE)
            newest = start == "end"
            got = self.source.read_ranges(self.topic, plan.ranges, PAGE * max(1, len(plan.ranges)), newest)
            return Page("load", plan.ranges, plan.marks, [decode.view(m, avro) for m in got], newest)
        marks = self.source.watermarks(self.topic)
        ranges = page_ranges(kind, self.bounds, marks)
        newest = kind == "older"
        got = (
            self.source.read_ranges(self.topic, ranges, PAGE * max(1, len(ranges)), newest) if ranges else []
        )
        return Page(kind, ranges, marks, [decode.view(m, avro) for m in got], newest)

    def apply(self, page: Page) -> None:
        kept = trim(page.records, PAGE, page.newest)
        self.marks = page.marks
        selected = self._selected()
        if page.kind == "load":
            self.records = kept
            self.bounds = {}
        elif page.kind == "older":
            self.records = kept + self.records
        else:
            self.records = self.records + kept
        move_bounds(self.bounds, page, kept)
        if len(self.records) > MAX_ROWS:
            self._drop(len(self.records) - MAX_ROWS, from_start=page.kind != "older")
        self.render_rows(keep=selected if page.kind != "load" else None)
        if page.kind != "load" and not kept:
            where = (
                "before the first record shown: at the log start"
                if page.kind == "older"
                else ("after the last record shown: at the log end")
            )
            self.app.notify(f"no records {where}", title=self.topic)

    def _drop(self, count: int, from_start: bool) -> None:
        """Drop ``count`` records from one end of the window, moving that end's bounds."""
        self.records = drop(self.records, self.bounds, count, from_start)

    def _selected(self) -> tuple[int, int] | None:
        table = self.query_one("#messages", DataTable)
        if 0 <= table.cursor_row < len(self.shown):
            m = self.shown[table.cursor_row].message
            return m.partition, m.offset
        return None

    def render_rows(self, keep: tuple[int, int] | None = None) -> None:
        """Rebuild the rows from the window and the filter; the cursor stays on ``keep`` if shown."""
        needle = self.query_one("#filter", Input).value
        self.shown = [r for r in self.records if decode.matches(needle, r)]
        table = self.query_one("#messages", DataTable)
        table.clear()
        table.add_rows(self._row(r) for r in self.shown)
        self._summary()
        if not self.shown:
            self.query_one("#detail-text", Static).update("no records")
            return
        row = 0
        if keep is not None:
            found = [i for i, r in enumerate(self.shown) if (r.message.partition, r.message.offset) == keep]
            row = found[0] if found else 0
        elif self.tailing:
            row = len(self.shown) - 1
        table.move_cursor(row=row, animate=False)
        self.show_detail(self.shown[row])

    @staticmethod
    def _row(r: RecordView) -> tuple[str | Text, ...]:
        m = r.message
        value: str | Text = r.value if len(r.value) <= 200 else r.value[:199] + "…"
        if r.tombstone:
            value = Text(decode.TOMBSTONE, style="italic red")
        key = r.key if len(r.key) <= 14 else r.key[:13] + "…"
        return (str(m.partition), str(m.offset), fmt_ts(m.timestamp_ms), key, value)

    def position_text(self) -> str:
        """Where the window is: offsets per partition, and whether it reaches either end of the log."""
        if not self.bounds:
            return ""
        parts = sorted(self.bounds)
        if len(parts) <= 3:
            ranges = ", ".join(
                f"p{p} {fmt_count(b[0])}-{fmt_count(max(b[0], b[1] - 1))}"
                for p, b in ((p, self.bounds[p]) for p in parts)
                if b[1] > b[0]
            )
        else:
            ranges = f"{len(parts)} partitions"
        at_start = all(self.bounds[p][0] <= self.marks.get(p, (0, 0))[0] for p in parts)
        at_end = all(self.bounds[p][1] >= self.marks.get(p, (0, 0))[1] for p in parts)
        ends = []
        ends.append("at log start" if at_start else "[ older")
        ends.append("at log end" if at_end else "] newer")
        return (f" · {ranges}" if ranges else "") + " · " + " · ".join(ends)

    def _summary(self) -> None:
        mode = ""
        if self.tailing:
            table = self.query_one("#messages", DataTable)
            following = not self.shown or table.cursor_row >= len(self.shown) - 1
            mode = (
                "[b reverse] LIVE [/] following new records · "
                if following
                else "[b reverse] LIVE [/] paused where you are (F follows again) · "
            )
        needle = self.query_one("#filter", Input).value
        shown = (
            f"{len(self.shown)} of {len(self.records)} records match '{needle}'"
            if needle
            else f"{len(self.shown)} records"
        )
        self.query_one("#messages-summary", Static).update(
            f"{mode}{self.topic}: {shown}{self.position_text()}"
        )

    # -- detail pane -------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "messages" and 0 <= event.cursor_row < len(self.shown):
            self.show_detail(self.shown[event.cursor_row])
            if self.tailing:
                self._summary()
            self.update_explain()

    def explain_lines(self) -> list[str] | None:
        """Why the selected record is in its partition (the Explain pane, ``E``)."""
        from kcli.tui.screens.explain import record_lines

        row = self.query_one("#messages", DataTable).cursor_row
        record = self.shown[row].message if 0 <= row < len(self.shown) else None
        return record_lines(record, len(self.marks) if self.partition is None else None)

    def show_detail(self, record: RecordView) -> None:
        """Headers and every plausible reading of key and value, as one Rich Text (selectable, testable)."""
        m = record.message
        out = Text()
        out.append(f"{m.topic}", style="bold")
        out.append(f" partition {m.partition} offset {m.offset}\n")
        out.append(f"timestamp {fmt_ts(m.timestamp_ms)} UTC ({m.timestamp_ms})\n")
        out.append("\nHeaders\n", style="bold underline")
        if m.headers:
            for k, v in m.headers:
                out.append(f"{k} = {decode.preview(v, 120)}\n")
        else:
            out.append("(none)\n", style="dim")
        for title, data in (("Key", m.key), ("Value", m.value)):
            size = "null" if data is None else f"{len(data)} bytes"
            out.append(f"\n{title}", style="bold underline")
            out.append(f" ({size})\n")
            if title == "Value" and record.tombstone:
                out.append(
                    "tombstone: a null value for a key; on a compacted topic it deletes that key "
                    "(and is itself removed after delete.retention.ms)\n",
                    style="italic red",
                )
                continue
            for reading in decode.readings(data, self.kapp.avro_decoder):
                out.append(f"— {reading.label}\n", style="bold cyan")
                out.append(reading.text + "\n")
        self.detail_text = out.plain
        self.query_one("#detail-text", Static).update(out)

    # -- form events -------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.render_rows(keep=self._selected())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("position", "partition"):
            self.action_load()
        self.query_one("#messages", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        # Select posts Changed when it is first mounted too: reload only on a real change.
        value = str(event.value)
        if event.select.id == "start" and value != self._start and value in ("beginning", "end"):
            self._start = value
            self.query_one("#position", Input).value = ""
            self.action_load()
        elif event.select.id == "start":
            self._start = value

    # -- actions -----------------------------------------------------------------------------

    def action_load(self) -> None:
        if self.tailing:
            self.action_toggle_tail()
        self._op = ("load",)
        self.refresh_data()

    def _page(self, kind: str) -> None:
        if self.loading:
            return  # one page at a time: the bounds move when this one arrives
        if not self.bounds:
            self.action_load()
            return
        self._op = (kind,)
        self.refresh_data()

    def action_older(self) -> None:
        self._page("older")

    def action_newer(self) -> None:
        self._page("newer")

    def action_goto(self) -> None:
        position = self.query_one("#position", Input)
        position.focus()
        position.action_select_all()

    def action_follow(self) -> None:
        table = self.query_one("#messages", DataTable)
        table.focus()
        if self.shown:
            table.move_cursor(row=len(self.shown) - 1, animate=False)
        self._summary()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_form(self) -> None:
        self.query_one("#start", Select).focus()

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, Input | Select):
            self.query_one("#messages", DataTable).focus()
            return
        self.app.pop_screen()

    def action_produce(self) -> None:
        part_text = self.query_one("#partition", Input).value.strip()
        self.post_message(ProduceRecord(self.topic, int(part_text) if part_text.isdigit() else None, None))

    def action_toggle_tail(self) -> None:
        if self.tailing:
            self.tailing = False
            self.tail_ready = False
            if self._tail is not None:
                self._tail.cancel()
                self._tail = None
            self._summary()
            return
        try:
            part_text = self.query_one("#partition", Input).value.strip()
            partition = int(part_text) if part_text else None
        except ValueError:
            partition = None
        self.tailing = True
        self.action_follow()
        self._tail = self._tail_worker(partition)

    @work(thread=True, group="tail")
    def _tail_worker(self, partition: int | None) -> None:
        worker = get_current_worker()
        try:
            tail = self.source.open_tail(self.topic, partition)
        except Exception as exc:
            self._post(self._tail_failed, error_text(exc))
            return
        self._post(self._tail_opened)
        avro = self.kapp.avro_decoder
        try:
            while not worker.is_cancelled:
                try:
                    batch = tail.poll(0.25)
                except Exception as exc:
                    self._post(self.kapp.report_failure, error_text(exc), False)
                    continue
                if batch and not worker.is_cancelled:
                    self._post(self._append, [decode.view(m, avro) for m in batch])
        finally:
            tail.close()

    def _tail_opened(self) -> None:
        self.tail_ready = self.tailing

    def _tail_failed(self, message: str) -> None:
        self.tailing = False
        self._summary()
        self.kapp.report_action_error(message)

    def _append(self, batch: list[RecordView]) -> None:
        """New records from the tail. The cursor follows them only while it is on the newest row:
        a user who moved up to read a record keeps it in view (F or ctrl+end follows again)."""
        if not self.tailing:
            return
        table = self.query_one("#messages", DataTable)
        following = not self.shown or table.cursor_row >= len(self.shown) - 1
        self.records.extend(batch)
        extend(self.bounds, batch)
        if len(self.records) > MAX_ROWS:
            selected = self._selected()
            self._drop(len(self.records) - MAX_ROWS + MAX_ROWS // 10, from_start=True)  # room for a while
            self.render_rows(keep=None if following else selected)
            return
        needle = self.query_one("#filter", Input).value
        fresh = [r for r in batch if decode.matches(needle, r)]
        self.shown.extend(fresh)
        table.add_rows(self._row(r) for r in fresh)
        if fresh and following:
            table.move_cursor(row=len(self.shown) - 1, animate=False)
        self._summary()

    def on_unmount(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
