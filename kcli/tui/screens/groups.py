"""Consumer groups: the list with state and total lag, and one group's members and offsets.

What could not be read is said, never guessed: a group whose coordinator did not answer shows
``-`` and the reason in its Problem column, not "Unknown" with lag 0.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from kcli.cluster_view.model import GroupDetail, GroupList, GroupMemberInfo
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.events import EventLog, GroupLook, group_events, look_from_detail
from kcli.tui.screens.navigation import OpenGroup, ResetGroupOffsets
from kcli.tui.screens.rebalance_timeline import Timeline
from kcli.tui.screens.widgets import FROM_START_NOTE, StatusBar, fmt_count, fmt_lag, set_note


class GroupsScreen(DataScreen):
    """Every consumer group with its state, assignor, members, topics and total lag."""

    BINDINGS = [
        Binding("enter", "open_group", "Detail"),
        Binding("o", "reset_offsets", "Reset offsets"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 3.0

    def __init__(self) -> None:
        super().__init__()
        self.group_ids: list[str] = []
        #: group -> (wall time of its first failed read, the last error), while it keeps failing
        self.failing: dict[str, tuple[float, str]] = {}
        #: what was said when a group became readable again (newest last)
        self.recoveries: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="groups-body"):
            yield Static("", id="groups-summary", classes="panel-title")
            yield DataTable(id="groups", cursor_type="row", zebra_stripes=True)
            yield Static("", id="groups-problems", classes="problem")
            yield Static("", id="groups-note", classes="note")
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#groups", DataTable)
        for title in ("Group", "State", "Protocol", "Members", "Topics", "Lag", "Problem"):
            table.add_column(title, key=title.lower())
        self.sub_title = "Consumer groups"
        for note in ("#groups-problems", "#groups-note"):
            self.query_one(note).display = False
        table.focus()

    def fetch(self) -> GroupList:
        return self.source.groups()

    def apply(self, data: GroupList) -> None:
        table = self.query_one("#groups", DataTable)
        selected = self.selected_group()
        table.clear()
        groups = list(data.groups)
        self.group_ids = [g.group_id for g in groups]
        self.kapp.group_ids = list(self.group_ids)
        for g in groups:
            table.add_row(
                g.group_id,
                g.state,
                g.protocol or "-",
                str(g.members),
                ", ".join(g.topics) or "-",
                fmt_lag(g.lag, g.uncommitted, g.unknown),
                g.error or "",
                key=g.group_id,
            )
        if selected in self.group_ids:
            table.move_cursor(row=self.group_ids.index(selected), animate=False)
        self._track_failures(data)
        unread = [g for g in groups if g.lag is None]
        total = sum(g.lag or 0 for g in groups)
        summary = f"{len(groups)} consumer groups · total lag {fmt_count(total)}"
        if unread:
            summary = (
                f"{len(groups)} consumer groups · total lag ≥{fmt_count(total)} ({len(unread)} unreadable)"
            )
        elif any(g.unknown for g in groups):
            summary = f"{len(groups)} consumer groups · total lag ≥{fmt_count(total)}"
        self.query_one("#groups-summary", Static).update(summary)
        problems = list(data.problems)
        problems += [f"{g.group_id}: {g.error}" for g in groups if g.error]
        lines = [f"⚠ {p}" for p in problems[:6]] + (["…"] if len(problems) > 6 else [])
        set_note(self.query_one("#groups-problems", Static), "\n".join(lines))
        note = FROM_START_NOTE if any(g.uncommitted for g in groups) else ""
        set_note(self.query_one("#groups-note", Static), note)

    def _track_failures(self, data: GroupList) -> None:
        """Remember since when each group fails; when it reads fine again, say what failed meanwhile."""
        import time

        from kcli.tui.screens.base import clock

        now = time.time()
        for g in data.groups:
            if g.error:
                since = self.failing.get(g.group_id, (now, ""))[0]
                self.failing[g.group_id] = (since, g.error)
            elif g.group_id in self.failing:
                since, error = self.failing.pop(g.group_id)
                message = f"group {g.group_id} is readable again; it failed from {clock(since)} to {clock(now)} ({error})"
                self.recoveries.append(message)
                if self.is_current:
                    self.app.notify(message, title="Recovered", timeout=10)
        gone = set(self.failing) - {g.group_id for g in data.groups}
        for gid in gone:
            del self.failing[gid]

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
            self.post_message(OpenGroup(gid))

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import groups_lines

        return groups_lines(len(self.group_ids))

    def action_reset_offsets(self) -> None:
        gid = self.selected_group()
        if gid:
            self.post_message(ResetGroupOffsets(gid, self.refresh_data))

    def action_refresh(self) -> None:
        self.refresh_data()


class GroupScreen(DataScreen):
    """One group: members with their assignments, and per partition the committed offset, log
    end, lag and owning member - the columns of ``kafka-consumer-groups --describe``."""

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
        self.timeline = Timeline()  # the group's rebalances, from one refresh to the next
        #: committed offsets moving, seen between refreshes (newest last; the "Commits" table)
        self.events = EventLog()
        self._look: GroupLook | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="group-body"):
            yield Static(f"Group [b]{self.group_id}[/b]", id="group-summary", classes="panel-title")
            yield Static("", id="group-problems", classes="problem")
            yield Static("Members", classes="section-title")
            yield DataTable(id="members", cursor_type="row")
            yield Static("Offsets", classes="section-title")
            yield DataTable(id="offsets", cursor_type="row", zebra_stripes=True)
            yield Static("", id="group-note", classes="note")
            yield Static("", id="group-timeline", classes="note")
            yield Static("Commits (newest first): the committed offsets moving", classes="section-title")
            yield DataTable(id="group-commits", cursor_type="row")
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        members = self.query_one("#members", DataTable)
        for title in ("Client id", "Host", "Member id", "Assigned partitions"):
            members.add_column(title, key=title.lower())
        offsets = self.query_one("#offsets", DataTable)
        for title in ("Topic", "Partition", "Committed", "Log end", "Lag", "Member id", "Host", "Client id"):
            offsets.add_column(title, key=title.lower())
        commits = self.query_one("#group-commits", DataTable)
        commits.add_column("Time", key="time", width=8)
        commits.add_column("Commit", key="commit")
        self.sub_title = f"Group {self.group_id}"
        for note in ("#group-problems", "#group-note", "#group-timeline"):
            self.query_one(note).display = False

    def fetch(self) -> GroupDetail:
        return self.source.group_detail(self.group_id)

    def apply(self, data: GroupDetail) -> None:
        self.detail = data
        lag = fmt_lag(data.lag, data.uncommitted, sum(o.lag is None for o in data.offsets))
        kip848 = ""
        if data.group_type == "consumer":  # the broker assigns: show its epochs
            kip848 = (
                f"   type [b]consumer (KIP-848)[/b]   group epoch [b]{data.group_epoch}[/b]"
                f"   target epoch [b]{data.assignment_epoch}[/b]"
            )
        self.query_one("#group-summary", Static).update(
            f"Group [b]{data.group_id}[/b]   state [b]{data.state}[/b]   protocol [b]{data.protocol or '-'}[/b]   "
            f"coordinator [b]{data.coordinator if data.coordinator is not None else '-'}[/b]   "
            f"members [b]{len(data.members)}[/b]   lag [b]{lag}[/b]{kip848}"
        )
        self.timeline.observe(data)
        events = self.timeline.lines()
        set_note(
            self.query_one("#group-timeline", Static), "Rebalances\n" + "\n".join(events) if events else ""
        )
        set_note(self.query_one("#group-problems", Static), "\n".join(f"⚠ {e}" for e in data.errors))
        members = self.query_one("#members", DataTable)
        members.clear()
        for m in data.members:
            members.add_row(m.client_id, m.host, m.member_id, assignment_text(m))
        offsets = self.query_one("#offsets", DataTable)
        cursor = offsets.cursor_row
        offsets.clear()
        for o in data.offsets:
            offsets.add_row(
                o.topic,
                str(o.partition),
                fmt_count(o.committed),
                fmt_count(o.end),
                fmt_lag(o.lag, o.from_start),
                o.member_id or "-",
                o.host or "-",
                o.member or "-",
            )
        if 0 <= cursor < len(data.offsets):
            offsets.move_cursor(row=cursor, animate=False)
        set_note(self.query_one("#group-note", Static), FROM_START_NOTE if data.uncommitted else "")
        self._commits(data)

    def _commits(self, data: GroupDetail) -> None:
        """Committed offsets that moved since the last refresh (joins, leaves and moves are the
        rebalance timeline's, above)."""
        if not data.errors:  # a refresh that could not read the group says nothing about changes
            look = look_from_detail(data)
            found = group_events(self.group_id, self._look, look)
            self.events.extend((kind, text) for kind, text in found if kind == "commit")
            self._look = look
        table = self.query_one("#group-commits", DataTable)
        table.clear()
        for e in list(self.events.events)[::-1][:100]:
            table.add_row(self.kapp.clock_text(e.at), e.text)

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import group_lines

        return group_lines(self.detail) if self.detail is not None else None

    def action_reset_offsets(self) -> None:
        self.post_message(ResetGroupOffsets(self.group_id, self.refresh_data))

    def action_refresh(self) -> None:
        self.refresh_data()


def assignment_text(member: GroupMemberInfo) -> str:
    """A member's partitions; for a KIP-848 member also its epoch, its protocol when it is still
    a classic one, and its target while it is still reconciling towards it."""
    current = ", ".join(f"{t}-{p}" for t, p in member.assignment) or "-"
    if member.epoch is None:
        return current
    notes = [f"epoch {member.epoch}"]
    if member.upgraded is False:
        notes.append("classic protocol")
    if member.target is not None and member.target != member.assignment:
        notes.append("target " + (", ".join(f"{t}-{p}" for t, p in member.target) or "-"))
    return f"{current}  ({'; '.join(notes)})"
