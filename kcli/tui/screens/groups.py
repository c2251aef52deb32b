"""Consumer groups: the list with state and total lag, and one group's members and offsets."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from kcli.tui.model import GroupDetail, GroupSummary
from kcli.tui.screens.base import DataScreen
from kcli.tui.widgets import StatusBar, fmt_count


class GroupsScreen(DataScreen):
    """Every consumer group with its state, assignor, member count and total lag."""

    BINDINGS = [
        Binding("enter", "open_group", "Detail"),
        Binding("o", "reset_offsets", "Reset offsets"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 3.0

    def __init__(self) -> None:
        super().__init__()
        self.group_ids: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="groups-body"):
            yield Static("", id="groups-summary", classes="panel-title")
            yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#groups", DataTable)
        for title in ("Group", "State", "Protocol", "Members", "Lag"):
            table.add_column(title, key=title.lower())
        self.sub_title = "Consumer groups"
        table.focus()

    def fetch(self) -> list[GroupSummary]:
        return self.source.groups()

    def apply(self, data: list[GroupSummary]) -> None:
        table = self.query_one("#groups", DataTable)
        selected = self.selected_group()
        table.clear()
        self.group_ids = [g.group_id for g in data]
        self.kapp.group_ids = list(self.group_ids)
        for g in data:
            table.add_row(
                g.group_id, g.state, g.protocol or "-", str(g.members), fmt_count(g.lag), key=g.group_id
            )
        if selected in self.group_ids:
            table.move_cursor(row=self.group_ids.index(selected), animate=False)
        total = sum(g.lag or 0 for g in data)
        self.query_one("#groups-summary", Static).update(
            f"{len(data)} consumer groups · total lag {fmt_count(total)}"
        )

    def selected_group(self) -> str | None:
        table = self.query_one("#groups", DataTable)
        if not self.group_ids or not 0 <= table.cursor_row < len(self.group_ids):
            return None
        return self.group_ids[table.cursor_row]

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open_group()

    def action_open_group(self) -> None:
        gid = self.selected_group()
        if gid:
            self.kapp.open_group(gid)

    def action_reset_offsets(self) -> None:
        gid = self.selected_group()
        if gid:
            self.kapp.reset_offsets(gid, self.refresh_data)

    def action_refresh(self) -> None:
        self.refresh_data()


class GroupScreen(DataScreen):
    """One group: members with their assignments, and committed offset / log end / lag per partition."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "reset_offsets", "Reset offsets"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 2.0

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.detail: GroupDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="group-body"):
            yield Static(f"Group [b]{self.group_id}[/b]", id="group-summary", classes="panel-title")
            yield Static("Members", classes="section-title")
            yield DataTable(id="members", cursor_type="row")
            yield Static("Offsets", classes="section-title")
            yield DataTable(id="offsets", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        members = self.query_one("#members", DataTable)
        for title in ("Client id", "Host", "Member id", "Assigned partitions"):
            members.add_column(title, key=title.lower())
        offsets = self.query_one("#offsets", DataTable)
        for title in ("Topic", "Partition", "Committed", "Log end", "Lag"):
            offsets.add_column(title, key=title.lower())
        self.sub_title = f"Group {self.group_id}"

    def fetch(self) -> GroupDetail:
        return self.source.group_detail(self.group_id)

    def apply(self, data: GroupDetail) -> None:
        self.detail = data
        self.query_one("#group-summary", Static).update(
            f"Group [b]{data.group_id}[/b]   state [b]{data.state}[/b]   protocol [b]{data.protocol or '-'}[/b]   "
            f"coordinator [b]{data.coordinator if data.coordinator is not None else '-'}[/b]   "
            f"members [b]{len(data.members)}[/b]   lag [b]{fmt_count(data.lag)}[/b]"
        )
        members = self.query_one("#members", DataTable)
        members.clear()
        for m in data.members:
            assigned = ", ".join(f"{t}-{p}" for t, p in m.assignment) or "-"
            members.add_row(m.client_id, m.host, m.member_id, assigned)
        offsets = self.query_one("#offsets", DataTable)
        offsets.clear()
        for o in data.offsets:
            offsets.add_row(
                o.topic, str(o.partition), fmt_count(o.committed), fmt_count(o.end), fmt_count(o.lag)
            )

    def action_reset_offsets(self) -> None:
        self.kapp.reset_offsets(self.group_id, self.refresh_data)

    def action_refresh(self) -> None:
        self.refresh_data()
