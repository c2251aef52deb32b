"""Kafka's ``KafkaBasedLog``: a compacted topic read from the beginning into memory, and written to.

Distributed workers keep connector configs, source offsets and statuses in three topics
(``connect-configs``, ``connect-offsets``, ``connect-status``). Each worker reads all of each topic
(no consumer group: every worker needs every record) in a background thread that hands each
record to a callback, and ``read_to_end`` waits until everything written before the call was
seen, so a worker acts on the latest state. Topics are created when missing with the configured
partitions and replication factor and ``cleanup.policy=compact``, as Kafka's ``TopicAdmin`` does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kcli.connect.errors import ConfigError, ConnectError

log = logging.getLogger("org.apache.kafka.connect.util.KafkaBasedLog")

Callback = Callable[[bytes | None, bytes | None, int], None]


def ensure_topic(
    admin_conf: dict[str, Any], topic: str, partitions: int, replication: int, purpose: str
) -> int:
    """Create ``topic`` (compacted) unless it exists; returns its partition count."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(admin_conf)
    metadata = admin.list_topics(timeout=30)
    existing = metadata.topics.get(topic)
    if existing is not None and existing.error is None:
        return len(existing.partitions)
    futures = admin.create_topics(
        [NewTopic(topic, partitions, replication, config={"cleanup.policy": "compact"})], request_timeout=30
    )
    try:
        futures[topic].result(30)
        log.info(
            "Created topic (name=%s, numPartitions=%d, replicationFactor=%d) for %s",
            topic,
            partitions,
            replication,
            purpose,
        )
    except KafkaException as exc:
        err = exc.args[0]
        if err.code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise ConfigError(f"Unable to create topic '{topic}' for {purpose}: {err.str()}") from None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = admin.list_topics(topic, timeout=10).topics.get(topic)
        if found is not None and found.error is None and found.partitions:
            return len(found.partitions)
        time.sleep(0.1)
    raise ConnectError(f"Topic {topic} was created but its metadata did not appear within 30 s")


class KafkaBasedLog:
    """One internal topic: ``start`` creates it if needed and reads it to the end."""

    def __init__(
        self,
        topic: str,
        consumer_conf: dict[str, Any],
        producer_conf: dict[str, Any],
        on_record: Callback,
        name: str,
    ):
        self.topic = topic
        self.consumer_conf = dict(consumer_conf)
        self.producer_conf = dict(producer_conf)
        self.on_record = on_record
        self.name = name
        self.positions: dict[int, int] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

        conf = {
            **self.consumer_conf,
            "group.id": f"kcli-connect-log-{self.topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "auto.offset.reset": "earliest",
        }
        self.consumer = Consumer(conf)
        self.watermarks = Consumer(conf)
        meta = self.consumer.list_topics(self.topic, timeout=30).topics[self.topic]
        self.partitions = sorted(meta.partitions)
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in self.partitions])
        self.producer = Producer({**self.producer_conf, "acks": "all", "enable.idempotence": True})
        self._thread = threading.Thread(
            target=self._run, name=f"KafkaBasedLog Work Thread - {self.topic}", daemon=True
        )
        self._thread.start()
        self.read_to_end()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.consumer.consume(500, 0.2)
            except Exception as exc:  # the client is closed under us at shutdown
                if not self._stop.is_set():
                    self._error = exc
                return
            for message in messages:
                if message.error():
                    continue
                try:
                    self.on_record(message.key(), message.value(), message.partition())
                except Exception:
                    log.exception("Unexpected exception in %s's callback for topic %s", self.name, self.topic)
                with self._cond:
                    self.positions[message.partition()] = message.offset() + 1
                    self._cond.notify_all()

    def end_offsets(self) -> dict[int, int]:
        from confluent_kafka import TopicPartition

        ends: dict[int, int] = {}
        for p in self.partitions:
            _low, high = self.watermarks.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=10, cached=False
            )
            ends[p] = high
        return ends

    def read_to_end(self, timeout_s: float = 30.0) -> None:
        """Return once every record written before this call was handed to the callback."""
        ends = self.end_offsets()
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while any(self.positions.get(p, 0) < end for p, end in ends.items()):
                if self._error is not None:
                    raise ConnectError(f"Failed to read {self.topic}: {self._error}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConnectError(f"Timed out reading to the end of topic {self.topic}")
                self._cond.wait(min(remaining, 0.5))

    def send(
        self, key: bytes | None, value: bytes | None, partition: int | None = None, timeout_s: float = 30.0
    ) -> None:
        """Write one record and wait for its acknowledgement."""
        errors: list[str] = []
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if partition is not None:
            kwargs["partition"] = partition
        self.producer.produce(
            self.topic, on_delivery=lambda err, _m: errors.append(err.str()) if err else None, **kwargs
        )
        if self.producer.flush(timeout_s) != 0:
            raise ConnectError(
                f"Failed to write to topic {self.topic}: not acknowledged within {timeout_s:g} s"
            )
        if errors:
            raise ConnectError(f"Failed to write to topic {self.topic}: {errors[0]}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for client in ("consumer", "watermarks"):
            c = getattr(self, client, None)
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass
        if getattr(self, "producer", None) is not None:
            self.producer.flush(5)
