"""A sink task's thread, as Kafka's ``WorkerSinkTask``: consume, convert, ``put``, then flush and commit.

The runner consumes its topics in the consumer group ``connect-<connector>`` (so the tasks of a
connector share the partitions, and a restarted one resumes at the committed offsets), converts,
calls ``put``, and every ``offset.flush.interval.ms`` calls ``flush`` and then commits.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kcli.connect import plugins
from kcli.connect.api import (
    SinkRecord,
    SinkTask,
    SinkTaskContext,
)
from kcli.connect.connector_config import sink_topics
from kcli.connect.worker_task import TaskRunner, connector_converters, tolerance_error

sink_log = logging.getLogger("org.apache.kafka.connect.runtime.WorkerSinkTask")


class SinkTaskRunner(TaskRunner):
    kind = "sink"
    task_log = sink_log

    def execute(self) -> None:
        from confluent_kafka import Consumer

        converters = connector_converters(self.worker.config, self.connector_config)
        connector_cls = plugins.connector_class(self.connector_config["connector.class"])
        task_cls = connector_cls().task_class()
        conf = self.worker.config.client_conf("consumer")
        conf.update(
            {
                "group.id": f"connect-{self.connector}",
                "client.id": f"connector-consumer-{self.name}",
                "enable.auto.commit": False,
                "auto.offset.reset": conf.get("auto.offset.reset", "earliest"),
                "enable.partition.eof": False,
            }
        )
        self.consumer = Consumer(conf)
        self.positions: dict[tuple[str, int], int] = {}
        task: SinkTask = task_cls()
        task.context = SinkTaskContext(dict(self.task_config))
        self.task = task
        task.start(dict(self.task_config))
        sink_log.info("%s Sink task finished initialization and start", self.label())
        topics, regex = sink_topics(self.connector_config)
        subscription = topics if topics else ["^" + regex.lstrip("^")]
        self.consumer.subscribe(subscription, on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.report("PAUSED" if self.paused.is_set() else "RUNNING")
        interval = self.worker.config.offset_flush_interval_ms / 1000
        last_commit = time.monotonic()
        was_paused = False
        while not self.stopping.is_set():
            if self.paused.is_set() != was_paused:
                was_paused = self.paused.is_set()
                assignment = self.consumer.assignment()
                if was_paused:
                    self.consumer.pause(assignment)
                    self.report("PAUSED")
                else:
                    self.consumer.resume(assignment)
                    self.report("RUNNING")
            messages = self.consumer.consume(500, 0.5)
            batch: list[SinkRecord] = []
            for message in messages:
                if message.error():
                    continue
                topic, partition, offset = message.topic(), message.partition(), message.offset()
                try:
                    key_schema, key = converters.key.to_connect_data(topic, message.key())
                    value_schema, value = converters.value.to_connect_data(topic, message.value())
                except Exception as exc:
                    if not converters.tolerate:
                        raise tolerance_error(exc) from exc
                    if converters.log_errors:
                        sink_log.error(
                            "%s Error converting message in topic '%s' partition %d at offset %d: %s",
                            self.label(),
                            topic,
                            partition,
                            offset,
                            exc,
                        )
                    self.positions[(topic, partition)] = offset + 1
                    continue
                timestamp_type, timestamp = message.timestamp()
                batch.append(
                    SinkRecord(
                        topic,
                        partition,
                        key_schema,
                        key,
                        value_schema,
                        value,
                        offset,
                        timestamp if timestamp_type else None,
                        list(message.headers() or []),
                    )
                )
                self.positions[(topic, partition)] = offset + 1
            if batch:
                task.put(batch)
            if task.context.commit_requested or time.monotonic() - last_commit >= interval:
                task.context.commit_requested = False
                self.commit()
                last_commit = time.monotonic()
        self.commit()

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        if self.task is not None:
            self.task.context.assignment |= set(tps)
            self.task.open(tps)
        if self.paused.is_set():
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        if self.task is not None and not self.failed and not self.stop_called:
            try:
                self.commit()
            except Exception:
                sink_log.exception("%s Offset commit failed during rebalance", self.label())
            self.task.close(tps)
            self.task.context.assignment -= set(tps)
        for tp in tps:
            self.positions.pop(tp, None)

    def commit(self) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        if not self.positions or self.task is None:
            return
        offsets = dict(self.positions)
        self.task.flush(offsets)
        try:
            self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False
            )
        except KafkaException as exc:
            sink_log.warning("%s Commit of offsets failed: %s", self.label(), exc.args[0].str())

    def close_clients(self) -> None:
        consumer = getattr(self, "consumer", None)
        if consumer is not None:
            try:
                consumer.close()
            except Exception:
                pass
