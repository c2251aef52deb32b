"""What every task thread shares, as Kafka's ``WorkerTask``: its life cycle and states, converters, error traces.

Each task runs in its own thread with its own Kafka client, as on a JVM worker. A task that raises
is FAILED with the error and its trace in ``/status``; other tasks keep running. With
``errors.tolerance=all`` a record that fails conversion is skipped (and logged when
``errors.log.enable=true``), as Kafka's error handler does; otherwise it fails the task. The
runners reach the worker through :class:`TaskWorker` (its config, offsets and status callback),
not through :mod:`kcli.connect.worker`, which starts them.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kcli.connect.converters import make_converter, sub_configs
from kcli.connect.errors import ConnectError
from kcli.connect.offsets import OffsetStore
from kcli.connect.worker_config import WorkerConfig

#: (connector, task id or None, state, trace)
StatusCallback = Callable[[str, int | None, str, str | None], None]

log = logging.getLogger("org.apache.kafka.connect.runtime.Worker")


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


class TaskWorker(Protocol):
    """What a task runner uses of the worker that started it (:class:`kcli.connect.worker.Worker`)."""

    config: WorkerConfig
    offsets: OffsetStore
    on_status: StatusCallback


class TaskRunner:
    """Common life cycle: start the plug-in task, loop until stopped, report states."""

    kind = ""
    #: Kafka's logger of this kind of task (WorkerSourceTask or WorkerSinkTask)
    task_log = logging.getLogger("org.apache.kafka.connect.runtime.WorkerTask")

    def __init__(
        self,
        worker: TaskWorker,
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
            self.task_log.error(
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
