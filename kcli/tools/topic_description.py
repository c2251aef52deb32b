"""What ``kafka-topics --describe`` prints: Kafka's TopicCommand lines for a topic and its partitions."""

from __future__ import annotations

import argparse
from typing import Any

#: ConfigEntry source code of a value that nobody set (Kafka's ``ConfigSource.DEFAULT_CONFIG``).
DEFAULT_CONFIG_SOURCE = 5


def overridden_configs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Entries whose source is not DEFAULT_CONFIG, in the broker's order (``ConfigEntry.isDefault``)."""
    out = []
    for name, entry in config.items():
        source = getattr(entry.source, "value", entry.source)
        if source == DEFAULT_CONFIG_SOURCE:
            continue
        out.append((name, "null" if entry.value is None else entry.value))
    return out


def topic_id_text(uuid: Any) -> str | None:
    """Kafka's ``Uuid.toString``: URL-safe base64 of the 16 bytes without padding; None for the
    all-zero id (which TopicCommand omits). librdkafka's own text uses the standard alphabet."""
    import base64

    if uuid is None:
        return None
    try:
        high = uuid.get_most_significant_bits() & (2**64 - 1)
        low = uuid.get_least_significant_bits() & (2**64 - 1)
    except AttributeError:
        return str(uuid).replace("+", "-").replace("/", "_").rstrip("=")
    if high == 0 and low == 0:
        return None
    raw = high.to_bytes(8, "big") + low.to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _ids(nodes: Any) -> str:
    return ",".join(str(n.id) for n in nodes)


def _elr_text(ids: Any) -> str:
    """Kafka 4.x: the ids joined by commas (an empty list prints nothing), N/A when unknown."""
    return "N/A" if ids is None else ",".join(str(int(i)) for i in ids)


def print_description(
    args: argparse.Namespace,
    desc: Any,
    config: dict[str, Any],
    live: set[int] | None,
    out: Any,
    elr: dict[int, tuple[Any, Any]] | None = None,
) -> None:
    """One topic in TopicCommand's format, with the report filters applied."""
    reports = (
        args.under_replicated_partitions
        or args.unavailable_partitions
        or args.under_min_isr_partitions
        or args.at_min_isr_partitions
    )
    overrides = overridden_configs(config)
    partitions = sorted(desc.partitions, key=lambda p: p.id)
    if not reports and (not args.topics_with_overrides or overrides):
        line = f"Topic: {desc.name}"
        topic_id = topic_id_text(getattr(desc, "topic_id", None))
        if topic_id:
            line += f"\tTopicId: {topic_id}"
        replication = len(partitions[0].replicas) if partitions else 0
        line += f"\tPartitionCount: {len(partitions)}\tReplicationFactor: {replication}"
        line += "\tConfigs: " + ",".join(f"{k}={v}" for k, v in overrides)
        print(line, file=out)
    if args.topics_with_overrides:
        return
    min_isr_entry = config.get("min.insync.replicas")
    min_isr = int(min_isr_entry.value) if min_isr_entry is not None and min_isr_entry.value else 1
    for part in partitions:
        isr = len(part.isr)
        if reports:
            show = (
                (args.under_replicated_partitions and len(part.replicas) - isr > 0)
                or (
                    args.unavailable_partitions
                    and (part.leader is None or (live is not None and part.leader.id not in live))
                )
                or (args.under_min_isr_partitions and (part.leader is None or isr < min_isr))
                or (args.at_min_isr_partitions and isr == min_isr)
            )
            if not show:
                continue
        leader = "none" if part.leader is None or part.leader.id < 0 else str(part.leader.id)
        eligible, last_known = (elr or {}).get(part.id, (None, None))
        print(
            f"\tTopic: {desc.name}\tPartition: {part.id}\tLeader: {leader}\tReplicas: {_ids(part.replicas)}"
            f"\tIsr: {_ids(part.isr)}\tElr: {_elr_text(eligible)}\tLastKnownElr: {_elr_text(last_known)}",
            file=out,
        )
