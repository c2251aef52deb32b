"""The cluster and its brokers, and the failure lab: a timeline of what the cluster did.

Every refresh compares the whole cluster's replication with the last one (:mod:`kcli.tui.screens.events`)
and writes what changed on the timeline: a broker lost or back, the controller moving, leader
elections, ISRs shrinking and growing, the under-replicated count. On the ``kcli local`` stack of
this machine (and only there: :mod:`kcli.cluster_view.local_lab`), ``k`` kills the selected broker as the
replication lab does (``kill -9``) and ``s`` starts it again; ``a`` runs an acks=all producer on a
topic with ``min.insync.replicas=2``, to watch writes being refused while a replica is down and
flowing again once the follower caught up.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from kcli.cluster_view.lab_producer import LabProducer, describe
from kcli.cluster_view.model import ClusterInfo, ReplicationState
from kcli.tui.screens.base import DataScreen
from kcli.tui.screens.events import EventLog, replication_events
from kcli.tui.screens.widgets import StatusBar, fmt_count

#: Timeline rows shown (newest first); the log keeps more.
TIMELINE_ROWS = 200


@dataclass(frozen=True)
class ClusterLook:
    info: ClusterInfo
    replication: ReplicationState | None
    replication_error: str | None = None


class ClusterScreen(DataScreen):
    """What a student checks first (is there a broker, which one is the controller), and the lab."""

    BINDINGS = [
        Binding("k", "kill_broker", "Kill broker"),
        Binding("s", "start_broker", "Start broker"),
        Binding("a", "lab_producer", "acks=all producer"),
        Binding("r", "refresh", "Refresh"),
    ]
    refresh_every = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.state: ReplicationState | None = None
        self.events = EventLog()
        self.broker_ids: list[int] = []
        self.lab: LabProducer | None = None
        self._lab_blocked = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="cluster-body"):
            yield Static("Connecting…", id="cluster-summary", classes="panel-title")
            yield DataTable(id="brokers", cursor_type="row", zebra_stripes=True)
            yield Static("", id="lab-status")
            yield Static("Timeline (newest first)", classes="section-title")
            yield DataTable(id="timeline", cursor_type="row")
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#brokers", DataTable)
        for title, key in (
            ("Broker id", "id"),
            ("Host:port", "address"),
            ("Rack", "rack"),
            ("Controller", "controller"),
            ("State", "state"),
            ("Leads", "leads"),
            ("Replicas", "replicas"),
            ("Lab", "lab"),
        ):
            table.add_column(title, key=key)
        timeline = self.query_one("#timeline", DataTable)
        timeline.add_column("Time", key="time", width=8)
        timeline.add_column("Event", key="event")
        self.sub_title = "Cluster"
        table.focus()

    def fetch(self) -> ClusterLook:
        info = self.source.cluster()
        try:
            return ClusterLook(info, self.source.replication())
        except Exception as exc:  # the overview still shows; the timeline waits for the next look
            from kcli.cluster_view.source import error_text

            return ClusterLook(info, None, error_text(exc))

    def apply(self, data: ClusterLook | ClusterInfo) -> None:
        look = data if isinstance(data, ClusterLook) else ClusterLook(data, None)
        info = look.info
        self.kapp.cluster_info = info
        if look.replication is not None:
            self.events.extend(replication_events(self.state, look.replication))
            self.state = look.replication
        self._lab_events()
        down = ""
        if info.down_broker_ids:  # metadata lists live brokers only; the replicas name the others
            down = f" (down: [b]{','.join(map(str, info.down_broker_ids))}[/b])"
        summary = (
            f"Cluster id [b]{info.cluster_id or '-'}[/b]   controller [b]{info.controller_id}[/b]   "
            f"brokers [b]{len(info.brokers)}[/b]{down}   topics [b]{fmt_count(info.topic_count)}[/b] "
            f"({info.internal_topic_count} internal)   partitions [b]{fmt_count(info.partition_count)}[/b]"
        )
        # Only when something is wrong, as an operator's dashboard shows URP and offline counts.
        if info.under_replicated_count:
            summary += f"   under-replicated [b]{fmt_count(info.under_replicated_count)}[/b]"
        if info.offline_count:
            summary += f"   offline [b]{fmt_count(info.offline_count)}[/b]"
        self.query_one("#cluster-summary", Static).update(summary)
        self._fill_brokers(info)
        self._fill_timeline()
        self._fill_lab()

    def _fill_brokers(self, info: ClusterInfo) -> None:
        table = self.query_one("#brokers", DataTable)
        cursor = table.cursor_row
        table.clear()
        state = self.state
        leads: dict[int, int] = {}
        holds: dict[int, int] = {}
        for p in (state.partitions if state else {}).values():
            leads[p.leader] = leads.get(p.leader, 0) + 1
            for r in p.replicas:
                holds[r] = holds.get(r, 0) + 1
        local = state.local if state else {}
        rows: list[tuple[int, list[str]]] = []
        for b in info.brokers:
            lab = "kcli local" if b.id in local else ""
            rows.append(
                (
                    b.id,
                    [
                        str(b.id),
                        f"{b.host}:{b.port}",
                        b.rack or "-",
                        "yes" if b.controller else "",
                        "up",
                        fmt_count(leads.get(b.id, 0)) if state else "-",
                        fmt_count(holds.get(b.id, 0)) if state else "-",
                        lab,
                    ],
                )
            )
        live = {b.id for b in info.brokers}
        down = set(info.down_broker_ids) | {b for b, running in local.items() if not running}
        for b in sorted(down - live):
            rows.append(
                (
                    b,
                    [
                        str(b),
                        "-",
                        "-",
                        "",
                        "DOWN",
                        "0",
                        fmt_count(holds.get(b, 0)),
                        "kcli local" if b in local else "",
                    ],
                )
            )
        rows.sort(key=lambda r: r[0])
        self.broker_ids = [b for b, _ in rows]
        for b, values in rows:
            table.add_row(*values, key=str(b))
        if 0 <= cursor < len(rows):
            table.move_cursor(row=cursor, animate=False)

    def _fill_timeline(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.clear()
        for e in list(self.events.events)[::-1][:TIMELINE_ROWS]:
            table.add_row(self.kapp.clock_text(e.at), e.text)

    # -- the lab -------------------------------------------------------------------------------

    def _fill_lab(self) -> None:
        if self.lab is not None:
            text = describe(self.lab.snapshot())
        elif self.state is not None and self.state.local:
            text = "kcli local stack: k kills the selected broker (kill -9), s starts it again; " + describe(
                LabProducer({}).status
            )
        else:
            text = (
                "failure lab: brokers can only be stopped from here on the kcli local stack (read-only here)"
            )
        self.query_one("#lab-status", Static).update(text)

    def _lab_events(self) -> None:
        if self.lab is None:
            return
        status = self.lab.snapshot()
        blocked = "BLOCKED" in describe(status)
        if blocked and not self._lab_blocked:
            self.events.add(
                "produce-failed",
                f"acks=all producer blocked: {status.waiting} record(s) wait for an ISR of 2 on {status.topic}",
            )
        elif self._lab_blocked and not blocked:
            self.events.add(
                "produce", f"acks=all producer delivering again (last offset {status.last_offset})"
            )
        self._lab_blocked = blocked

    def selected_broker(self) -> int | None:
        table = self.query_one("#brokers", DataTable)
        if 0 <= table.cursor_row < len(self.broker_ids):
            return self.broker_ids[table.cursor_row]
        return None

    def _local_broker(self) -> int | None:
        broker = self.selected_broker()
        if broker is None:
            return None
        if self.state is None or broker not in self.state.local:
            self.app.notify(
                "Stopping and starting brokers is only offered for the kcli local stack of this machine.",
                title="Failure lab",
                severity="warning",
            )
            return None
        return broker

    def action_kill_broker(self) -> None:
        from kcli.tui.screens.dialogs import ConfirmDialog

        broker = self._local_broker()
        if broker is None:
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                from kcli.cluster_view import local_lab

                self.events.add("note", f"you: kill -9 broker {broker}")
                self.run_action_in_thread(local_lab.kill, self._lab_done, broker)

        self.app.push_screen(
            ConfirmDialog(
                f"Kill broker [b]{broker}[/b] with SIGKILL, as the replication lab does? "
                "(s starts it again with its data)",
                yes="Kill",
            ),
            confirmed,
        )

    def action_start_broker(self) -> None:
        from kcli.cluster_view import local_lab

        broker = self._local_broker()
        if broker is None:
            return
        self.events.add("note", f"you: start broker {broker}")
        self.app.notify(f"starting broker {broker}…", title="Failure lab", timeout=4)
        self.run_action_in_thread(local_lab.start, self._lab_done, broker)

    def _lab_done(self, message: str) -> None:
        self.app.notify(message, title="Failure lab", timeout=6)
        self._fill_timeline()
        self.refresh_data()

    def action_lab_producer(self) -> None:
        if self.lab is not None:
            self.lab.stop()
            self.lab = None
            self.events.add("note", "acks=all producer stopped")
            self._fill_lab()
            return
        live = list(self.state.live) if self.state else []
        lab = LabProducer(self.source.conf)
        self.run_action_in_thread(self._start_lab, self._lab_started, lab, live)

    def _start_lab(self, lab: LabProducer, live: list[int]) -> LabProducer:
        lab.prepare(self.source.admin, live)
        lab.start()
        return lab

    def _lab_started(self, lab: LabProducer) -> None:
        self.lab = lab
        replicas = ",".join(map(str, lab.status.replicas))
        self.events.add(
            "note",
            f"acks=all producer started on {lab.status.topic} (replicas {replicas}, min.insync.replicas=2): "
            f"kill broker {lab.status.replicas[-1] if lab.status.replicas else '?'} to see writes refused",
        )
        self._fill_lab()
        self._fill_timeline()

    def on_unmount(self) -> None:
        if self.lab is not None:
            self.lab.stop()
            self.lab = None

    def explain_lines(self) -> list[str] | None:
        from kcli.tui.screens.explain import cluster_lines

        return cluster_lines(self.kapp.cluster_info, self.state, bool(self.state and self.state.local))

    def action_refresh(self) -> None:
        self.refresh_data()
