"""The herder: every operation of the REST API, over the config, status and offset stores.

Kafka's ``AbstractHerder`` with its standalone and distributed halves folded into one class: the
stores decide where state lives (memory or topics) and :meth:`Herder.assigned` decides which
connectors and tasks run in this process (all of them in standalone; this worker's share of the
group's assignment in distributed). Every change - a new config, a rebalance, a pause - ends in
:meth:`Herder.reconcile`, which starts and stops connectors and tasks until this process runs
exactly its share, and has the connectors it runs write their task configs. Answers and errors are
Kafka's (``ConnectorInfo``, ``ConnectorStateInfo``, ``TaskInfo``, 404/409/400 messages).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kcli.connect import connector_config, plugins
from kcli.connect.config_store import ConfigSnapshot, ConfigStore
from kcli.connect.errors import AlreadyExists, BadRequest, ConnectError, NotFound
from kcli.connect.offsets import OffsetStore
from kcli.connect.sink_offsets import alter_sink_offsets, reset_sink_offsets, sink_offsets
from kcli.connect.status_store import Status, StatusStore
from kcli.connect.worker import Worker
from kcli.connect.worker_config import WorkerConfig

log = logging.getLogger("org.apache.kafka.connect.runtime.AbstractHerder")

TaskId = tuple[str, int]


class Herder:
    def __init__(
        self, config: WorkerConfig, configs: ConfigStore, statuses: StatusStore, offsets: OffsetStore
    ):
        self.config = config
        self.configs = configs
        self.statuses = statuses
        self.offsets = offsets
        self.worker = Worker(config, offsets, self._on_status)
        self.worker.on_reconfigure = self._request_reconfigure
        self.lock = threading.RLock()
        self.generation = 0
        self.cluster_id: str | None = None
        self.running_configs: dict[str, dict[str, str]] = {}
        self.running_task_configs: dict[TaskId, dict[str, str]] = {}
        self.target_applied: dict[str, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending_lock = threading.Lock()  # never held while waiting on a store
        self._reconfigure: set[str] = set()
        self._restarts: list[tuple[str, dict[str, Any]]] = []
        configs.listeners.append(self._on_config_change)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="herder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
        with self.lock:
            self._stop_everything(report=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.reconcile()
            except Exception:
                log.exception("Unexpected error while bringing this worker's connectors and tasks up to date")

    def wake(self) -> None:
        self._wake.set()

    def _on_config_change(self, kind: str, name: str, data: Any) -> None:
        if kind == "restart":
            with self._pending_lock:
                self._restarts.append((name, data))
        self.wake()

    def _request_reconfigure(self, name: str) -> None:
        with self._pending_lock:
            self._reconfigure.add(name)
        self.wake()

    def _on_status(self, name: str, task: int | None, state: str, trace: str | None) -> None:
        status = Status(state, self.config.worker_id, trace, self.generation)
        try:
            if task is None:
                self.statuses.put_connector(name, status)
            else:
                self.statuses.put_task(name, task, status)
        except ConnectError as exc:
            log.error("Failed to write status of %s: %s", name if task is None else f"{name}-{task}", exc)

    # -- what runs here --------------------------------------------------------------------------

    def assigned(self, snapshot: ConfigSnapshot) -> tuple[set[str], set[TaskId]]:
        """Connectors and tasks this process should run: all of them (standalone)."""
        connectors = set(snapshot.connectors)
        tasks = {
            (name, i)
            for name, configs in snapshot.tasks.items()
            if name in connectors
            for i in range(len(configs))
        }
        return connectors, tasks

    def reconcile(self) -> None:
        """Start and stop connectors and tasks until this process runs exactly its share."""
        with self.lock:
            if self._stopping.is_set():
                return
            snapshot = self.configs.snapshot()
            my_connectors, my_tasks = self.assigned(snapshot)
            with self._pending_lock:
                restarts, self._restarts = self._restarts, []
                reconfigure, self._reconfigure = self._reconfigure, set()

            # Connectors: stop the ones gone, moved or changed; start the missing ones.
            for name in list(self.running_configs):
                config = snapshot.connectors.get(name)
                if name not in my_connectors or config != self.running_configs[name]:
                    self.worker.stop_connector(name)
                    del self.running_configs[name]
                    self.target_applied.pop(name, None)
            for name, request in restarts:
                if name in self.running_configs and self._should_restart_connector(name, request):
                    self.worker.stop_connector(name)
                    del self.running_configs[name]
                    self.target_applied.pop(name, None)
            for name in sorted(my_connectors):
                target = snapshot.target_states.get(name, "STARTED")
                if name not in self.running_configs:
                    config = snapshot.connectors[name]
                    self.running_configs[name] = config
                    self.target_applied[name] = target
                    if self.worker.start_connector(name, config, target):
                        reconfigure.add(name)
                elif self.target_applied.get(name) != target:
                    if target == "STOPPED" or self.target_applied.get(name) == "STOPPED":
                        self.worker.stop_connector(name)
                        self.target_applied[name] = target
                        if self.worker.start_connector(name, snapshot.connectors[name], target):
                            reconfigure.add(name)
                    else:
                        self.worker.set_connector_paused(name, target == "PAUSED")
                        self.target_applied[name] = target
            for name in sorted(reconfigure & set(self.running_configs)):
                target = snapshot.target_states.get(name, "STARTED")
                wanted = [] if target == "STOPPED" else self.worker.task_configs(name)
                if target != "STOPPED" and not wanted and self.statuses.connector(name) is not None:
                    status = self.statuses.connector(name)
                    if status is not None and status.state == "FAILED":
                        continue
                if wanted != snapshot.tasks.get(name, []) or name not in snapshot.tasks:
                    self.configs.put_task_configs(name, wanted)
                    snapshot = self.configs.snapshot()
                    my_connectors, my_tasks = self.assigned(snapshot)

            # Tasks: stop the ones gone, moved, changed or restarted; start the missing ones.
            restart_tasks = self._tasks_to_restart(restarts, snapshot)
            stop: list[TaskId] = []
            for key in self.worker.task_keys():
                name, index = key
                configs = snapshot.tasks.get(name, [])
                current = configs[index] if index < len(configs) else None
                if (
                    key not in my_tasks
                    or current != self.running_task_configs.get(key)
                    or snapshot.target_states.get(name) == "STOPPED"
                    or key in restart_tasks
                ):
                    stop.append(key)
            self.worker.stop_tasks(stop)
            for key in stop:
                self.running_task_configs.pop(key, None)
            for key in sorted(my_tasks):
                name, index = key
                target = snapshot.target_states.get(name, "STARTED")
                if target == "STOPPED" or name not in snapshot.connectors:
                    continue
                if key not in self.worker.tasks:
                    task_config = snapshot.tasks[name][index]
                    self.running_task_configs[key] = task_config
                    self.worker.start_task(
                        name, index, snapshot.connectors[name], task_config, target == "PAUSED"
                    )
                else:
                    self.worker.set_task_paused(name, index, target == "PAUSED")
                    self._report_task_target(key, target)

            # Statuses of deleted connectors.
            for name in list(self.statuses.connectors):
                if name not in snapshot.connectors and self._owns_status(name):
                    self.statuses.remove(name)

    def _report_task_target(self, key: TaskId, target: str) -> None:
        """Keep a paused/resumed task's status in step (its thread reports the change itself)."""

    def _owns_status(self, name: str) -> bool:
        status = self.statuses.connector(name)
        return status is None or status.worker_id == self.config.worker_id

    def _should_restart_connector(self, name: str, request: dict[str, Any]) -> bool:
        if not request.get("only-failed"):
            return True
        status = self.statuses.connector(name)
        return status is not None and status.state == "FAILED"

    def _tasks_to_restart(
        self, restarts: list[tuple[str, dict[str, Any]]], snapshot: ConfigSnapshot
    ) -> set[TaskId]:
        out: set[TaskId] = set()
        for name, request in restarts:
            if not request.get("include-tasks"):
                continue
            for index in range(len(snapshot.tasks.get(name, []))):
                status = self.statuses.task(name, index)
                if not request.get("only-failed") or (status is not None and status.state == "FAILED"):
                    out.add((name, index))
        return out

    def _stop_everything(self, report: bool) -> None:
        keys = self.worker.task_keys()
        self.worker.stop_tasks(keys)
        for name in list(self.running_configs):
            self.worker.stop_connector(name)
        if report:
            for name, index in keys:
                self._on_status(name, index, "UNASSIGNED", None)
            for name in self.running_configs:
                self._on_status(name, None, "UNASSIGNED", None)
        self.running_configs.clear()
        self.running_task_configs.clear()
        self.target_applied.clear()

    # -- REST operations -------------------------------------------------------------------------

    def _snapshot(self) -> ConfigSnapshot:
        self.configs.read_to_end()
        return self.configs.snapshot()

    def connectors(self) -> list[str]:
        return sorted(self._snapshot().connectors)

    def _require(self, name: str, snapshot: ConfigSnapshot | None = None) -> ConfigSnapshot:
        snapshot = snapshot or self._snapshot()
        if name not in snapshot.connectors:
            raise NotFound(f"Connector {name} not found")
        return snapshot

    def connector_type(self, config: dict[str, str]) -> str:
        try:
            return plugins.connector_type(config.get("connector.class", ""))
        except ConnectError:
            return "unknown"

    def connector_info(self, name: str, snapshot: ConfigSnapshot | None = None) -> dict[str, Any]:
        snapshot = self._require(name, snapshot)
        config = snapshot.connectors[name]
        return {
            "name": name,
            "config": dict(config),
            "tasks": [{"connector": name, "task": i} for i in range(len(snapshot.tasks.get(name, [])))],
            "type": self.connector_type(config),
        }

    def connector_config(self, name: str) -> dict[str, str]:
        return dict(self._require(name).connectors[name])

    def validate(self, config: dict[str, str]) -> dict[str, Any]:
        return connector_config.validate(config)

    def put_connector_config(
        self, name: str, config: dict[str, str], allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, dict[str, Any]]:
        """Create or replace; returns (created, ConnectorInfo)."""
        config = dict(config)
        infos = connector_config.validate(config)
        message = connector_config.invalid_message(infos)
        if message:
            raise BadRequest(message)
        with self.lock:
            snapshot = self._snapshot()
            exists = name in snapshot.connectors
            if exists and not allow_replace:
                raise AlreadyExists(f"Connector {name} already exists")
            state = None if exists else (initial_state or None)
            self.configs.put_connector_config(name, config, state)
        self._settle()
        return not exists, self.connector_info(name)

    def _settle(self) -> None:
        """Standalone answers after the change took effect here (as Kafka's StandaloneHerder)."""
        self.wake()

    def delete_connector(self, name: str) -> None:
        with self.lock:
            snapshot = self._require(name)
            self.configs.remove_connector(name)
            task_count = len(snapshot.tasks.get(name, []))
        self._settle()
        try:
            self.statuses.remove(name, task_count)
        except ConnectError as exc:
            log.error("Failed to remove the statuses of %s: %s", name, exc)

    def connector_status(self, name: str) -> dict[str, Any]:
        snapshot = self._require(name)
        self.statuses.read_to_end()
        status = self.statuses.connector(name)
        if status is None:
            raise NotFound(f"No status found for connector {name}")
        tasks = []
        task_statuses = self.statuses.connector_tasks(name)
        for index in range(len(snapshot.tasks.get(name, []))):
            task = task_statuses.get(index)
            if task is not None:
                tasks.append({"id": index, **self._state(task)})
        return {
            "name": name,
            "connector": self._state(status),
            "tasks": tasks,
            "type": self.connector_type(snapshot.connectors[name]),
        }

    @staticmethod
    def _state(status: Status) -> dict[str, Any]:
        out: dict[str, Any] = {"state": status.state, "worker_id": status.worker_id}
        if status.trace:
            out["trace"] = status.trace
        return out

    def task_status(self, name: str, task: int) -> dict[str, Any]:
        self.statuses.read_to_end()
        status = self.statuses.task(name, task)
        if status is None:
            raise NotFound(f"No status found for task {name}-{task}")
        return {"id": task, **self._state(status)}

    def task_infos(self, name: str) -> list[dict[str, Any]]:
        snapshot = self._require(name)
        return [
            {"id": {"connector": name, "task": i}, "config": dict(config)}
            for i, config in enumerate(snapshot.tasks.get(name, []))
        ]

    def set_target_state(self, name: str, state: str) -> None:
        with self.lock:
            self._require(name)
            self.configs.put_target_state(name, state)
        self._settle()

    def restart(self, name: str, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        """``POST /connectors/{name}/restart``: None (204) for the plain form, else the status (202)."""
        self._require(name)
        self.configs.put_restart_request(name, include_tasks, only_failed)
        self._settle()
        if not include_tasks and not only_failed:
            return None
        status = self.connector_status(name)
        status["connector"]["state"] = (
            "RESTARTING"
            if self._restarting(status["connector"], only_failed)
            else status["connector"]["state"]
        )
        if include_tasks:
            for task in status["tasks"]:
                if self._restarting(task, only_failed):
                    task["state"] = "RESTARTING"
        return status

    @staticmethod
    def _restarting(state: dict[str, Any], only_failed: bool) -> bool:
        return not only_failed or state.get("state") == "FAILED"

    def restart_task(self, name: str, task: int) -> None:
        snapshot = self._require(name)
        if task >= len(snapshot.tasks.get(name, [])):
            raise NotFound(f"Task {name}-{task} not found")
        self._restart_task_here(name, task, snapshot)

    def _restart_task_here(self, name: str, task: int, snapshot: ConfigSnapshot) -> None:
        with self.lock:
            key = (name, task)
            if key in self.worker.tasks or key in self.assigned(snapshot)[1]:
                self.worker.stop_task(name, task)
                self.running_task_configs.pop(key, None)
        self._settle()

    # -- offsets (KIP-875) -----------------------------------------------------------------------

    def connector_offsets(self, name: str) -> dict[str, Any]:
        snapshot = self._require(name)
        config = snapshot.connectors[name]
        if self.connector_type(config) == "sink":
            return {"offsets": sink_offsets(self.config.client_conf("admin"), name)}
        if hasattr(self.offsets, "log"):
            self.offsets.log.read_to_end()
        return {"offsets": self.offsets.connector_offsets(name)}

    def _require_stopped(self, name: str) -> ConfigSnapshot:
        snapshot = self._require(name)
        self.statuses.read_to_end()
        status = self.statuses.connector(name)
        if snapshot.target_states.get(name) != "STOPPED" or (
            status is not None and status.state != "STOPPED"
        ):
            raise BadRequest(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for "
                f"the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )
        return snapshot

    def alter_offsets(self, name: str, offsets: list[dict[str, Any]]) -> dict[str, str]:
        snapshot = self._require_stopped(name)
        if self.connector_type(snapshot.connectors[name]) == "sink":
            alter_sink_offsets(self.config.client_conf("admin"), name, offsets)
            return {"message": "The offsets for this connector have been altered successfully"}
        pairs = []
        for entry in offsets:
            if not isinstance(entry, dict) or "partition" not in entry:
                raise BadRequest("Partitions / offsets need to be provided for an alter offsets request")
            partition, offset = entry.get("partition"), entry.get("offset")
            if partition is None:
                raise BadRequest("Partition objects cannot be null")
            pairs.append((partition, offset))
        self.offsets.put(name, pairs)
        return {
            "message": "The offsets for this connector have been altered successfully. Note that altering offsets "
            "for a source connector is not guaranteed to take effect immediately."
        }

    def reset_offsets(self, name: str) -> dict[str, str]:
        snapshot = self._require_stopped(name)
        if self.connector_type(snapshot.connectors[name]) == "sink":
            reset_sink_offsets(self.config.client_conf("admin"), name)
            return {"message": "The offsets for this connector have been reset successfully"}
        if hasattr(self.offsets, "log"):
            self.offsets.log.read_to_end()
        pairs = [(entry["partition"], None) for entry in self.offsets.connector_offsets(name)]
        self.offsets.put(name, pairs)
        return {
            "message": "The offsets for this connector have been reset successfully. Note that resetting offsets "
            "for a source connector is not guaranteed to take effect immediately."
        }

    def active_topics(self, name: str) -> dict[str, Any]:
        snapshot = self._require(name)
        config = snapshot.connectors[name]
        if self.connector_type(config) == "sink":
            topics, _regex = connector_config.sink_topics(config)
        else:
            topics = sorted({c.get("topic", "") for c in snapshot.tasks.get(name, []) if c.get("topic")})
        return {name: {"topics": topics}}
