"""A Connect worker's properties (``connect-standalone.properties``/``connect-distributed.properties``).

Kafka's keys and defaults: ``bootstrap.servers`` (localhost:9092), ``key.converter`` and
``value.converter`` (required) with their prefixed settings, ``listeners`` (``http://:8083``),
``rest.advertised.host.name``/``port``, ``offset.flush.interval.ms`` (60000), ``plugin.path``;
standalone needs ``offset.storage.file.filename``; distributed needs ``group.id`` and the three
storage topics (with ``*.replication.factor`` and ``*.partitions``). Client settings are passed to
the worker's clients as Kafka does: worker-level client keys to all, ``producer.``/``consumer.``/
``admin.`` prefixed keys to one kind. A listener kcli cannot serve (HTTPS) is refused at start-up.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from kcli.connect.errors import ConfigError

#: Worker keys that are not client settings (everything else at top level may be one).
WORKER_KEYS = frozenset(
    {
        "key.converter",
        "value.converter",
        "header.converter",
        "listeners",
        "rest.host.name",
        "rest.port",
        "rest.advertised.host.name",
        "rest.advertised.port",
        "rest.advertised.listener",
        "offset.storage.file.filename",
        "offset.flush.interval.ms",
        "offset.flush.timeout.ms",
        "plugin.path",
        "plugin.discovery",
        "group.id",
        "config.storage.topic",
        "config.storage.replication.factor",
        "offset.storage.topic",
        "offset.storage.replication.factor",
        "offset.storage.partitions",
        "status.storage.topic",
        "status.storage.replication.factor",
        "status.storage.partitions",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "rebalance.timeout.ms",
        "task.shutdown.graceful.timeout.ms",
        "connector.client.config.override.policy",
        "topic.creation.enable",
        "access.control.allow.origin",
        "access.control.allow.methods",
        "admin.listeners",
        "response.http.headers.config",
        "config.providers",
        "metric.reporters",
        "auto.include.jmx.reporter",
        "exactly.once.source.support",
        "scheduled.rebalance.max.delay.ms",
        "connect.protocol",
        "worker.sync.timeout.ms",
        "worker.unsync.backoff.ms",
        "inter.worker.key.generation.algorithm",
        "inter.worker.signature.algorithm",
        "inter.worker.verification.algorithms",
        "client.dns.lookup",
    }
)
_IGNORED_PREFIXES = (
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "producer.",
    "consumer.",
    "admin.",
)
#: Worker-level keys Kafka passes on to the clients.
_CLIENT_KEYS = frozenset(
    {
        "bootstrap.servers",
        "security.protocol",
        "sasl.mechanism",
        "sasl.jaas.config",
        "ssl.truststore.location",
        "ssl.truststore.password",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        "client.id",
        "request.timeout.ms",
        "metadata.max.age.ms",
        "reconnect.backoff.ms",
        "retry.backoff.ms",
    }
)


@dataclass
class WorkerConfig:
    props: dict[str, str]
    distributed: bool
    rest_host: str = ""
    rest_port: int = 8083
    advertised_host: str = ""
    advertised_port: int = 8083
    offset_flush_interval_ms: int = 60000
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.props.get(key, default)

    @property
    def bootstrap(self) -> str:
        return self.props.get("bootstrap.servers", "localhost:9092")

    @property
    def worker_id(self) -> str:
        """``host:port`` of the advertised REST URL, as Kafka's ``worker_id`` in statuses."""
        return f"{self.advertised_host}:{self.advertised_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.advertised_host}:{self.advertised_port}/"

    def converter_configs(self, prefix: str) -> dict[str, str]:
        return {k[len(prefix) :]: v for k, v in self.props.items() if k.startswith(prefix)}

    def client_java(self, role: str) -> dict[str, str]:
        """Java client settings for one kind of client: shared keys, then ``<role>.`` overrides."""
        out = {k: v for k, v in self.props.items() if k in _CLIENT_KEYS}
        out["bootstrap.servers"] = self.bootstrap
        out.update({k[len(role) + 1 :]: v for k, v in self.props.items() if k.startswith(role + ".")})
        return out

    def client_conf(self, role: str) -> dict[str, Any]:
        """librdkafka settings for one kind of client (``producer``, ``consumer`` or ``admin``)."""
        from kcli.cli_errors import ToolError
        from kcli.client import quiet_settings
        from kcli.java_settings import translate

        try:
            conf = translate(self.client_java(role), role).conf  # type: ignore[arg-type]
        except ToolError as exc:
            raise ConfigError(str(exc)) from None
        conf.update(quiet_settings())
        return conf

    def int_setting(self, key: str, default: int) -> int:
        raw = self.props.get(key)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(
                f"Invalid value {raw} for configuration {key}: Not a number of type INT"
            ) from None


def _required(props: dict[str, str], key: str) -> str:
    value = props.get(key)
    if value is None:
        raise ConfigError(f'Missing required configuration "{key}" which has no default value.')
    return value


def _parse_listener(text: str) -> tuple[str, int]:
    """``HTTP://host:port`` (host may be empty: all interfaces) -> (host, port)."""
    item = text.strip()
    scheme, sep, rest = item.partition("://")
    if not sep:
        raise ConfigError(
            f"Invalid value {text} for configuration listeners: listener must be PROTOCOL://host:port"
        )
    if scheme.lower() != "http":
        raise ConfigError(
            f"Listener {item} uses {scheme.upper()}: kcli's Connect REST server serves HTTP only; "
            "it will not run a listener it cannot secure"
        )
    host, colon, port = rest.rpartition(":")
    if not colon:
        raise ConfigError(f"Invalid value {text} for configuration listeners: no port")
    try:
        return host.strip("[]"), int(port.rstrip("/"))
    except ValueError:
        raise ConfigError(f"Invalid value {text} for configuration listeners: bad port {port}") from None


def _refuse_exactly_once_source(support: str) -> None:
    """``exactly.once.source.support`` (distributed workers, KIP-618) takes Kafka's values; any but
    ``disabled`` is refused: source tasks here write outside transactions, and a worker must not
    run at-least-once while its configuration asks for exactly-once."""
    if support.lower() not in ("disabled", "preparing", "enabled"):
        raise ConfigError(
            f"Invalid value {support} for configuration exactly.once.source.support: "
            "String must be one of (case insensitive): disabled, preparing, enabled"
        )
    if support.lower() != "disabled":
        raise ConfigError(
            f"exactly.once.source.support={support.lower()} is not supported: kcli's Connect worker does not "
            "write source records in transactions (KIP-618); use exactly.once.source.support=disabled"
        )


def load(props: dict[str, str], distributed: bool) -> WorkerConfig:
    """Validate worker properties; raises ConfigError with Kafka's message for the first problem."""
    from kcli.connect.converters import converter_class

    for key in ("key.converter", "value.converter"):
        name = _required(props, key)
        if converter_class(name) is None:
            raise ConfigError(
                f"Invalid value {name} for configuration {key}: Class {name} could not be found."
            )
    if distributed:
        for key in ("group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic"):
            _required(props, key)
        _refuse_exactly_once_source(props.get("exactly.once.source.support", "disabled").strip())
    else:
        _required(props, "offset.storage.file.filename")
    security = props.get("security.protocol", "PLAINTEXT").upper()
    if security not in ("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"):
        raise ConfigError(f"Invalid value {security} for configuration security.protocol")
    listeners = [item for item in props.get("listeners", "").split(",") if item.strip()]
    if listeners:
        host, port = _parse_listener(listeners[0])
    else:
        host = props.get("rest.host.name", "") or ""
        port = int(props.get("rest.port", "8083") or 8083)
    config = WorkerConfig(props, distributed, rest_host=host, rest_port=port)
    config.offset_flush_interval_ms = config.int_setting("offset.flush.interval.ms", 60000)
    config.advertised_host = props.get("rest.advertised.host.name") or host or socket.gethostname()
    config.advertised_port = (
        config.int_setting("rest.advertised.port", port) if props.get("rest.advertised.port") else port
    )
    return config
