"""The Kafka source's offsets: watermarks and last stable offsets of many partitions at once.

Pipelined kio ListOffsets per leader on PLAINTEXT listeners (:mod:`kcli.cluster_view.watermarks`), the
AdminClient elsewhere and for whatever the fast path could not answer.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from typing import Any

from kcli.cluster_view.kafka_clients import KafkaClients
from kcli.cluster_view.logdirs import plaintext
from kcli.cluster_view.source import (
    TP,
    KafkaDataError,
    error_text,
)
from kcli.cluster_view.watermarks import leader_watermarks
from kcli.protocol.connection import WireError


class KafkaOffsets(KafkaClients):
    """Watermarks for the topic table, a topic's partitions, group lag and browsing."""

    def _offsets(self, partitions: Iterable[TP]) -> dict[TP, tuple[int, int]]:
        """Low and high watermarks of many partitions: two ListOffsets calls in all, not one per partition.

        librdkafka answers -1001 (its "invalid offset") without an error for the partitions of a
        leader it could not ask (seen after ``kill -9`` of a leader): those are left out, as
        unknown, like the partitions answered with an error.
        """
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        tps = [TopicPartition(t, p) for t, p in partitions]
        if not tps:
            return {}
        admin = self.admin
        try:
            low_f = admin.list_offsets(
                {tp: OffsetSpec.earliest() for tp in tps}, request_timeout=self.timeout_s
            )
            high_f = admin.list_offsets(
                {tp: OffsetSpec.latest() for tp in tps}, request_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        out: dict[TP, tuple[int, int]] = {}
        deadline = time.monotonic() + self.timeout_s + 1.0
        for tp, lf in low_f.items():
            hf = high_f.get(tp)
            try:
                low = lf.result(timeout=max(0.01, deadline - time.monotonic())).offset
                high = hf.result(timeout=max(0.01, deadline - time.monotonic())).offset if hf else low
            except Exception:
                # No answer in time (its leader just died) or an error: this partition stays
                # unknown ("-"), and must not hide all the others.
                continue
            if low >= 0 and high >= 0:
                out[(tp.topic, tp.partition)] = (low, high)
        return out

    def _stable_offsets(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Last stable offsets: the latest offset as read_committed sees it (ListOffsets with
        isolation level 1). Best effort: a partition without an answer is simply left out."""
        from confluent_kafka import IsolationLevel, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        if not partitions:
            return {}
        try:
            futures = self.admin.list_offsets(
                {TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions},
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=self.timeout_s,
            )
        except Exception:
            return {}
        out: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + self.timeout_s + 1.0
        for tp, fut in futures.items():
            try:
                out[(tp.topic, tp.partition)] = fut.result(
                    timeout=max(0.01, deadline - time.monotonic())
                ).offset
            except Exception:
                continue
        return out

    def _watermarks(self, md: Any, wanted: Iterable[TP]) -> dict[TP, tuple[int, int]]:
        """Watermarks of ``wanted`` partitions of ``md``, as fast as the listeners allow.

        On PLAINTEXT listeners: one pipelined pair of ListOffsets requests per leader, encoded with
        kio (:func:`kcli.cluster_view.watermarks.leader_watermarks`). With 10,000 partitions that is far less than the
        AdminClient takes about 2 s (it builds 20,000 Python futures, and librdkafka's own
        bookkeeping grows faster than linearly). Partitions the fast path could not answer (no
        leader, an error code, a secured or unreachable listener) go through the AdminClient.
        """
        wanted = list(dict.fromkeys(wanted))
        out: dict[TP, tuple[int, int]] = {}
        if plaintext(self.conf):
            by_leader: dict[int, dict[str, list[int]]] = {}
            for name, p in wanted:
                t = md.topics.get(name)
                pm = t.partitions.get(p) if t is not None else None
                if pm is not None and pm.leader in md.brokers:
                    by_leader.setdefault(pm.leader, {}).setdefault(name, []).append(p)
            for leader, topics in by_leader.items():
                b = md.brokers[leader]
                try:
                    out.update(leader_watermarks(b.host, b.port, topics, self.timeout_s))
                except (WireError, OSError, ValueError, struct.error, EOFError):
                    continue  # this leader's partitions fall back to the AdminClient below
        missing = [tp for tp in wanted if tp not in out]
        if missing:
            out.update(self._offsets(missing))
        return out

    def _table_offsets(self, md: Any) -> dict[TP, tuple[int, int]]:
        return self._watermarks(md, ((name, p) for name, t in md.topics.items() for p in t.partitions))

    def _topic_metadata(self, name: str) -> tuple[Any, Any]:
        md = self._metadata(name)
        t = md.topics.get(name)
        if t is None or (t.error is not None and not t.partitions):
            raise KafkaDataError(f"topic {name} does not exist")
        return md, t

    def watermarks(self, name: str) -> dict[int, tuple[int, int]]:
        md, t = self._topic_metadata(name)
        return {p: v for (_, p), v in self._watermarks(md, ((name, p) for p in t.partitions)).items()}
