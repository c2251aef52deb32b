"""kafka-consumer-groups' AdminClient calls (confluent-kafka), each bounded by ``--timeout``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kcli.tools.cli import ToolError

STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}


class GroupService:
    """The AdminClient calls of the tool; every call is bounded by ``--timeout``."""

    def __init__(self, admin: Any, timeout_ms: int, wire: tuple[str, dict[str, Any]] | None = None):
        self.admin = admin
        self.timeout_s = max(timeout_ms, 1) / 1000
        self.wire = wire  # (bootstrap, config) for the requests the admin client lacks (group_wire)
        # (group, topic, partition) -> leader epoch of the committed offset (for --verbose)
        self.leader_epochs: dict[tuple[str, str, int], int | None] = {}

    def result(self, future: Any) -> Any:
        import concurrent.futures

        try:
            return future.result(timeout=self.timeout_s + 5)
        except concurrent.futures.TimeoutError:
            raise ToolError(f"Timed out after {self.timeout_s:g} s waiting for the broker") from None

    def list_groups(self, states: Iterable[str] = ()) -> list[Any]:
        from confluent_kafka import ConsumerGroupState

        wanted = {s.lower() for s in states}
        by_name = {v.lower(): ConsumerGroupState[k] for k, v in STATE_NAMES.items() if k != "UNKNOWN"}
        kwargs: dict[str, Any] = {"request_timeout": self.timeout_s}
        if wanted:
            kwargs["states"] = {by_name[s] for s in wanted}
        result = self.result(self.admin.list_consumer_groups(**kwargs))
        return sorted(result.valid, key=lambda g: g.group_id)

    def describe(self, groups: list[str]) -> dict[str, Any]:
        """group -> ConsumerGroupDescription, or None for a group the broker does not know."""
        from confluent_kafka import KafkaException

        if not groups:  # --all-groups on a cluster without groups
            return {}
        futures = self.admin.describe_consumer_groups(groups, request_timeout=self.timeout_s)
        described: dict[str, Any] = {}
        for group, future in futures.items():
            try:
                described[group] = self.result(future)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if getattr(err, "code", lambda: None)() == 69:  # GROUP_ID_NOT_FOUND (DescribeGroups v6)
                    described[group] = None
                else:
                    raise
        return described

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        from confluent_kafka import ConsumerGroupTopicPartitions

        futures = self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout_s
        )
        result = self.result(futures[group])
        found = [tp for tp in result.topic_partitions or [] if tp.offset >= 0 and tp.error is None]
        for tp in found:
            epoch = getattr(tp, "leader_epoch", None)
            self.leader_epochs[(group, tp.topic, tp.partition)] = (
                epoch if epoch is not None and epoch >= 0 else None
            )
        return {(tp.topic, tp.partition): tp.offset for tp in found}

    def log_offsets(
        self, partitions: Iterable[tuple[str, int]], spec: Any
    ) -> dict[tuple[str, int], int | None]:
        """ListOffsets for each partition with ``spec``; None where the broker did not answer."""
        from confluent_kafka import KafkaException, TopicPartition

        wanted = {TopicPartition(t, p): spec for t, p in partitions}
        if not wanted:
            return {}
        futures = self.admin.list_offsets(wanted, request_timeout=self.timeout_s)
        out: dict[tuple[str, int], int | None] = {}
        for tp, future in futures.items():
            try:
                out[(tp.topic, tp.partition)] = self.result(future).offset
            except KafkaException:
                out[(tp.topic, tp.partition)] = None
        return out

    # the log's offsets, as kcli.offset_reset.LogOffsets asks for them

    def earliest(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
        from confluent_kafka.admin import OffsetSpec

        return self.log_offsets(partitions, OffsetSpec.earliest())

    def latest(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
        from confluent_kafka.admin import OffsetSpec

        return self.log_offsets(partitions, OffsetSpec.latest())

    def for_timestamp(
        self, partitions: Iterable[tuple[str, int]], timestamp: int
    ) -> dict[tuple[str, int], int | None]:
        from confluent_kafka.admin import OffsetSpec

        return self.log_offsets(partitions, OffsetSpec.for_timestamp(timestamp))

    def topic_partitions(self, topics: Iterable[str]) -> dict[str, list[int]]:
        """Partitions of each existing topic (missing topics are left out)."""
        found: dict[str, list[int]] = {}
        for topic in sorted(set(topics)):
            # One topic per request: a named-topic Metadata request never auto-creates here
            # (allow.auto.create.topics is off for the admin client) and stays small.
            metadata = self.admin.list_topics(topic=topic, timeout=self.timeout_s + 5)
            info = metadata.topics.get(topic)
            if info is not None and info.error is None and info.partitions:
                found[topic] = sorted(info.partitions)
        return found

    def alter(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        )
        futures = self.admin.alter_consumer_group_offsets([request], request_timeout=self.timeout_s)
        result = self.result(futures[group])
        failed = [tp for tp in result.topic_partitions or [] if tp.error is not None]
        if failed:
            raise ToolError(
                f"Failed to reset offsets of {failed[0].topic}-{failed[0].partition}: {failed[0].error}"
            )

    def delete(self, groups: list[str]) -> dict[str, Any]:
        """group -> None on success, else the error."""
        from confluent_kafka import KafkaException

        if not groups:
            return {}
        futures = self.admin.delete_consumer_groups(groups, request_timeout=self.timeout_s)
        out: dict[str, Any] = {}
        for group, future in futures.items():
            try:
                self.result(future)
                out[group] = None
            except KafkaException as exc:
                out[group] = exc.args[0] if exc.args else exc
        return out


def state_name(description: Any | None, facts: Any | None = None) -> str:
    if facts is not None:
        return facts.state  # Assigning and Reconciling, which librdkafka reports as Unknown
    if description is None:
        return "Dead"
    state = description.state
    return STATE_NAMES.get(getattr(state, "name", str(state)), str(state))
