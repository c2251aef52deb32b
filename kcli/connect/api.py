"""The plug-in interface: what a connector written in Python implements (Kafka's connect-api).

A connector is two classes, as in Kafka:

* a **connector** (:class:`SourceConnector` or :class:`SinkConnector`) that validates its
  configuration (:meth:`Connector.config_def`) and splits the work into at most ``tasks.max``
  task configurations (:meth:`Connector.task_configs`);
* a **task** (:class:`SourceTask` or :class:`SinkTask`) that does the copying. A source task's
  :meth:`SourceTask.poll` returns :class:`SourceRecord` s (or None when there is nothing yet; it may
  block for up to about a second); each record carries a *source partition* and *source offset*
  (small JSON-able dicts) that the worker stores once the record is acknowledged by Kafka and
  hands back through ``self.context.offset(partition)`` after a restart. A sink task's
  :meth:`SinkTask.put` receives :class:`SinkRecord` s and :meth:`SinkTask.flush` is called before
  the consumer offsets are committed (at-least-once delivery).

A minimal source connector, usable as ``connector.class=mymodule.CounterSource``::

    from kcli.connect.api import ConfigDef, SourceConnector, SourceRecord, SourceTask

    class CounterTask(SourceTask):
        def start(self, props):
            self.topic = props["topic"]
            stored = self.context.offset({"counter": "main"}) or {}
            self.next = stored.get("n", -1) + 1
        def poll(self):
            n, self.next = self.next, self.next + 1
            return [SourceRecord({"counter": "main"}, {"n": n}, self.topic, value=str(n))]
        def stop(self):
            pass

    class CounterSource(SourceConnector):
        def config_def(self):
            return ConfigDef().define("topic", "string", doc="Where to write")
        def start(self, props):
            self.props = props
        def task_class(self):
            return CounterTask
        def task_configs(self, max_tasks):
            return [dict(self.props)]
        def stop(self):
            pass

``connector.class`` may name such a class by its dotted path (``mymodule.CounterSource`` or
``mymodule:CounterSource``); directories in the worker's ``plugin.path`` are added to the import
path first, so a module file dropped there is found. Raise :class:`kcli.connect.errors.ConnectError`
for a failure the task cannot recover from: the task is marked FAILED with the trace in ``/status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kcli.connect.data import Schema

# ---------------------------------------------------------------------------------------------
# Configuration definitions (Kafka's ConfigDef, reduced to what validation and the REST API use)

#: Kafka's ConfigDef types, as the REST API spells them.
CONFIG_TYPES = ("BOOLEAN", "STRING", "INT", "SHORT", "LONG", "DOUBLE", "LIST", "CLASS", "PASSWORD")

NO_DEFAULT = object()


@dataclass
class ConfigKey:
    """One setting: its type, default (``NO_DEFAULT`` makes it required), docs and a validator.

    ``validator(name, value)`` returns an error message or None; it sees the parsed value.
    """

    name: str
    type: str
    default: Any = NO_DEFAULT
    importance: str = "HIGH"
    doc: str = ""
    group: str | None = None
    order_in_group: int = -1
    width: str = "NONE"
    display_name: str = ""
    validator: Callable[[str, Any], str | None] | None = None

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


class ConfigDef:
    """An ordered set of :class:`ConfigKey` s; ``define`` returns self so calls chain as in Java."""

    def __init__(self) -> None:
        self.keys: dict[str, ConfigKey] = {}

    def define(
        self,
        name: str,
        type: str,
        default: Any = NO_DEFAULT,
        importance: str = "HIGH",
        doc: str = "",
        validator: Callable[[str, Any], str | None] | None = None,
        group: str | None = None,
        display_name: str = "",
    ) -> ConfigDef:
        key = ConfigKey(
            name,
            type.upper(),
            default,
            importance.upper(),
            doc,
            group,
            len([k for k in self.keys.values() if k.group == group]) + 1 if group else -1,
            "NONE",
            display_name or name,
            validator,
        )
        self.keys[name] = key
        return self

    def merged(self, other: ConfigDef) -> ConfigDef:
        out = ConfigDef()
        out.keys = {**self.keys, **{k: v for k, v in other.keys.items() if k not in self.keys}}
        return out

    def parse(self, props: Mapping[str, str]) -> dict[str, Any]:
        """Parsed values for every key; raises ValueError with Kafka's message on the first error."""
        out: dict[str, Any] = {}
        for key in self.keys.values():
            errors = validate_value(key, props)
            if errors:
                raise ValueError(errors[0])
            out[key.name] = parse_value(key, props[key.name]) if key.name in props else key.default
        return out


def parse_value(key: ConfigKey, raw: Any) -> Any:
    """Kafka's ``ConfigDef.parseType``; raises ValueError with its message."""
    if raw is None:
        return None
    text = str(raw).strip() if key.type != "PASSWORD" else str(raw)
    if key.type in ("STRING", "PASSWORD", "CLASS"):
        return text
    if key.type == "BOOLEAN":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(
            f"Invalid value {raw} for configuration {key.name}: Expected value to be either true or false"
        )
    if key.type in ("INT", "SHORT", "LONG"):
        try:
            number = int(text)
        except ValueError:
            raise ValueError(
                f"Invalid value {raw} for configuration {key.name}: Not a number of type {key.type}"
            ) from None
        limit = {"INT": 2**31, "SHORT": 2**15, "LONG": 2**63}[key.type]
        if not -limit <= number < limit:
            raise ValueError(
                f"Invalid value {raw} for configuration {key.name}: Not a number of type {key.type}"
            )
        return number
    if key.type == "DOUBLE":
        try:
            return float(text)
        except ValueError:
            raise ValueError(
                f"Invalid value {raw} for configuration {key.name}: Not a number of type DOUBLE"
            ) from None
    if key.type == "LIST":
        return [item.strip() for item in text.split(",") if item.strip()] if text else []
    return text


def validate_value(key: ConfigKey, props: Mapping[str, str]) -> list[str]:
    """Kafka's error messages for one key of ``props`` (empty when it is fine)."""
    if key.name not in props:
        if key.required:
            return [f'Missing required configuration "{key.name}" which has no default value.']
        value = key.default
    else:
        try:
            value = parse_value(key, props[key.name])
        except ValueError as exc:
            return [str(exc)]
    if key.validator is not None:
        message = key.validator(key.name, value)
        if message:
            return [message]
    return []


def non_empty_string(name: str, value: Any) -> str | None:
    """``ConfigDef.NonEmptyString``."""
    if value is not None and str(value) == "":
        return f"Invalid value  for configuration {name}: String must be non-empty"
    return None


def at_least(minimum: int) -> Callable[[str, Any], str | None]:
    """``ConfigDef.Range.atLeast``."""

    def check(name: str, value: Any) -> str | None:
        if value is not None and value < minimum:
            return f"Invalid value {value} for configuration {name}: Value must be at least {minimum}"
        return None

    return check


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class SourceRecord:
    """A record a source task produces: where it came from (partition/offset) and what to write."""

    source_partition: dict[str, Any] | None
    source_offset: dict[str, Any] | None
    topic: str
    partition: int | None = None
    key_schema: Schema | None = None
    key: Any = None
    value_schema: Schema | None = None
    value: Any = None
    timestamp: int | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


@dataclass
class SinkRecord:
    """A record a sink task receives, already converted from bytes by the connector's converters."""

    topic: str
    kafka_partition: int
    key_schema: Schema | None
    key: Any
    value_schema: Schema | None
    value: Any
    kafka_offset: int
    timestamp: int | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Contexts the worker gives connectors and tasks


class ConnectorContext:
    """``ConnectorContext``: lets a connector ask for new task configs or report a fatal error."""

    def __init__(self, on_reconfigure: Callable[[], None], on_error: Callable[[BaseException], None]):
        self._on_reconfigure = on_reconfigure
        self._on_error = on_error

    def request_task_reconfiguration(self) -> None:
        self._on_reconfigure()

    def raise_error(self, error: BaseException) -> None:
        self._on_error(error)


class SourceTaskContext:
    """``SourceTaskContext``: the stored offset of a source partition (``offsetStorageReader``)."""

    def __init__(
        self, read_offset: Callable[[dict[str, Any]], dict[str, Any] | None], config: dict[str, str]
    ):
        self._read_offset = read_offset
        self.config = config

    def offset(self, partition: dict[str, Any]) -> dict[str, Any] | None:
        return self._read_offset(partition)


class SinkTaskContext:
    """``SinkTaskContext``: the task's assignment; ``request_commit`` asks for an early commit."""

    def __init__(self, config: dict[str, str]):
        self.config = config
        self.assignment: set[tuple[str, int]] = set()
        self.commit_requested = False

    def request_commit(self) -> None:
        self.commit_requested = True


# ---------------------------------------------------------------------------------------------
# Connectors and tasks


class Connector:
    """Base of every connector. Subclass :class:`SourceConnector` or :class:`SinkConnector`."""

    #: "source" or "sink" (set by the two subclasses).
    type: str = ""
    context: ConnectorContext

    def version(self) -> str:
        from kcli.connect import KAFKA_VERSION

        return KAFKA_VERSION

    def config_def(self) -> ConfigDef:
        """The connector's own settings (validated on create, shown by ``/config/validate``)."""
        return ConfigDef()

    def validate(self, props: dict[str, str]) -> dict[str, list[str]]:
        """Errors per setting name (Kafka's ``Connector.validate``); the default checks ``config_def``."""
        return {key.name: validate_value(key, props) for key in self.config_def().keys.values()}

    def start(self, props: dict[str, str]) -> None:
        raise NotImplementedError

    def task_class(self) -> type[Task]:
        raise NotImplementedError

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        raise NotImplementedError

    def stop(self) -> None:
        pass


class SourceConnector(Connector):
    type = "source"


class SinkConnector(Connector):
    type = "sink"


class Task:
    """Base of every task; ``stop`` may be called from another thread while ``poll``/``put`` runs."""

    def version(self) -> str:
        from kcli.connect import KAFKA_VERSION

        return KAFKA_VERSION

    def start(self, props: dict[str, str]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pass


class SourceTask(Task):
    context: SourceTaskContext

    def poll(self) -> list[SourceRecord] | None:
        raise NotImplementedError

    def commit(self) -> None:
        """Called after the offsets of the records so far were stored."""


class SinkTask(Task):
    context: SinkTaskContext

    def put(self, records: list[SinkRecord]) -> None:
        raise NotImplementedError

    def flush(self, offsets: dict[tuple[str, int], int]) -> None:
        """Make everything ``put`` so far durable; the offsets are committed right after."""

    def open(self, partitions: list[tuple[str, int]]) -> None:
        pass

    def close(self, partitions: list[tuple[str, int]]) -> None:
        pass


class Stoppable:
    """A wait that ``stop`` interrupts, for tasks that back off (``FileStreamSourceTask`` waits 1 s)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def wait(self, seconds: float) -> bool:
        """True when stopped."""
        return self._event.wait(seconds)

    def stop(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()
