"""``kafka-rest.properties``: the settings kcli's REST Proxy reads, with Confluent's names.

``listeners`` (default ``http://0.0.0.0:8082``), ``bootstrap.servers`` (``PLAINTEXT://`` prefixes
allowed), ``schema.registry.url``, ``id``, ``consumer.request.timeout.ms`` (how long a v2 records
fetch waits, 1000), ``consumer.instance.timeout.ms`` (idle v2 consumers are closed, 300000), and
``client.*``/``producer.*``/``consumer.*``/``admin.*`` settings passed to those Kafka clients. A
listener that is not ``http://`` is refused at start: kcli does not serve HTTPS here, and never
serves plain HTTP where HTTPS was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_PORT = 8082


class ConfigError(Exception):
    """A setting kcli's REST Proxy cannot honour (one line, exit 1)."""


@dataclass
class RestConfig:
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    bootstrap: str = "localhost:9092"
    schema_registry_url: str | None = None
    server_id: str = ""
    request_timeout_ms: int = 1000
    instance_timeout_ms: int = 300_000
    client: dict[str, str] = field(default_factory=dict)
    producer: dict[str, str] = field(default_factory=dict)
    consumer: dict[str, str] = field(default_factory=dict)
    admin: dict[str, str] = field(default_factory=dict)


def from_properties(props: dict[str, str]) -> RestConfig:
    cfg = RestConfig()
    listener = (props.get("listeners") or "").split(",")[0].strip()
    if listener:
        parts = urlsplit(listener if "://" in listener else f"http://{listener}")
        if parts.scheme.lower() != "http":
            raise ConfigError(f"listeners={listener}: kcli's REST Proxy serves http:// only")
        cfg.host = parts.hostname or "0.0.0.0"
        cfg.port = parts.port or DEFAULT_PORT
    elif "port" in props:
        cfg.port = int(props["port"])
    servers = props.get("bootstrap.servers")
    if servers:
        cfg.bootstrap = ",".join(s.strip().split("://", 1)[-1] for s in servers.split(",") if s.strip())
    cfg.schema_registry_url = props.get("schema.registry.url") or None
    cfg.server_id = props.get("id", "")
    try:
        cfg.request_timeout_ms = int(props.get("consumer.request.timeout.ms", cfg.request_timeout_ms))
        cfg.instance_timeout_ms = int(props.get("consumer.instance.timeout.ms", cfg.instance_timeout_ms))
    except ValueError as exc:
        raise ConfigError(f"invalid number in kafka-rest.properties: {exc}") from None
    for key, value in props.items():
        for prefix, target in (
            ("client.", cfg.client),
            ("producer.", cfg.producer),
            ("consumer.", cfg.consumer),
            ("admin.", cfg.admin),
        ):
            if key.startswith(prefix) and key not in (
                "consumer.request.timeout.ms",
                "consumer.instance.timeout.ms",
            ):
                target[key[len(prefix) :]] = value
    return cfg
