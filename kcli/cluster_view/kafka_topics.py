"""The Kafka source's cluster and topics: the cluster summary, the topic table, a topic's detail, topic admin.

Creating, deleting and reconfiguring topics go through the AdminClient; the broker validates and
its refusal is raised as it words it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kcli.cluster_view.kafka_groups import KafkaGroups
from kcli.cluster_view.logdirs import plaintext, topic_sizes
from kcli.cluster_view.model import (
    BrokerInfo,
    ClusterInfo,
    ConfigValue,
    NewTopicSpec,
    PartitionInfo,
    TopicDefaults,
    TopicDetail,
    TopicGroupLag,
    TopicSummary,
)
from kcli.cluster_view.source import (
    KafkaDataError,
    error_text,
    is_internal,
)


class KafkaTopics(KafkaGroups):
    """The cluster view, the topic table and the topic screen; a topic's detail lists its groups."""

    def cluster(self) -> ClusterInfo:
        md = self._metadata()
        brokers: list[BrokerInfo]
        cluster_id, controller_id = md.cluster_id, md.controller_id
        racks: dict[int, str | None] = {}
        try:
            desc = self._wait(self.admin.describe_cluster(request_timeout=self.timeout_s))
            cluster_id = desc.cluster_id or cluster_id
            if desc.controller is not None:
                controller_id = desc.controller.id
            racks = {n.id: n.rack for n in desc.nodes}
        except KafkaDataError:
            pass  # DescribeCluster is newer than Metadata; the metadata answer is enough
        brokers = [
            BrokerInfo(b.id, b.host, b.port, racks.get(b.id), b.id == controller_id)
            for b in sorted(md.brokers.values(), key=lambda b: b.id)
        ]
        internal = sum(1 for name in md.topics if is_internal(name))
        partitions = sum(len(t.partitions) for t in md.topics.values())
        every = [p for t in md.topics.values() for p in t.partitions.values()]
        return ClusterInfo(
            cluster_id,
            controller_id,
            tuple(brokers),
            len(md.topics),
            partitions,
            internal,
            under_replicated_count=sum(len(p.isrs) < len(p.replicas) for p in every),
            offline_count=sum(p.leader < 0 for p in every),
            down_broker_ids=self._connection.down,
        )

    def topics(self) -> list[TopicSummary]:
        md = self._metadata()
        offsets = self._table_offsets(md)
        sizes = self._log_dir_sizes(md)
        rows: list[TopicSummary] = []
        for name, t in md.topics.items():
            parts = t.partitions
            rf = max((len(p.replicas) for p in parts.values()), default=0)
            records = 0
            known = True
            for pid in parts:
                wm = offsets.get((name, pid))
                if wm is None:
                    known = False
                    continue
                records += max(0, wm[1] - wm[0])
            rows.append(
                TopicSummary(
                    name=name,
                    partitions=len(parts),
                    replication_factor=rf,
                    records=records if known or records else None,
                    size_bytes=sizes.get(name),
                    internal=is_internal(name),
                    under_replicated=sum(len(p.isrs) < len(p.replicas) for p in parts.values()),
                    offline=sum(p.leader < 0 for p in parts.values()),
                )
            )
        rows.sort(key=lambda r: r.name)
        return rows

    def _log_dir_sizes(self, md: Any) -> dict[str, int]:
        """Bytes on disk per topic, or {} when the cluster cannot tell us (the table shows ``-``).

        Uses the client library's DescribeLogDirs when it has one, else kio-encoded requests on
        PLAINTEXT listeners (:mod:`kcli.cluster_view.logdirs`). A failure is not an error for the table:
        sizes are skipped for a minute, then tried again.
        """
        if time.monotonic() < self._sizes_retry_at:
            return {}
        sizes: dict[str, int] = {}
        try:
            describe = getattr(self.admin, "describe_log_dirs", None)
            if describe is not None:
                result = describe(request_timeout=self.timeout_s)
                futures = result.values() if isinstance(result, dict) else [result]
                for fut in futures:
                    for log_dir in _iter_maybe(self._wait(fut)):
                        for topic in getattr(log_dir, "topics", []) or []:
                            name = getattr(topic, "name", None) or getattr(topic, "topic", None)
                            for part in getattr(topic, "partitions", []) or []:
                                if name:
                                    sizes[name] = sizes.get(name, 0) + int(getattr(part, "size", 0) or 0)
            elif plaintext(self.conf):
                for broker in md.brokers.values():
                    for name, size in topic_sizes(broker.host, broker.port, self.timeout_s).items():
                        sizes[name] = sizes.get(name, 0) + size
        except Exception:
            self._sizes_retry_at = time.monotonic() + 60.0
            return {}
        return sizes

    def topic_detail(self, name: str, with_groups: bool = False) -> TopicDetail:
        from confluent_kafka.admin import ConfigResource, ResourceType

        md, t = self._topic_metadata(name)
        offsets = self._watermarks(md, ((name, p) for p in t.partitions))
        stable = self._stable_offsets([(name, p) for p in t.partitions])
        parts = tuple(
            PartitionInfo(
                partition=pid,
                leader=p.leader,
                replicas=tuple(p.replicas),
                isr=tuple(p.isrs),
                low=offsets.get((name, pid), (None, None))[0],
                high=offsets.get((name, pid), (None, None))[1],
                offline=tuple(r for r in p.replicas if r not in md.brokers),
                stable=stable.get((name, pid)),
            )
            for pid, p in sorted(t.partitions.items())
        )
        configs: list[ConfigValue] = []
        try:
            futures = self.admin.describe_configs(
                [ConfigResource(ResourceType.TOPIC, name)], request_timeout=self.timeout_s
            )
            for fut in futures.values():
                for entry in sorted(self._wait(fut).values(), key=lambda e: e.name):
                    configs.append(
                        ConfigValue(
                            entry.name,
                            entry.value,
                            default=bool(entry.is_default),
                            sensitive=bool(entry.is_sensitive),
                            read_only=bool(entry.is_read_only),
                        )
                    )
        except KafkaDataError:
            pass  # configs are a nice-to-have (authorization may forbid them); partitions still show
        groups: tuple[TopicGroupLag, ...] | None = None
        groups_error = None
        if with_groups:
            try:
                groups = self._topic_groups(md, name, offsets)
            except KafkaDataError as exc:
                groups_error = str(exc)
        return TopicDetail(name, is_internal(name), parts, tuple(configs), groups, groups_error)

    def topic_defaults(self) -> TopicDefaults:
        """``num.partitions`` and ``default.replication.factor`` of a live broker (the controller's
        when it is known): what the broker itself would use for a topic created without them."""
        from confluent_kafka.admin import ConfigResource, ResourceType

        md = self._metadata()
        live = sorted(md.brokers)
        if not live:
            return TopicDefaults(None, None, 0)
        broker = md.controller_id if md.controller_id in md.brokers else live[0]
        futures = self.admin.describe_configs(
            [ConfigResource(ResourceType.BROKER, str(broker))], request_timeout=self.timeout_s
        )
        entries: dict[str, Any] = {}
        for fut in futures.values():
            entries.update(self._wait(fut))

        def number(key: str) -> int | None:
            entry = entries.get(key)
            try:
                return int(entry.value) if entry is not None and entry.value is not None else None
            except ValueError:
                return None

        return TopicDefaults(number("num.partitions"), number("default.replication.factor"), len(live))

    def alter_topic_config(self, topic: str, name: str, value: str | None) -> None:
        """Set one topic config (IncrementalAlterConfigs SET), or remove the override (DELETE) when
        ``value`` is None; the broker validates, and its refusal is raised as it says it."""
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

        op = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
        resource = ConfigResource(
            ResourceType.TOPIC,
            topic,
            incremental_configs=[ConfigEntry(name, value, incremental_operation=op)],
        )
        try:
            futures = self.admin.incremental_alter_configs([resource], request_timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)

    def create_topic(self, spec: NewTopicSpec) -> None:
        from confluent_kafka.admin import NewTopic

        topic = NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=spec.replication_factor,
            config=dict(spec.configs),
        )
        try:
            futures = self.admin.create_topics(
                [topic], request_timeout=self.timeout_s, operation_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)

    def delete_topic(self, name: str) -> None:
        try:
            futures = self.admin.delete_topics(
                [name], request_timeout=self.timeout_s, operation_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)


def _iter_maybe(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    if isinstance(value, list | tuple):
        return value
    return [value]
