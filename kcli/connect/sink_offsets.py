"""A sink connector's offsets (KIP-875): the committed offsets of its consumer group ``connect-<name>``.

Read, altered and reset with the admin client, as Kafka's ``Worker`` does for sink connectors; a
source connector's offsets are in the offset store (:mod:`kcli.connect.offsets`).
"""

from __future__ import annotations

from typing import Any

from kcli.connect.errors import BadRequest, ConnectError


def sink_offsets(admin_conf: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """``GET /connectors/{name}/offsets`` of a sink: its group's committed offsets."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(admin_conf)
    futures = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(f"connect-{name}")], request_timeout=30
    )
    result = next(iter(futures.values())).result(30)
    return [
        {
            "partition": {"kafka_topic": tp.topic, "kafka_partition": tp.partition},
            "offset": {"kafka_offset": tp.offset},
        }
        for tp in result.topic_partitions
        if tp.offset >= 0
    ]


def alter_sink_offsets(admin_conf: dict[str, Any], name: str, offsets: list[dict[str, Any]]) -> None:
    """``PATCH /connectors/{name}/offsets`` of a sink: commit the given offsets for its group."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    tps = []
    for entry in offsets:
        partition = entry.get("partition") or {}
        offset = entry.get("offset") or {}
        try:
            tps.append(
                TopicPartition(
                    str(partition["kafka_topic"]),
                    int(partition["kafka_partition"]),
                    int(offset["kafka_offset"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise BadRequest(
                "Offsets of a sink connector need kafka_topic, kafka_partition and kafka_offset"
            ) from None
    admin = AdminClient(admin_conf)
    futures = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(f"connect-{name}", tps)])
    next(iter(futures.values())).result(30)


def reset_sink_offsets(admin_conf: dict[str, Any], name: str) -> None:
    """``DELETE /connectors/{name}/offsets`` of a sink: delete its group."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(admin_conf)
    futures = admin.delete_consumer_groups([f"connect-{name}"], request_timeout=30)
    try:
        next(iter(futures.values())).result(30)
    except Exception as exc:  # a group that never committed does not exist: nothing to reset
        if "GROUP_ID_NOT_FOUND" not in str(exc):
            raise ConnectError(f"Failed to reset offsets of connector {name}: {exc}") from None
