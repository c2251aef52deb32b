"""Cluster metadata and per-broker requests over kio, for the admin tools whose calls
confluent-kafka lacks (AlterPartitionReassignments, ListPartitionReassignments,
DescribeLogDirs: the Java AdminClient's alterPartitionReassignments, listPartitionReassignments,
describeLogDirs). PLAINTEXT listeners only, as :mod:`kcli.tools.admin_wire` explains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kcli.tools.admin_wire import Connection, check_plaintext
from kcli.tools.cli import ToolError

TIMEOUT_S = 30.0


@dataclass
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None


@dataclass
class ClusterView:
    """Brokers and topics (partition -> replica list) from one Metadata request."""

    bootstrap: str
    command_config: str | None = None
    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    topics: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    topic_errors: dict[str, int] = field(default_factory=dict)
    _conns: dict[tuple[str, int], Connection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        conf: dict[str, str] = {}
        if self.command_config:
            from kcli.client import load_config_file

            conf = load_config_file(self.command_config)
        check_plaintext(conf)

    def connection(self, host: str, port: int) -> Connection:
        key = (host, port)
        if key not in self._conns:
            self._conns[key] = Connection(host, port, TIMEOUT_S)
        return self._conns[key]

    def any_broker(self) -> Connection:
        from kcli.client import split_bootstrap

        last: ToolError | None = None
        for host, port in split_bootstrap(self.bootstrap):
            conn = self.connection(host, port)
            try:
                conn.open()
                return conn
            except ToolError as exc:
                last = exc
        raise last or ToolError("No bootstrap server given")

    def to_broker(self, node_id: int) -> Connection:
        node = self.brokers.get(node_id)
        if node is None:
            raise ToolError(f"Broker {node_id} is not in the cluster's metadata")
        return self.connection(node.host, node.port)

    def load(self, topics: list[str] | None = None) -> ClusterView:
        """Metadata v9: live brokers (with racks) and the partitions of ``topics`` (None: all)."""
        body = {
            "topics": None if topics is None else [{"name": t} for t in topics],
            "allow_auto_topic_creation": False,
            "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False,
        }
        response = self.any_broker().request(3, 9, body)
        self.brokers = {
            int(b.node_id): BrokerInfo(int(b.node_id), b.host, int(b.port), b.rack) for b in response.brokers
        }
        for t in response.topics:
            if int(t.error_code):
                self.topic_errors[t.name] = int(t.error_code)
                continue
            self.topics[t.name] = {
                int(p.partition_index): [int(r) for r in p.replica_nodes] for p in t.partitions
            }
        return self

    def request(self, api_key: int, version: int, body: dict[str, Any], node_id: int | None = None) -> Any:
        conn = self.any_broker() if node_id is None else self.to_broker(node_id)
        return conn.request(api_key, version, body)

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
