"""Topic and consumer-group commands through a REST Proxy (``--url``), as Confluent's on-premises
CLI does them: ``confluent kafka topic list --url http://localhost:8082``.

The v3 API of any Confluent-compatible REST Proxy (kcli's own, or Confluent's) is used; output
is the same as over the Kafka protocol, and REST errors are shown with the proxy's message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kcli.confluent import output
from kcli.confluent.errors import CLIError
from kcli.confluent.output import Field


class Rest:
    def __init__(self, url: str):
        self.base = url.rstrip("/")
        clusters = self.call("GET", "/v3/clusters")
        if not clusters.get("data"):
            raise CLIError("failed to obtain local cluster information")
        self.cluster_id = clusters["data"][0]["cluster_id"]
        self.cluster = f"/v3/clusters/{self.cluster_id}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message") or str(exc)
            except ValueError:
                message = str(exc)
            raise CLIError(message) from None
        except (urllib.error.URLError, OSError) as exc:
            raise CLIError(
                f"cannot reach the REST Proxy at {self.base}: {getattr(exc, 'reason', exc)}",
                "Start it with `kafka-rest-start` or `confluent local services kafka-rest start`, or pass --bootstrap instead.",
            ) from None
        return json.loads(raw) if raw.strip() else None


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def list_topics(rest: Rest, fmt: str) -> None:
    found = rest.call("GET", f"{rest.cluster}/topics")
    output.print_list([[Field("Name", "name", t["topic_name"])] for t in found["data"]], fmt)


def describe(rest: Rest, name: str, fmt: str) -> None:
    topic = rest.call("GET", f"{rest.cluster}/topics/{_q(name)}")
    partitions = rest.call("GET", f"{rest.cluster}/topics/{_q(name)}/partitions")["data"]
    rows = []
    for p in partitions:
        replicas = rest.call(
            "GET", f"{rest.cluster}/topics/{_q(name)}/partitions/{p['partition_id']}/replicas"
        )["data"]
        leader = next((r["broker_id"] for r in replicas if r["is_leader"]), -1)
        rows.append(
            [
                Field("Partition", "partition", p["partition_id"]),
                Field("Leader", "leader", leader),
                Field("Replicas", "replicas", [r["broker_id"] for r in replicas]),
                Field("ISR", "isr", [r["broker_id"] for r in replicas if r["is_in_sync"]]),
            ]
        )
    head = [
        Field("Name", "name", topic["topic_name"]),
        Field("Internal", "is_internal", topic["is_internal"]),
        Field("Replication Factor", "replication_factor", topic["replication_factor"]),
        Field("Partition Count", "partition_count", topic["partitions_count"]),
    ]
    if fmt != "human":
        body = {f.serialized: f.value for f in head}
        body["partitions"] = [{f.serialized: f.value for f in row} for row in rows]
        print(output._dump(body, fmt), end="")
        return
    output.print_table(head)
    print()
    output.print_list(rows, sort=False)


def create(
    rest: Rest,
    name: str,
    partitions: int | None,
    replication: int | None,
    configs: dict[str, str],
    if_not_exists: bool,
) -> None:
    body: dict[str, Any] = {
        "topic_name": name,
        "configs": [{"name": k, "value": v} for k, v in configs.items()],
    }
    if partitions is not None:
        body["partitions_count"] = partitions
    if replication is not None:
        body["replication_factor"] = replication
    try:
        rest.call("POST", f"{rest.cluster}/topics", body)
    except CLIError as exc:
        if exc.message == f"Topic '{name}' already exists.":
            if if_not_exists:
                return
            raise CLIError(
                f'topic "{name}" already exists for the Kafka cluster',
                "To list topics for the cluster, use `confluent kafka topic list --url <url>`.",
            ) from None
        raise
    print(f'Created topic "{name}".')


def update(rest: Rest, name: str, configs: dict[str, str], fmt: str) -> None:
    rest.call(
        "POST",
        f"{rest.cluster}/topics/{_q(name)}/configs:alter",
        {"data": [{"name": k, "value": v} for k, v in configs.items()]},
    )
    if fmt == "human":
        print(f'Updated the following configuration values for topic "{name}":')
    rows = [
        [Field("Name", "name", k), Field("Value", "value", v), Field("Read-Only", "read_only", False)]
        for k, v in configs.items()
    ]
    output.print_list(rows, fmt)


def delete(rest: Rest, name: str, force: bool) -> None:
    import sys

    rest.call("GET", f"{rest.cluster}/topics/{_q(name)}")
    if not force:
        sys.stderr.write(f'Are you sure you want to delete topic "{name}"? (y/n): ')
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise CLIError(f'topic "{name}" was not deleted', "Pass --force to delete without a prompt.")
    rest.call("DELETE", f"{rest.cluster}/topics/{_q(name)}")
    print(f'Deleted topic "{name}".')


def list_groups(rest: Rest, fmt: str) -> None:
    found = rest.call("GET", f"{rest.cluster}/consumer-groups")["data"]
    rows = [
        [
            Field("Cluster", "cluster", g["cluster_id"]),
            Field("Consumer Group", "consumer_group", g["consumer_group_id"]),
            Field(
                "Coordinator",
                "coordinator",
                (g.get("coordinator") or {}).get("related", "").rsplit("/", 1)[-1],
            ),
            Field("Simple", "is_simple", g["is_simple"]),
            Field("Partition Assignor", "partition_assignor", g["partition_assignor"]),
            Field("State", "state", g["state"]),
        ]
        for g in found
    ]
    output.print_list(rows, fmt)


def lag_list(rest: Rest, group: str, fmt: str) -> None:
    found = rest.call("GET", f"{rest.cluster}/consumer-groups/{_q(group)}/lags")["data"]
    rows = [
        [
            Field("Cluster", "cluster", lag["cluster_id"]),
            Field("Consumer Group", "consumer_group", lag["consumer_group_id"]),
            Field("Lag", "lag", lag["lag"]),
            Field("Log End Offset", "log_end_offset", lag["log_end_offset"]),
            Field("Current Offset", "current_offset", lag["current_offset"]),
            Field("Consumer", "consumer", lag["consumer_id"]),
            Field("Instance", "instance", lag["instance_id"] or ""),
            Field("Client", "client", lag["client_id"]),
            Field("Topic", "topic", lag["topic_name"]),
            Field("Partition", "partition", lag["partition_id"]),
        ]
        for lag in found
    ]
    output.print_list(rows, fmt)
