"""Live tail: a consumer assigned at the current end of a topic, and records as the TUI's messages."""

from __future__ import annotations

import contextlib
from typing import Any

from kcli.cluster_view.model import Message
from kcli.cluster_view.source import KafkaDataError, error_text


class KafkaTail:
    """A consumer assigned at the current end of a topic, for live tail mode."""

    def __init__(self, consumer: Any, topic: str, starts: dict[int, int]) -> None:
        from confluent_kafka import TopicPartition

        self.consumer = consumer
        self.topic = topic
        consumer.assign([TopicPartition(topic, p, off) for p, off in starts.items()])

    def poll(self, max_wait_s: float = 0.5) -> list[Message]:
        try:
            batch = self.consumer.consume(num_messages=500, timeout=max_wait_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        return [to_message(m) for m in batch if m.error() is None]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()


def to_message(msg: Any) -> Message:
    ts_type, ts = msg.timestamp()
    headers = tuple((k, v) for k, v in (msg.headers() or []))
    return Message(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_ms=ts if ts_type != 0 and ts >= 0 else None,
        key=msg.key(),
        value=msg.value(),
        headers=headers,
    )
