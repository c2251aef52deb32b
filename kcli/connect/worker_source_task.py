"""A source task's thread, as Kafka's ``WorkerSourceTask``: poll, convert, produce, then store offsets.

The runner polls its task for records, converts key and value with the connector's converters and
produces them; every ``offset.flush.interval.ms`` (and when it stops) it waits for all of them to
be acknowledged and only then stores their source offsets. A crash between the two re-sends at most
the records since the last stored offsets: at-least-once, as Kafka's.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kcli.connect import plugins
from kcli.connect.api import (
    SourceTask,
    SourceTaskContext,
)
from kcli.connect.errors import ConnectError
from kcli.connect.worker_task import Converters, TaskRunner, connector_converters, tolerance_error

source_log = logging.getLogger("org.apache.kafka.connect.runtime.WorkerSourceTask")


class SourceTaskRunner(TaskRunner):
    kind = "source"
    task_log = source_log

    def execute(self) -> None:
        from confluent_kafka import Producer

        converters = connector_converters(self.worker.config, self.connector_config)
        task_cls = plugins.connector_class(self.connector_config["connector.class"])().task_class()
        conf = self.worker.config.client_conf("producer")
        conf.setdefault("acks", "all")
        conf.setdefault("linger.ms", 5)
        conf["client.id"] = f"connector-producer-{self.name}"
        self.producer = Producer(conf)
        self.offsets: dict[str, tuple[Any, Any]] = {}
        self.errors: list[str] = []
        task: SourceTask = task_cls()
        task.context = SourceTaskContext(
            lambda partition: self.worker.offsets.get(self.connector, partition), dict(self.task_config)
        )
        self.task = task
        task.start(dict(self.task_config))
        source_log.info("%s Source task finished initialization and start", self.label())
        self.report("PAUSED" if self.paused.is_set() else "RUNNING")
        interval = self.worker.config.offset_flush_interval_ms / 1000
        last_commit = time.monotonic()
        was_paused = self.paused.is_set()
        while not self.stopping.is_set():
            if self.paused.is_set():
                if not was_paused:
                    self.commit_offsets()
                    self.report("PAUSED")
                    was_paused = True
                self.stopping.wait(0.2)
                continue
            if was_paused:
                self.report("RUNNING")
                was_paused = False
            records = task.poll()
            if self.stopping.is_set() and not records:
                break
            for record in records or ():
                self.send(record, converters)
            self.producer.poll(0)
            if self.errors:
                raise ConnectError(f"Unrecoverable exception from producer send callback: {self.errors[0]}")
            if time.monotonic() - last_commit >= interval:
                self.commit_offsets()
                last_commit = time.monotonic()
        self.commit_offsets()

    def send(self, record: Any, converters: Converters) -> None:
        try:
            key = converters.key.from_connect_data(record.topic, record.key_schema, record.key)
            value = converters.value.from_connect_data(record.topic, record.value_schema, record.value)
        except Exception as exc:
            if not converters.tolerate:
                raise tolerance_error(exc) from exc
            if converters.log_errors:
                source_log.error(
                    "%s Error converting a record of topic %s: %s", self.label(), record.topic, exc
                )
            return
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if record.partition is not None:
            kwargs["partition"] = record.partition
        if record.timestamp is not None:
            kwargs["timestamp"] = record.timestamp
        if record.headers:
            kwargs["headers"] = list(record.headers)
        while True:
            try:
                self.producer.produce(record.topic, on_delivery=self._delivered, **kwargs)
                break
            except BufferError:
                self.producer.poll(0.1)
        if record.source_partition is not None or record.source_offset is not None:
            from kcli.connect.json_converter import dumps

            self.offsets[dumps(record.source_partition).decode()] = (
                record.source_partition,
                record.source_offset,
            )

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.errors.append(err.str())

    def commit_offsets(self) -> None:
        """Flush outstanding records; store the offsets only when all were acknowledged."""
        timeout = self.worker.config.int_setting("offset.flush.timeout.ms", 5000) / 1000
        deadline = time.monotonic() + max(timeout, 30.0)
        while self.producer.flush(1.0) != 0:
            if time.monotonic() > deadline:
                source_log.error(
                    "%s Failed to flush, timed out while waiting for producer to flush outstanding messages",
                    self.label(),
                )
                return
        if self.errors:
            raise ConnectError(f"Unrecoverable exception from producer send callback: {self.errors[0]}")
        if not self.offsets:
            return
        pending = list(self.offsets.values())
        self.offsets.clear()
        self.worker.offsets.put(self.connector, pending)
        if self.task is not None:
            self.task.commit()

    def close_clients(self) -> None:
        producer = getattr(self, "producer", None)
        if producer is not None:
            producer.flush(5)
