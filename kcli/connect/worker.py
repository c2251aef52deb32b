"""Running connectors and tasks: Kafka's ``Worker``, ``WorkerSourceTask`` and ``WorkerSinkTask``.

Each task runs in its own thread with its own Kafka client, as on a JVM worker:

* a **source task** polls its task for records, converts key and value with the connector's
  converters and produces them; every ``offset.flush.interval.ms`` (and when it stops) it waits for
  all of them to be acknowledged and only then stores their source offsets. A crash between the
  two re-sends at most the records since the last stored offsets: at-least-once, as Kafka's.
* a **sink task** consumes its topics in the consumer group ``connect-<connector>`` (so the tasks of
  a connector share the partitions, and a restarted one resumes at the committed offsets),
  converts, calls ``put``, and every ``offset.flush.interval.ms`` calls ``flush`` and then commits.

A task that raises is FAILED with the error and its trace in ``/status``; other tasks keep running.
With ``errors.tolerance=all`` a record that fails conversion is skipped (and logged when
``errors.log.enable=true``), as Kafka's error handler does; otherwise it fails the task.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcli.connect import plugins
from kcli.connect.api import (
    Connector,
    ConnectorContext,
    SinkConnector,
    SinkRecord,
    SinkTask,
    SinkTaskContext,
    SourceTask,
    SourceTaskContext,
)
from kcli.connect.connector_config import sink_topics, tasks_max
from kcli.connect.converters import make_converter, sub_configs
from kcli.connect.errors import ConnectError
from kcli.connect.offsets import OffsetStore
from kcli.connect.worker_config import WorkerConfig

log = logging.getLogger("org.apache.kafka.connect.runtime.Worker")
source_log = logging.getLogger("org.apache.kafka.connect.runtime.WorkerSourceTask")
sink_log = logging.getLogger("org.apache.kafka.connect.runtime.WorkerSinkTask")

#: (connector, task id or None, state, trace)
StatusCallback = Callable[[str, int | None, str, str | None], None]


def java_trace(exc: BaseException) -> str:
    """A status ``trace``: the Java exception class and message first, as Kafka shows it, then where."""
    java_class = getattr(exc, "java_class", None) or "org.apache.kafka.connect.errors.ConnectException"
    message = exc.message if isinstance(exc, ConnectError) else f"{type(exc).__name__}: {exc}"
    lines = [f"{java_class}: {message}"]
    for frame in traceback.extract_tb(exc.__traceback__):
        lines.append(f"\tat {frame.name}({frame.filename}:{frame.lineno})")
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        lines.append(f"Caused by: {type(cause).__name__}: {cause}")
    return "\n".join(lines)


def tolerance_error(exc: BaseException) -> ConnectError:
    error = ConnectError("Tolerance exceeded in error handler")
    error.__cause__ = exc
    return error


@dataclass
class Converters:
    key: Any
    value: Any
    tolerate: bool = False
    log_errors: bool = False


def connector_converters(worker: WorkerConfig, config: dict[str, str]) -> Converters:
    """The connector's own converters when it names them, else the worker's (with their settings)."""

    def one(which: str) -> Any:
        prefix = f"{which}.converter"
        if config.get(prefix):
            return make_converter(config[prefix], sub_configs(config, prefix + "."), which == "key")
        name = worker.props[prefix]
        return make_converter(name, worker.converter_configs(prefix + "."), which == "key")

    return Converters(
        one("key"),
        one("value"),
        config.get("errors.tolerance", "none").strip().lower() == "all",
        config.get("errors.log.enable", "false").strip().lower() == "true",
    )


@dataclass
class TaskHandle:
    connector: str
    task_id: int
    thread: threading.Thread
    runner: TaskRunner


class TaskRunner:
    """Common life cycle: start the plug-in task, loop until stopped, report states."""

    kind = ""

    def __init__(
        self,
        worker: Worker,
        connector: str,
        task_id: int,
        connector_config: dict[str, str],
        task_config: dict[str, str],
        paused: bool,
    ):
        self.worker = worker
        self.connector = connector
        self.task_id = task_id
        self.connector_config = connector_config
        self.task_config = task_config
        self.stopping = threading.Event()
        self.paused = threading.Event()
        if paused:
            self.paused.set()
        self.task: Any = None
        self.failed = False
        self.stop_called = False
        self.stop_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{self.connector}-{self.task_id}"

    def report(self, state: str, trace: str | None = None) -> None:
        """Write this task's status, unless it is being stopped: then the task may already run on
        another worker, whose status must not be overwritten by this stale one (Kafka fences
        such writes by generation)."""
        if self.stopping.is_set():
            return
        self.worker.on_status(self.connector, self.task_id, state, trace)

    def run(self) -> None:
        try:
            self.execute()
        except BaseException as exc:  # a plug-in's failure must not take the worker down
            self.failed = True
            (source_log if self.kind == "source" else sink_log).error(
                "%s Task threw an uncaught and unrecoverable exception. Task is being killed and will not "
                "recover until manually restarted: %s",
                self.label(),
                exc,
            )
            self.report("FAILED", java_trace(exc))
        finally:
            self.stop_plugin_task()
            self.close_clients()

    def stop_plugin_task(self) -> None:
        """``Task.stop()`` once: from the herder for a source task (to interrupt ``poll``), from
        the task's own thread for a sink task (never while ``put`` runs), as Kafka does."""
        with self.stop_lock:
            if self.task is None or self.stop_called:
                return
            self.stop_called = True
        try:
            self.task.stop()
        except Exception:
            log.exception("%s Task threw an exception while stopping", self.label())

    def label(self) -> str:
        return f"{'WorkerSourceTask' if self.kind == 'source' else 'WorkerSinkTask'}{{id={self.name}}}"

    def execute(self) -> None:
        raise NotImplementedError

    def close_clients(self) -> None:
        pass

    def request_stop(self) -> None:
        self.stopping.set()
        if self.kind == "source":
            self.stop_plugin_task()


class SourceTaskRunner(TaskRunner):
    kind = "source"

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


class SinkTaskRunner(TaskRunner):
    kind = "sink"

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


@dataclass
class ConnectorHandle:
    name: str
    instance: Connector
    config: dict[str, str]
    paused: bool = False
    failed: bool = False


@dataclass
class Worker:
    """Connectors and tasks running in this process."""

    config: WorkerConfig
    offsets: OffsetStore
    on_status: StatusCallback
    connectors: dict[str, ConnectorHandle] = field(default_factory=dict)
    tasks: dict[tuple[str, int], TaskHandle] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    on_reconfigure: Callable[[str], None] = lambda _name: None

    # -- connectors ------------------------------------------------------------------------------

    def start_connector(self, name: str, config: dict[str, str], target_state: str) -> bool:
        """Start (or restart) a connector instance; False when it failed (status says why)."""
        self.stop_connector(name)
        try:
            cls = plugins.connector_class(config["connector.class"])
            instance = cls()
            instance.context = ConnectorContext(
                lambda: self.on_reconfigure(name), lambda exc: self._connector_failed(name, exc)
            )
            if target_state != "STOPPED":
                instance.start(dict(config))
        except Exception as exc:
            log.error("[%s|worker] Failed to start connector %s: %s", name, name, exc)
            self.on_status(name, None, "FAILED", java_trace(exc))
            return False
        with self.lock:
            self.connectors[name] = ConnectorHandle(name, instance, dict(config), target_state == "PAUSED")
        state = {"PAUSED": "PAUSED", "STOPPED": "STOPPED"}.get(target_state, "RUNNING")
        log.info("[%s|worker] Finished creating connector %s", name, name)
        self.on_status(name, None, state, None)
        return True

    def _connector_failed(self, name: str, exc: BaseException) -> None:
        with self.lock:
            handle = self.connectors.get(name)
            if handle is not None:
                handle.failed = True
        self.on_status(name, None, "FAILED", java_trace(exc))

    def task_configs(self, name: str) -> list[dict[str, str]]:
        """Task configs from the running connector (``Connector.taskConfigs(tasks.max)``)."""
        with self.lock:
            handle = self.connectors.get(name)
        if handle is None or handle.failed:
            return []
        try:
            configs = handle.instance.task_configs(tasks_max(handle.config))
        except Exception as exc:
            self._connector_failed(name, exc)
            return []
        limit = tasks_max(handle.config)
        if len(configs) > limit:
            self._connector_failed(
                name,
                ConnectError(
                    f"The connector {name} has generated {len(configs)} tasks, which is greater than "
                    f"{limit}, the maximum number of tasks it is configured to create."
                ),
            )
            return []
        # The worker adds the task class, as Kafka does ("task.class"), and sink topics.
        out = []
        for task_config in configs:
            merged = dict(task_config)
            task_cls = handle.instance.task_class()
            merged.setdefault("task.class", f"{task_cls.__module__}.{task_cls.__qualname__}")
            if isinstance(handle.instance, SinkConnector):
                for key in ("topics", "topics.regex"):
                    if key in handle.config:
                        merged.setdefault(key, handle.config[key])
            out.append(merged)
        return out

    def stop_connector(self, name: str) -> None:
        with self.lock:
            handle = self.connectors.pop(name, None)
        if handle is not None:
            try:
                handle.instance.stop()
            except Exception:
                log.exception("[%s|worker] Error while stopping connector %s", name, name)
            log.info("[%s|worker] Stopping connector %s", name, name)

    def set_connector_paused(self, name: str, paused: bool) -> None:
        with self.lock:
            handle = self.connectors.get(name)
            if handle is not None:
                handle.paused = paused
        if handle is not None and not handle.failed:
            self.on_status(name, None, "PAUSED" if paused else "RUNNING", None)

    # -- tasks -----------------------------------------------------------------------------------

    def start_task(
        self,
        name: str,
        task_id: int,
        connector_config: dict[str, str],
        task_config: dict[str, str],
        paused: bool,
    ) -> None:
        self.stop_task(name, task_id)
        try:
            cls = plugins.connector_class(connector_config["connector.class"])
        except Exception as exc:
            self.on_status(name, task_id, "FAILED", java_trace(exc))
            return
        runner_cls = SinkTaskRunner if issubclass(cls, SinkConnector) else SourceTaskRunner
        runner = runner_cls(self, name, task_id, connector_config, task_config, paused)
        thread = threading.Thread(target=runner.run, name=f"task-thread-{name}-{task_id}", daemon=True)
        with self.lock:
            self.tasks[(name, task_id)] = TaskHandle(name, task_id, thread, runner)
        log.info("Creating task %s-%d", name, task_id)
        thread.start()

    def stop_task(self, name: str, task_id: int, timeout_s: float | None = None) -> None:
        with self.lock:
            handle = self.tasks.pop((name, task_id), None)
        if handle is None:
            return
        handle.runner.request_stop()
        graceful = self.config.int_setting("task.shutdown.graceful.timeout.ms", 5000) / 1000
        handle.thread.join(timeout_s if timeout_s is not None else max(graceful, 5.0))
        if handle.thread.is_alive():
            log.error("Graceful stop of task %s-%d failed.", name, task_id)

    def stop_tasks(self, keys: list[tuple[str, int]]) -> None:
        """Stop several tasks at once (all are asked first, then awaited)."""
        with self.lock:
            handles = [self.tasks.pop(k) for k in keys if k in self.tasks]
        for handle in handles:
            handle.runner.request_stop()
        for handle in handles:
            handle.thread.join(10)

    def set_task_paused(self, name: str, task_id: int, paused: bool) -> None:
        with self.lock:
            handle = self.tasks.get((name, task_id))
        if handle is not None:
            if paused:
                handle.runner.paused.set()
            else:
                handle.runner.paused.clear()

    def task_keys(self, name: str | None = None) -> list[tuple[str, int]]:
        with self.lock:
            return [k for k in self.tasks if name is None or k[0] == name]

    def task_failed(self, name: str, task_id: int) -> bool:
        with self.lock:
            handle = self.tasks.get((name, task_id))
        return handle is not None and handle.runner.failed

    def stop_all(self) -> None:
        self.stop_tasks(self.task_keys())
        for name in list(self.connectors):
            self.stop_connector(name)
