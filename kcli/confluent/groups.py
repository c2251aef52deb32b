"""Consumer groups for ``confluent kafka consumer group list|describe|lag``: Kafka admin requests,
shown with the Confluent CLI's columns. Lag is the log end offset minus the committed offset."""

from __future__ import annotations

from typing import Any

from kcli.confluent import output
from kcli.confluent.errors import CLIError
from kcli.confluent.output import Field
from kcli.confluent.topics import _wait, metadata


def _state(group: Any) -> str:
    return getattr(group.state, "name", str(group.state))


def group_out(cluster: str, group: Any) -> list[Field]:
    coordinator = getattr(group, "coordinator", None)
    return [
        Field("Cluster", "cluster", cluster),
        Field("Consumer Group", "consumer_group", group.group_id),
        Field("Coordinator", "coordinator", str(coordinator.id) if coordinator is not None else ""),
        Field("Simple", "is_simple", bool(group.is_simple_consumer_group)),
        Field("Partition Assignor", "partition_assignor", getattr(group, "partition_assignor", "") or ""),
        Field("State", "state", _state(group)),
    ]


def describe_groups(client: Any, ids: list[str]) -> list[Any]:
    if not ids:
        return []
    futures = client.describe_consumer_groups(ids)
    return [_wait(futures[i]) for i in ids]


def list_groups(client: Any, fmt: str) -> None:
    listed = _wait(client.list_consumer_groups())
    cluster = metadata(client).cluster_id or ""
    groups = describe_groups(client, sorted(g.group_id for g in listed.valid))
    output.print_list([group_out(cluster, g) for g in groups], fmt)


def _existing(client: Any, group_id: str) -> Any:
    (found,) = describe_groups(client, [group_id])
    if _state(found) == "DEAD":
        raise CLIError(
            f'consumer group "{group_id}" not found',
            "To list consumer groups, use `confluent kafka consumer group list`.",
        )
    return found


def describe(client: Any, group_id: str, fmt: str) -> None:
    found = _existing(client, group_id)
    cluster = metadata(client).cluster_id or ""
    output.print_table(group_out(cluster, found), fmt)
    if fmt == "human" and found.members:
        print()
        rows = [
            [
                Field("Consumer Group", "consumer_group", group_id),
                Field("Consumer", "consumer", m.member_id),
                Field("Instance", "instance", m.group_instance_id or ""),
                Field("Client", "client", m.client_id),
            ]
            for m in found.members
        ]
        output.print_list(rows)


def lags(client: Any, group_id: str) -> list[dict[str, Any]]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    found = _existing(client, group_id)
    owners = {}
    for member in found.members:
        for tp in member.assignment.topic_partitions if member.assignment else []:
            owners[(tp.topic, tp.partition)] = member
    committed = _wait(client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)])[group_id])
    partitions = [tp for tp in committed.topic_partitions if tp.offset >= 0]
    if not partitions:
        return []
    futures = client.list_offsets(
        {TopicPartition(tp.topic, tp.partition): OffsetSpec.latest() for tp in partitions}
    )
    ends = {(tp.topic, tp.partition): _wait(f).offset for tp, f in futures.items()}
    out = []
    for tp in sorted(partitions, key=lambda t: (t.topic, t.partition)):
        end = ends.get((tp.topic, tp.partition), tp.offset)
        member = owners.get((tp.topic, tp.partition))
        out.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "current": tp.offset,
                "end": end,
                "lag": max(0, end - tp.offset),
                "consumer": member.member_id if member else "",
                "instance": (member.group_instance_id or "") if member else "",
                "client": member.client_id if member else "",
            }
        )
    return out


def lag_out(cluster: str, group_id: str, lag: dict[str, Any]) -> list[Field]:
    return [
        Field("Cluster", "cluster", cluster),
        Field("Consumer Group", "consumer_group", group_id),
        Field("Lag", "lag", lag["lag"]),
        Field("Log End Offset", "log_end_offset", lag["end"]),
        Field("Current Offset", "current_offset", lag["current"]),
        Field("Consumer", "consumer", lag["consumer"]),
        Field("Instance", "instance", lag["instance"]),
        Field("Client", "client", lag["client"]),
        Field("Topic", "topic", lag["topic"]),
        Field("Partition", "partition", lag["partition"]),
    ]


def lag_list(client: Any, group_id: str, fmt: str) -> None:
    cluster = metadata(client).cluster_id or ""
    output.print_list([lag_out(cluster, group_id, lag) for lag in lags(client, group_id)], fmt)


def lag_describe(client: Any, group_id: str, topic: str, partition: int, fmt: str) -> None:
    cluster = metadata(client).cluster_id or ""
    for lag in lags(client, group_id):
        if lag["topic"] == topic and lag["partition"] == partition:
            output.print_table(lag_out(cluster, group_id, lag), fmt)
            return
    raise CLIError(
        f'no committed offset for consumer group "{group_id}" on topic "{topic}" partition {partition}'
    )


def lag_summarize(client: Any, group_id: str, fmt: str) -> None:
    cluster = metadata(client).cluster_id or ""
    found = lags(client, group_id)
    top = max(found, key=lambda lag: lag["lag"], default=None)
    output.print_table(
        [
            Field("Cluster", "cluster", cluster),
            Field("Consumer Group", "consumer_group", group_id),
            Field("Total Lag", "total_lag", sum(lag["lag"] for lag in found)),
            Field("Max Lag", "max_lag", top["lag"] if top else 0),
            Field("Max Lag Consumer", "max_lag_consumer", top["consumer"] if top else ""),
            Field("Max Lag Instance", "max_lag_instance", top["instance"] if top else ""),
            Field("Max Lag Client", "max_lag_client", top["client"] if top else ""),
            Field("Max Lag Topic", "max_lag_topic", top["topic"] if top else ""),
            Field("Max Lag Partition", "max_lag_partition", top["partition"] if top else 0),
        ],
        fmt,
    )
