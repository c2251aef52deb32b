"""The cluster overview: live brokers, controller, cluster id, topic and partition counts, and how many
partitions are under-replicated or offline."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from kcli.tui.model import ClusterInfo
from kcli.tui.screens.base import DataScreen
from kcli.tui.widgets import StatusBar, fmt_count


class ClusterScreen(DataScreen):
    """What a student checks first: is there a broker, which one is the controller."""

    BINDINGS = [("r", "refresh", "Refresh")]
    refresh_every = 5.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="cluster-body"):
            yield Static("Connecting…", id="cluster-summary", classes="panel-title")
            yield DataTable(id="brokers", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status")
        yield Footer()

    def setup(self) -> None:
        table = self.query_one("#brokers", DataTable)
        table.add_column("Broker id", key="id")
        table.add_column("Host:port", key="address")
        table.add_column("Rack", key="rack")
        table.add_column("Controller", key="controller")
        self.sub_title = "Cluster"

    def fetch(self) -> ClusterInfo:
        return self.source.cluster()

    def apply(self, data: ClusterInfo) -> None:
        self.kapp.cluster_info = data
        down = ""
        if data.down_broker_ids:  # metadata lists live brokers only; the replicas name the others
            down = f" (down: [b]{','.join(map(str, data.down_broker_ids))}[/b])"
        summary = (
            f"Cluster id [b]{data.cluster_id or '-'}[/b]   controller [b]{data.controller_id}[/b]   "
            f"brokers [b]{len(data.brokers)}[/b]{down}   topics [b]{fmt_count(data.topic_count)}[/b] "
            f"({data.internal_topic_count} internal)   partitions [b]{fmt_count(data.partition_count)}[/b]"
        )
        # Only when something is wrong, as an operator's dashboard shows URP and offline counts.
        if data.under_replicated_count:
            summary += f"   under-replicated [b]{fmt_count(data.under_replicated_count)}[/b]"
        if data.offline_count:
            summary += f"   offline [b]{fmt_count(data.offline_count)}[/b]"
        self.query_one("#cluster-summary", Static).update(summary)
        table = self.query_one("#brokers", DataTable)
        table.clear()
        for b in data.brokers:
            table.add_row(
                str(b.id), f"{b.host}:{b.port}", b.rack or "-", "yes" if b.controller else "", key=str(b.id)
            )

    def action_refresh(self) -> None:
        self.refresh_data()
