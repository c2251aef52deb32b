"""The message browser: read a topic or one partition from a position, inspect, filter, tail, produce."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Select, Static
from textual.worker import Worker, get_current_worker

from kcli.tui import decode
from kcli.tui.kafka import error_text
from kcli.tui.model import Message
from kcli.tui.screens.base import DataScreen
from kcli.tui.widgets import StatusBar, fmt_ts, parse_ts

START_CHOICES = [
    ("from beginning", "beginning"),
    ("last records", "end"),
    ("from offset", "offset"),
    ("from time", "timestamp"),
]
#: Records kept in memory while tailing; older ones scroll away.
MAX_ROWS = 5000
PAGE = 200


class MessagesScreen(DataScreen):
    """Loads once per request (no periodic refresh); live tail follows the end in a worker."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "load", "Load"),
        Binding("t", "toggle_tail", "Live tail"),
        Binding("p", "produce", "Produce"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("f", "focus_form", "Position"),
    ]
    refresh_every = 0.0  # no periodic reload: a browse is a snapshot the user asked for

    def __init__(self, topic: str, partition: int | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition
        self.messages: list[Message] = []
        self.shown: list[Message] = []
        self.tailing = False
        #: True once the tail consumer is positioned: records produced from then on will show
        self.tail_ready = False
        self._tail: Worker | None = None
        #: plain text of the detail pane, for tests and copy/paste
        self.detail_text = ""
        self._start = "beginning"

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="messages-body"):
            with Horizontal(id="browse-form"):
                yield Select(START_CHOICES, value="beginning", allow_blank=False, id="start")
                yield Input(placeholder="offset / time", id="position")
                yield Input(
                    "" if self.partition is None else str(self.partition),
                    placeholder="all partitions",
                    id="partition",
                    type="integer",
                )
                yield Input(placeholder="filter key/value text (/)", id="filter")
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
        """Partition, start and position from the form; raises ValueError with a readable text."""
        part_text = self.query_one("#partition", Input).value.strip()
        partition = int(part_text) if part_text else None
        start = str(self.query_one("#start", Select).value)
        raw = self.query_one("#position", Input).value.strip()
        position: int | None = None
        if start == "offset":
            if not raw.lstrip("-").isdigit():
                raise ValueError("type an offset to start from")
            position = int(raw)
        elif start == "timestamp":
            if not raw:
                raise ValueError("type a time: epoch ms or 2026-01-01T12:00:00")
            position = parse_ts(raw)
        return partition, start, position

    def refresh_data(self) -> None:
        if not self.ready:
            return
        try:
            self._req = self._request()
        except ValueError as exc:
            self.kapp.report_action_error(str(exc))
            return
        super().refresh_data()

    def fetch(self) -> list[Message]:
        partition, start, position = self._req
        return self.source.browse(self.topic, partition, start, position, PAGE)  # type: ignore[arg-type]

    def apply(self, data: list[Message]) -> None:
        self.messages = list(data)
        self.render_rows()

    def render_rows(self) -> None:
        needle = self.query_one("#filter", Input).value
        self.shown = [m for m in self.messages if decode.matches(needle, m.key, m.value)]
        table = self.query_one("#messages", DataTable)
        table.clear()
        table.add_rows(self._row(m) for m in self.shown)
        self._summary()
        if self.shown:
            table.move_cursor(row=len(self.shown) - 1 if self.tailing else 0, animate=False)
            self.show_detail(self.shown[table.cursor_row])
        else:
            self.query_one("#detail-text", Static).update("no records")

    @staticmethod
    def _row(m: Message) -> tuple[str, ...]:
        return (
            str(m.partition),
            str(m.offset),
            fmt_ts(m.timestamp_ms),
            decode.preview(m.key, 14),
            decode.preview(m.value, 200),
        )

    def _summary(self) -> None:
        mode = "[b reverse] LIVE [/] following new records · " if self.tailing else ""
        needle = self.query_one("#filter", Input).value
        shown = (
            f"{len(self.shown)} of {len(self.messages)} records match '{needle}'"
            if needle
            else f"{len(self.shown)} records"
        )
        self.query_one("#messages-summary", Static).update(f"{mode}{self.topic}: {shown}")

    # -- detail pane -------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "messages" and 0 <= event.cursor_row < len(self.shown):
            self.show_detail(self.shown[event.cursor_row])

    def show_detail(self, m: Message) -> None:
        """Headers and every plausible reading of key and value, as one Rich Text (selectable, testable)."""
        from rich.text import Text

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
            for reading in decode.readings(data, self.kapp.avro_decoder):
                out.append(f"— {reading.label}\n", style="bold cyan")
                out.append(reading.text + "\n")
        self.detail_text = out.plain
        self.query_one("#detail-text", Static).update(out)

    # -- form events -------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.render_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("position", "partition"):
            self.action_load()
        self.query_one("#messages", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        # Select posts Changed when it is first mounted too: reload only on a real change.
        value = str(event.value)
        if event.select.id == "start" and value != self._start and value in ("beginning", "end"):
            self._start = value
            self.action_load()
        elif event.select.id == "start":
            self._start = value

    # -- actions -----------------------------------------------------------------------------

    def action_load(self) -> None:
        if self.tailing:
            self.action_toggle_tail()
        self.refresh_data()

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
        self.kapp.produce(self.topic, int(part_text) if part_text.isdigit() else None, None)

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
        self._summary()
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
        try:
            while not worker.is_cancelled:
                try:
                    batch = tail.poll(0.25)
                except Exception as exc:
                    self._post(self.kapp.report_failure, error_text(exc))
                    continue
                if batch and not worker.is_cancelled:
                    self._post(self._append, batch)
        finally:
            tail.close()

    def _tail_opened(self) -> None:
        self.tail_ready = self.tailing

    def _tail_failed(self, message: str) -> None:
        self.tailing = False
        self._summary()
        self.kapp.report_action_error(message)

    def _append(self, batch: list[Message]) -> None:
        """New records from the tail: append rows without rebuilding the table, keep the newest in view."""
        if not self.tailing:
            return
        self.messages.extend(batch)
        table = self.query_one("#messages", DataTable)
        if len(self.messages) > MAX_ROWS:
            self.messages = self.messages[-MAX_ROWS:]
            self.render_rows()
            return
        needle = self.query_one("#filter", Input).value
        fresh = [m for m in batch if decode.matches(needle, m.key, m.value)]
        self.shown.extend(fresh)
        table.add_rows(self._row(m) for m in fresh)
        if fresh:
            table.move_cursor(row=len(self.shown) - 1, animate=False)
        self._summary()

    def on_unmount(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
