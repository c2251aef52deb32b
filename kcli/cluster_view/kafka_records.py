"""The Kafka source's records: browsing offset ranges, the live tail, producing one record.

Consumers are assigned partitions directly (they never join a group) and closed after each
read; one producer, made on first use, serves the produce dialog.
"""

from __future__ import annotations

import time
from typing import Any

from kcli.cluster_view.kafka_offsets import KafkaOffsets
from kcli.cluster_view.model import (
    BrowsePlan,
    Message,
    ProduceSpec,
)
from kcli.cluster_view.source import (
    KafkaDataError,
    StartFrom,
    error_text,
)
from kcli.cluster_view.tail import KafkaTail, to_message


class KafkaRecords(KafkaOffsets):
    """Records for the message browser and the produce form."""

    # -- messages ----------------------------------------------------------------------------

    def _start_offsets(
        self,
        topic: str,
        partition: int | None,
        start: StartFrom,
        position: int | None,
        limit: int,
        marks: dict[int, tuple[int, int]],
    ) -> dict[int, tuple[int, int]]:
        """partition -> (first offset to read, offset to stop before) for a browse request."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        if partition is not None:
            if partition not in marks:
                raise KafkaDataError(f"{topic} has no partition {partition}")
            marks = {partition: marks[partition]}
        starts: dict[int, tuple[int, int]] = {}
        if start == "timestamp":
            specs = {TopicPartition(topic, p): OffsetSpec.for_timestamp(int(position or 0)) for p in marks}
            try:
                futures = self.admin.list_offsets(specs, request_timeout=self.timeout_s)
            except Exception as exc:
                raise KafkaDataError(error_text(exc)) from exc
            for tp, fut in futures.items():
                found = self._wait(fut).offset
                low, high = marks[tp.partition]
                first = high if found < 0 else max(low, found)
                starts[tp.partition] = (first, min(high, first + limit))
            return starts
        for p, (low, high) in marks.items():
            if start == "beginning":
                first = low
            elif start == "end":
                first = max(low, high - limit)
            else:
                first = min(max(low, int(position or 0)), high)
            starts[p] = (first, min(high, first + limit))
        return starts

    def plan_browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> BrowsePlan:
        """The offsets a browse from ``start`` reads in each partition, and the watermarks."""
        marks = self.watermarks(topic)
        ranges = self._start_offsets(topic, partition, start, position, limit, marks)
        return BrowsePlan(ranges, marks)

    def browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> list[Message]:
        """Up to ``limit`` records from the chosen position, oldest first (``end``: the newest)."""
        plan = self.plan_browse(topic, partition, start, position, limit)
        return self.read_ranges(topic, plan.ranges, limit, newest=start == "end")

    def read_ranges(
        self, topic: str, ranges: dict[int, tuple[int, int]], limit: int, newest: bool = False
    ) -> list[Message]:
        """Records of ``ranges`` (partition -> [first, stop)), at most ``limit``, oldest first.

        Several partitions are merged by timestamp; ``newest`` keeps the last ``limit`` of them
        (a page before the current one), else the first.
        """
        from confluent_kafka import TopicPartition

        todo = {p: stop for p, (first, stop) in ranges.items() if first < stop}
        if not todo:
            return []
        consumer = self._consumer()
        out: list[Message] = []
        try:
            consumer.assign([TopicPartition(topic, p, ranges[p][0]) for p in todo])
            deadline = time.monotonic() + self.timeout_s
            while todo and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.2):
                    if msg.error() is not None:
                        continue
                    p = msg.partition()
                    if p not in todo or msg.offset() >= todo[p]:
                        continue
                    out.append(to_message(msg))
                    if msg.offset() >= todo[p] - 1:
                        del todo[p]
                        consumer.incremental_unassign([TopicPartition(topic, p)])
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        finally:
            consumer.close()
        out.sort(key=lambda m: (m.timestamp_ms or 0, m.partition, m.offset))
        return out[-limit:] if newest else out[:limit]

    def open_tail(self, topic: str, partition: int | None = None) -> KafkaTail:
        marks = self.watermarks(topic)
        if partition is not None:
            marks = {partition: marks[partition]}
        return KafkaTail(self._consumer(), topic, {p: hi for p, (_, hi) in marks.items()})

    def produce(self, spec: ProduceSpec) -> tuple[int, int]:
        """Send one record and wait for its acknowledgement; returns (partition, offset)."""
        from confluent_kafka import Producer

        if self._producer is None:
            conf = self._base_conf()
            conf.setdefault("linger.ms", 0)
            conf.setdefault("partitioner", "murmur2_random")  # keys where Java's producer puts them
            self._producer = Producer(conf)
        result: dict[str, Any] = {}

        def on_delivery(err: Any, msg: Any) -> None:
            result["err"], result["msg"] = err, msg

        kwargs: dict[str, Any] = {
            "key": spec.key.encode() if spec.key is not None else None,
            "value": spec.value.encode() if spec.value is not None else None,
            "headers": [(k, v.encode()) for k, v in spec.headers] or None,
            "on_delivery": on_delivery,
        }
        if spec.partition is not None:
            kwargs["partition"] = spec.partition
        try:
            self._producer.produce(spec.topic, **kwargs)
            self._producer.flush(self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        if "msg" not in result:
            raise KafkaDataError("timed out waiting for the acknowledgement")
        if result["err"] is not None:
            raise KafkaDataError(error_text(Exception(result["err"])))
        msg = result["msg"]
        return msg.partition(), msg.offset()
