"""The log's offsets through the TUI's Kafka source, as the offset-reset planner asks for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from kcli.cluster_view.source import TP, KafkaDataError, error_text


class OffsetsSource(Protocol):
    """What the planner's view needs of :class:`kcli.cluster_view.kafka.KafkaSource`."""

    timeout_s: float

    @property
    def admin(self) -> Any: ...
    def _offsets(self, partitions: Iterable[TP]) -> dict[TP, tuple[int, int]]: ...
    def _wait(self, future: Any) -> Any: ...


class SourceLogOffsets:
    """The log's offsets for :func:`kcli.offset_reset.plan`, through a :class:`kcli.cluster_view.kafka.KafkaSource`.

    The watermarks of all the partitions are asked once (two ListOffsets calls); a partition
    without an answer counts as offset 0, so the preview still shows a row for it.
    """

    def __init__(self, source: OffsetsSource, partitions: list[TP]) -> None:
        self.source = source
        self.partitions = partitions
        self._marks: dict[TP, tuple[int, int]] | None = None

    def _all(self) -> dict[TP, tuple[int, int]]:
        if self._marks is None:
            self._marks = self.source._offsets(self.partitions)
        return self._marks

    def earliest(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        return {tp: self._all().get(tp, (0, 0))[0] for tp in partitions}

    def latest(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        return {tp: self._all().get(tp, (0, 0))[1] for tp in partitions}

    def for_timestamp(self, partitions: Iterable[TP], timestamp: int) -> dict[TP, int | None]:
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        specs = {TopicPartition(t, p): OffsetSpec.for_timestamp(timestamp) for t, p in partitions}
        try:
            futures = self.source.admin.list_offsets(specs, request_timeout=self.source.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        return {(tp.topic, tp.partition): self.source._wait(fut).offset for tp, fut in futures.items()}
