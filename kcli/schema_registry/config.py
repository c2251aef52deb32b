"""``schema-registry.properties``: the settings kcli's registry reads, with Confluent's names."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_LISTENER = "http://0.0.0.0:8081"


@dataclass
class RegistryConfig:
    host: str = "0.0.0.0"
    port: int = 8081
    bootstrap: str = "localhost:9092"
    topic: str = "_schemas"
    timeout_s: float = 60.0  # kafkastore.init.timeout.ms: how long start-up waits for Kafka
    write_timeout_s: float = 10.0  # kafkastore.timeout.ms: how long one write may take
    replication_factor: int = 3
    compatibility: str | None = None
    kafka: dict[str, str] = field(default_factory=dict)


def from_properties(props: dict[str, str]) -> RegistryConfig:
    """Map Confluent's keys; ``kafkastore.bootstrap.servers`` may carry ``PLAINTEXT://`` prefixes."""
    cfg = RegistryConfig()
    listener = (props.get("listeners") or "").split(",")[0].strip()
    if listener:
        parts = urlsplit(listener if "://" in listener else f"http://{listener}")
        cfg.host = parts.hostname or "0.0.0.0"
        cfg.port = parts.port or 8081
    elif "port" in props:
        cfg.port = int(props["port"])
    servers = props.get("kafkastore.bootstrap.servers")  # (old kafkastore.connection.url is ZooKeeper)
    if servers:
        cfg.bootstrap = ",".join(s.strip().split("://", 1)[-1] for s in servers.split(",") if s.strip())
    cfg.topic = props.get("kafkastore.topic", cfg.topic)
    if "kafkastore.timeout.ms" in props:
        cfg.write_timeout_s = int(props["kafkastore.timeout.ms"]) / 1000
    if "kafkastore.init.timeout.ms" in props:
        cfg.timeout_s = int(props["kafkastore.init.timeout.ms"]) / 1000
    if "kafkastore.topic.replication.factor" in props:
        cfg.replication_factor = int(props["kafkastore.topic.replication.factor"])
    cfg.compatibility = props.get("schema.compatibility.level") or props.get("avro.compatibility.level")
    cfg.kafka = kafka_client_settings(props)
    return cfg


def kafka_client_settings(props: dict[str, str]) -> dict[str, str]:
    """The store's Kafka client security, from ``kafkastore.``-prefixed Java client keys, as
    Confluent's registry passes them on (``kafkastore.sasl.jaas.config``, ``kafkastore.ssl.*``...)."""
    from kcli.java_settings import translate

    java = {
        key.removeprefix("kafkastore."): value
        for key, value in props.items()
        if key.startswith(("kafkastore.security.", "kafkastore.sasl.", "kafkastore.ssl."))
    }
    return translate(java, "admin").conf
