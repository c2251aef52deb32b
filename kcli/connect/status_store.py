"""Connector and task statuses: in memory (standalone) or in the status topic (distributed).

Records are Kafka's: ``status-connector-<name>`` and ``status-task-<name>-<id>`` ->
``{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":N}`` (null when the connector
is deleted). Each worker writes the statuses of what it runs and reads everyone's, so
``/connectors/{name}/status`` answers the same on every worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kcli.connect.json_converter import dumps


@dataclass
class Status:
    state: str
    worker_id: str
    trace: str | None = None
    generation: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "trace": self.trace,
            "worker_id": self.worker_id,
            "generation": self.generation,
        }


class StatusStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connectors: dict[str, Status] = {}
        self.tasks: dict[tuple[str, int], Status] = {}

    def put_connector(self, name: str, status: Status) -> None:
        with self.lock:
            self.connectors[name] = status

    def put_task(self, name: str, task: int, status: Status) -> None:
        with self.lock:
            self.tasks[(name, task)] = status

    def remove(self, name: str, task_count: int = 0) -> None:
        with self.lock:
            self.connectors.pop(name, None)
            for key in [k for k in self.tasks if k[0] == name]:
                del self.tasks[key]

    def connector(self, name: str) -> Status | None:
        with self.lock:
            return self.connectors.get(name)

    def task(self, name: str, task: int) -> Status | None:
        with self.lock:
            return self.tasks.get((name, task))

    def connector_tasks(self, name: str) -> dict[int, Status]:
        with self.lock:
            return {k[1]: v for k, v in self.tasks.items() if k[0] == name}

    def read_to_end(self) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class TopicStatusStore(StatusStore):
    """``status.storage.topic``: writes are sent (and applied locally at once), reads come back."""

    def __init__(self, log_factory: Callable[[Callable[..., None]], Any]):
        super().__init__()
        self.log = log_factory(self._on_record)

    def start(self) -> None:
        self.log.start()

    def stop(self) -> None:
        self.log.stop()

    def read_to_end(self) -> None:
        self.log.read_to_end()

    def put_connector(self, name: str, status: Status) -> None:
        super().put_connector(name, status)
        self.log.send(f"status-connector-{name}".encode(), dumps(status.as_json()))

    def put_task(self, name: str, task: int, status: Status) -> None:
        super().put_task(name, task, status)
        self.log.send(f"status-task-{name}-{task}".encode(), dumps(status.as_json()))

    def remove(self, name: str, task_count: int = 0) -> None:
        tasks = sorted(set(self.connector_tasks(name)) | set(range(task_count)))
        super().remove(name)
        self.log.send(f"status-connector-{name}".encode(), None)
        for task in tasks:
            self.log.send(f"status-task-{name}-{task}".encode(), None)

    def _on_record(self, key: bytes | None, value: bytes | None, _partition: int) -> None:
        if key is None:
            return
        text = key.decode("utf-8", errors="replace")
        body = orjson.loads(value) if value is not None else None
        status = None
        if isinstance(body, dict) and isinstance(body.get("state"), str):
            status = Status(
                body["state"],
                str(body.get("worker_id", "")),
                body.get("trace"),
                int(body.get("generation") or 0),
            )
        with self.lock:
            if text.startswith("status-connector-"):
                name = text[len("status-connector-") :]
                if status is None:
                    self.connectors.pop(name, None)
                else:
                    self.connectors[name] = status
            elif text.startswith("status-task-"):
                name, _, index = text[len("status-task-") :].rpartition("-")
                if not index.isdigit():
                    return
                if status is None:
                    self.tasks.pop((name, int(index)), None)
                else:
                    self.tasks[(name, int(index))] = status
