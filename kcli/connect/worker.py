"""Running connectors and their tasks in this process: Kafka's ``Worker``.

The worker starts and stops connector instances and asks them for task configs; each task runs in
its own thread (:mod:`kcli.connect.worker_source_task`, :mod:`kcli.connect.worker_sink_task`, on
the life cycle of :mod:`kcli.connect.worker_task`) with its own Kafka client, as on a JVM worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kcli.connect import plugins
from kcli.connect.api import (
    Connector,
    ConnectorContext,
    SinkConnector,
)
from kcli.connect.connector_config import tasks_max
from kcli.connect.errors import ConnectError
from kcli.connect.offsets import OffsetStore
from kcli.connect.worker_config import WorkerConfig
from kcli.connect.worker_sink_task import SinkTaskRunner
from kcli.connect.worker_source_task import SourceTaskRunner
from kcli.connect.worker_task import StatusCallback, TaskHandle, java_trace

log = logging.getLogger("org.apache.kafka.connect.runtime.Worker")


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
