"""The topic table: filter by typing, sort by column, create and delete, open detail or messages."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, Static

from kcli.cluster_view.model import TopicSummary
from kcli.cluster_view.source import needs_typed_confirmation
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.navigation import OpenMessages, OpenTopic
from kcli.tui.screens.widgets import StatusBar, fmt_bytes, fmt_count

#: column key -> (title, sort key on a TopicSummary)
COLUMNS: dict[str, tuple[str, object]] = {
    "name": ("Topic", lambda t: t.name),
    "partitions": ("Partitions", lambda t: t.partitions),
    "rf": ("RF", lambda t: t.replication_factor),
    "records": ("Records", lambda t: t.records if t.records is not None else -1),
    "size": ("Size", lambda t: t.size_bytes if t.size_bytes is not None else -1),
    "urp": ("Under-replicated", lambda t: (t.offline, t.under_replicated)),
    "internal": ("Internal", lambda t: t.internal),
}


def replication_state(t: TopicSummary) -> str:
    """Blank when every partition is fully in sync; else how many are not, offline ones first."""
    parts = []
    if t.offline:
        parts.append(f"{t.offline} offline")
    if t.under_replicated:
        parts.append(f"{t.under_replicated} of {t.partitions}")
    return ", ".join(parts)


class TopicsScreen(DataScreen):
    """All topics of the cluster in one DataTable.

    Rows are rebuilt from a list kept in memory, so filtering and sorting never go back to the
    cluster; only the periodic refresh does, with two bulk ListOffsets calls for all partitions.
    """

    BINDINGS = [
        Binding("enter", "open_topic", "Detail", show=True),
        Binding("m", "messages", "Messages"),
        Binding("n", "create_topic", "New topic"),
        Binding("d", "delete_topic", "Delete"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("i", "toggle_internal", "Internal"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 5.0

    def __init__(self) -> None:
        super().__init__()
        self.all_topics: list[TopicSummary] = []
        self.sort_column = "name"
        self.sort_reverse = False
        self.show_internal = True
        self._names: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="topics-body"):
            yield Input(placeholder="filter topics by name (press / to focus)", id="topic-filter")
            yield Static("", id="topics-summary", classes="panel-title")
            yield DataTable(id="topics", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#topics", DataTable)
        for key, (title, _) in COLUMNS.items():
            table.add_column(title, key=key)
        self.sub_title = "Topics"
        table.focus()

    def fetch(self) -> list[TopicSummary]:
        return self.source.topics()

    def apply(self, data: list[TopicSummary]) -> None:
        if data == self.all_topics and self._names is not None:
            return  # nothing changed: rebuilding 1,000 rows would only cost a repaint
        self.all_topics = data
        self.kapp.topic_names = [t.name for t in data]
        self.render_rows()

    def visible_topics(self) -> list[TopicSummary]:
        needle = self.query_one("#topic-filter", Input).value.strip().lower()
        rows = [
            t
            for t in self.all_topics
            if (self.show_internal or not t.internal) and (not needle or needle in t.name.lower())
        ]
        key = COLUMNS[self.sort_column][1]
        rows.sort(key=key, reverse=self.sort_reverse)  # type: ignore[arg-type]
        return rows

    def render_rows(self) -> None:
        """Rebuild the rows, keeping the cursor on the same topic when it is still shown."""
        table = self.query_one("#topics", DataTable)
        selected = self.selected_topic()
        rows = self.visible_topics()
        table.clear()
        table.add_rows(
            (
                t.name,
                str(t.partitions),
                str(t.replication_factor),
                fmt_count(t.records),
                fmt_bytes(t.size_bytes),
                replication_state(t),
                "yes" if t.internal else "",
            )
            for t in rows
        )
        # add_rows gives generated keys; map names to row indexes for cursor restoring
        self._names = [t.name for t in rows]
        if selected in self._names:
            table.move_cursor(row=self._names.index(selected), animate=False)
        arrow = "▼" if self.sort_reverse else "▲"
        total = sum(t.records or 0 for t in rows)
        self.query_one("#topics-summary", Static).update(
            f"{len(rows)} of {len(self.all_topics)} topics · {fmt_count(total)} records · "
            f"sorted by {COLUMNS[self.sort_column][0]} {arrow}"
            + ("" if self.show_internal else " · internal hidden")
        )

    def selected_topic(self) -> str | None:
        table = self.query_one("#topics", DataTable)
        names = self._names or []
        if not names or table.cursor_row is None or not 0 <= table.cursor_row < len(names):
            return None
        return names[table.cursor_row]

    # -- events and actions ----------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "topic-filter":
            self.render_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "topic-filter":
            self.query_one("#topics", DataTable).focus()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = key, False
        self.render_rows()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "topics":
            self.action_open_topic()

    def action_cycle_sort(self) -> None:
        keys = list(COLUMNS)
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = self.sort_column in ("records", "size", "partitions")
        self.render_rows()

    def action_toggle_internal(self) -> None:
        self.show_internal = not self.show_internal
        self.render_rows()

    def action_focus_filter(self) -> None:
        self.query_one("#topic-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#topic-filter", Input).value = ""
        self.query_one("#topics", DataTable).focus()

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import topics_lines

        return topics_lines(len(self.kapp.topic_names))

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_open_topic(self) -> None:
        name = self.selected_topic()
        if name:
            self.post_message(OpenTopic(name))

    def action_messages(self) -> None:
        name = self.selected_topic()
        if name:
            self.post_message(OpenMessages(name))

    def action_create_topic(self) -> None:
        from kcli.tui.screens.forms import CreateTopicDialog

        def created(name: str | None) -> None:
            if name is not None:
                self._created(name)

        self.app.push_screen(CreateTopicDialog(), created)

    def _created(self, name: str) -> None:
        self.app.notify(f"Created topic {name}", title="Topics")
        self.refresh_data()

    def action_delete_topic(self) -> None:
        name = self.selected_topic()
        if name:
            confirm_delete(self, name, lambda: self._deleted(name))

    def _deleted(self, name: str) -> None:
        self.app.notify(f"Deleted topic {name}", title="Topics")
        self.refresh_data()


def confirm_delete(screen: DataScreen, name: str, on_deleted: Callable[[], None]) -> None:
    """Ask before deleting topic ``name``, then delete it in a worker.

    ``y`` confirms a normal topic; an internal or system topic (``__consumer_offsets`` holds every
    group's offsets, ``_schemas`` every schema) must have its name typed.
    """
    from kcli.tui.screens.dialogs import ConfirmDialog, TypeNameDialog

    def confirmed(ok: bool | None) -> None:
        if ok:
            screen.run_action_in_thread(screen.source.delete_topic, lambda _: on_deleted(), name)

    if needs_typed_confirmation(name):
        dialog: ModalScreen[bool] = TypeNameDialog(
            f"[b]{name}[/b] is an internal topic: deleting it loses what the cluster itself keeps there "
            "(committed offsets, transactions, schemas) for every client.",
            name,
        )
    else:
        dialog = ConfirmDialog(f"Delete topic [b]{name}[/b] and all its records?")
    screen.app.push_screen(dialog, confirmed)
