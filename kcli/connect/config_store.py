"""Connector and task configurations: in memory (standalone) or in the config topic (distributed).

The config topic holds Kafka's record types, JSON without schemas, so a Kafka worker's topic and
ours read the same: ``connector-<name>`` -> ``{"properties":{...}}`` (null when deleted),
``task-<name>-<n>`` -> ``{"properties":{...}}``, ``commit-<name>`` -> ``{"tasks":N}`` (task configs
take effect only once committed), ``target-state-<name>`` -> ``{"state":"PAUSED"}`` and
``restart-connector-<name>`` -> ``{"include-tasks":..,"only-failed":..}``. Its single partition
orders every change, so all workers see the same sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kcli.connect.json_converter import dumps


@dataclass
class ConfigSnapshot:
    connectors: dict[str, dict[str, str]] = field(default_factory=dict)
    tasks: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    target_states: dict[str, str] = field(default_factory=dict)
    offset: int = 0


Listener = Callable[[str, str, Any], None]


class ConfigStore:
    """The standalone store: changes apply at once and tell the listener."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.state = ConfigSnapshot()
        self.listeners: list[Listener] = []

    def snapshot(self) -> ConfigSnapshot:
        with self.lock:
            return ConfigSnapshot(
                {k: dict(v) for k, v in self.state.connectors.items()},
                {k: [dict(t) for t in v] for k, v in self.state.tasks.items()},
                dict(self.state.target_states),
                self.state.offset,
            )

    def _notify(self, kind: str, name: str, data: Any = None) -> None:
        for listener in list(self.listeners):
            listener(kind, name, data)

    # Writes (distributed: through the topic; the listener fires when the record is read back)
    def put_connector_config(
        self, name: str, config: dict[str, str], target_state: str | None = None
    ) -> None:
        if target_state is not None:
            self.put_target_state(name, target_state)
        self._apply_connector(name, dict(config))

    def remove_connector(self, name: str) -> None:
        self._apply_connector(name, None)

    def put_task_configs(self, name: str, configs: list[dict[str, str]]) -> None:
        self._apply_tasks(name, [dict(c) for c in configs])

    def put_target_state(self, name: str, state: str) -> None:
        self._apply_target(name, state)

    def put_restart_request(self, name: str, include_tasks: bool, only_failed: bool) -> None:
        self._notify("restart", name, {"include-tasks": include_tasks, "only-failed": only_failed})

    def read_to_end(self) -> None:
        pass

    # Applying changes
    def _apply_connector(self, name: str, config: dict[str, str] | None) -> None:
        with self.lock:
            if config is None:
                self.state.connectors.pop(name, None)
                self.state.tasks.pop(name, None)
                self.state.target_states.pop(name, None)
            else:
                self.state.connectors[name] = config
                self.state.target_states.setdefault(name, "STARTED")
        self._notify("connector", name, config)

    def _apply_tasks(self, name: str, configs: list[dict[str, str]]) -> None:
        with self.lock:
            self.state.tasks[name] = configs
        self._notify("tasks", name, configs)

    def _apply_target(self, name: str, state: str | None) -> None:
        with self.lock:
            if state is None:
                self.state.target_states.pop(name, None)
            else:
                self.state.target_states[name] = state
        self._notify("target", name, state)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class TopicConfigStore(ConfigStore):
    """``config.storage.topic``: writes go to the topic; state changes when records are read back."""

    def __init__(self, log_factory: Callable[[Callable[..., None]], Any]):
        super().__init__()
        self.log = log_factory(self._on_record)
        self._pending_tasks: dict[str, dict[int, dict[str, str]]] = {}

    def start(self) -> None:
        self.log.start()

    def stop(self) -> None:
        self.log.stop()

    def read_to_end(self) -> None:
        self.log.read_to_end()

    def put_connector_config(
        self, name: str, config: dict[str, str], target_state: str | None = None
    ) -> None:
        if target_state is not None:
            self.put_target_state(name, target_state)
        self.log.send(f"connector-{name}".encode(), dumps({"properties": dict(config)}))
        self.log.read_to_end()

    def remove_connector(self, name: str) -> None:
        self.log.send(f"connector-{name}".encode(), None)
        self.log.send(f"target-state-{name}".encode(), None)
        self.log.read_to_end()

    def put_task_configs(self, name: str, configs: list[dict[str, str]]) -> None:
        for index, config in enumerate(configs):
            self.log.send(f"task-{name}-{index}".encode(), dumps({"properties": dict(config)}))
        self.log.send(f"commit-{name}".encode(), dumps({"tasks": len(configs)}))
        self.log.read_to_end()

    def put_target_state(self, name: str, state: str) -> None:
        # Kafka 3.5+ writes STOPPED as a PAUSED "state" plus "state.v2" for older workers' sake.
        value = {"state": "PAUSED" if state == "STOPPED" else state}
        if state != "STARTED":
            value["state.v2"] = state
        self.log.send(f"target-state-{name}".encode(), dumps(value))
        self.log.read_to_end()

    def put_restart_request(self, name: str, include_tasks: bool, only_failed: bool) -> None:
        self.log.send(
            f"restart-connector-{name}".encode(),
            dumps({"include-tasks": include_tasks, "only-failed": only_failed}),
        )

    def _on_record(self, key: bytes | None, value: bytes | None, _partition: int) -> None:
        if key is None:
            return
        text = key.decode("utf-8", errors="replace")
        body = orjson.loads(value) if value is not None else None
        if text.startswith("connector-"):
            name = text[len("connector-") :]
            props = body.get("properties") if isinstance(body, dict) else None
            self._apply_connector(name, props)
        elif text.startswith("task-"):
            name, _, index = text[len("task-") :].rpartition("-")
            if isinstance(body, dict) and index.isdigit():
                self._pending_tasks.setdefault(name, {})[int(index)] = body.get("properties") or {}
        elif text.startswith("commit-"):
            name = text[len("commit-") :]
            count = body.get("tasks", 0) if isinstance(body, dict) else 0
            pending = self._pending_tasks.pop(name, {})
            with self.lock:
                previous = self.state.tasks.get(name, [])
            configs = [pending.get(i, previous[i] if i < len(previous) else {}) for i in range(count)]
            self._apply_tasks(name, configs)
        elif text.startswith("target-state-"):
            name = text[len("target-state-") :]
            state = None
            if isinstance(body, dict):
                state = body.get("state.v2") or body.get("state")
            self._apply_target(name, state)
        elif text.startswith("restart-connector-") and isinstance(body, dict):
            self._notify("restart", text[len("restart-connector-") :], body)
