"""Java client settings -> librdkafka settings, and client construction for the tools.

Students pass Java-style settings: ``--command-config``/``--producer.config``/``--consumer.config``
files and ``--producer-property``/``--consumer-property`` items, written for the Java clients. The
tools are librdkafka clients, so every key goes through ONE table here:

* keys librdkafka spells the same way pass through unchanged (librdkafka validates them itself
  when the client is built, and :func:`build` turns its complaint into one line naming the key);
* keys librdkafka spells differently are translated (``sasl.mechanism`` -> ``sasl.mechanisms``...);
* Java-only keys are consumed: serializer class names are returned to the tool (the console
  consumer turns ``key.deserializer`` into a formatter setting), others with no librdkafka meaning
  (``buffer.memory``-style memory tuning the JVM needs) are dropped.

Nothing here imports confluent_kafka at module level, so that option parsing stays fast.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kcli.properties import load_properties
from kcli.tools.cli import ToolError

Role = Literal["producer", "consumer", "admin"]

#: Java keys consumed by the tool rather than passed to librdkafka.
JAVA_ONLY_KEYS: frozenset[str] = frozenset(
    {
        "key.serializer",
        "value.serializer",
        "key.deserializer",
        "value.deserializer",
        "partitioner.class",
        "interceptor.classes",
        "metric.reporters",
        "metrics.num.samples",
        "metrics.sample.window.ms",
        "metrics.recording.level",
        "buffer.memory",
        "max.block.ms",
        "delivery.timeout.ms.legacy",
        "default.api.timeout.ms",
        "retries.backoff.max.ms",
        "exclude.internal.topics",
        "sasl.login.class",
        "sasl.client.callback.handler.class",
        "ssl.engine.factory.class",
        "security.providers",
        "client.dns.lookup",
        "auto.include.jmx.reporter",
        "enable.metrics.push",
        "schema.registry.url",
        "basic.auth.credentials.source",
        "basic.auth.user.info",
        "max.poll.records",
        "metadata.max.idle.ms",
        "internal.leave.group.on.close",
        "auto.register.schemas",
        "use.latest.version",
        "specific.avro.reader",
    }
)

#: Java key -> librdkafka key, where the spelling differs.
RENAMED_KEYS: dict[str, str] = {
    "sasl.mechanism": "sasl.mechanisms",
    "send.buffer.bytes": "socket.send.buffer.bytes",
    "receive.buffer.bytes": "socket.receive.buffer.bytes",
    "reconnect.backoff.ms": "reconnect.backoff.ms",
    "reconnect.backoff.max.ms": "reconnect.backoff.max.ms",
    "connections.max.idle.ms": "connections.max.idle.ms",
    "max.request.size": "message.max.bytes",
    "ssl.endpoint.identification.algorithm": "ssl.endpoint.identification.algorithm",
    "ssl.truststore.location": "ssl.ca.location",
    "ssl.keystore.password": "ssl.keystore.password",
    "ssl.key.password": "ssl.key.password",
    "fetch.max.wait.ms": "fetch.wait.max.ms",
    "max.partition.fetch.bytes": "max.partition.fetch.bytes",
    "check.crcs": "check.crcs",
}

#: Keys whose value needs converting, not just renaming.
_ACKS_VALUES = {"all": "all", "-1": "all", "0": "0", "1": "1"}
#: Java assignor classes -> librdkafka's partition.assignment.strategy names.
_ASSIGNORS = {
    "org.apache.kafka.clients.consumer.RangeAssignor": "range",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor": "roundrobin",
    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": "cooperative-sticky",
    "org.apache.kafka.clients.consumer.StickyAssignor": "cooperative-sticky",
}


@dataclass
class ClientConfig:
    """A librdkafka configuration plus the Java-only settings the tool has to act on itself."""

    conf: dict[str, Any]
    java_only: dict[str, str] = field(default_factory=dict)


def load_config_file(path: str) -> dict[str, str]:
    """A ``.properties`` file; an unreadable file is a :class:`ToolError` naming it."""
    try:
        return load_properties(path)
    except FileNotFoundError:
        raise ToolError(f"{path} (No such file or directory)") from None
    except OSError as exc:
        raise ToolError(f"{path} ({exc.strerror or exc})") from None


def _jaas_to_librdkafka(value: str) -> dict[str, str]:
    """``sasl.jaas.config=... PlainLoginModule required username="u" password="p";`` -> user/password."""
    fields = dict(re.findall(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"', value))
    out: dict[str, str] = {}
    if "username" in fields:
        out["sasl.username"] = fields["username"]
    if "password" in fields:
        out["sasl.password"] = fields["password"]
    if "OAuthBearerLoginModule" in value:
        out["sasl.oauthbearer.config"] = " ".join(f"{k}={v}" for k, v in fields.items())
    return out


def translate(java: dict[str, str], role: Role) -> ClientConfig:
    """Translate Java client settings to librdkafka's; Java-only keys are returned separately."""
    conf: dict[str, Any] = {}
    java_only: dict[str, str] = {}
    for key, value in java.items():
        key = key.strip()
        if key in JAVA_ONLY_KEYS:
            java_only[key] = value
        elif key == "sasl.jaas.config":
            conf.update(_jaas_to_librdkafka(value))
        elif key == "partition.assignment.strategy":
            names = [_ASSIGNORS.get(c.strip(), c.strip()) for c in value.split(",") if c.strip()]
            conf[key] = ",".join(dict.fromkeys(names))
        elif key == "auto.offset.reset" and value.strip() == "none":
            conf[key] = "error"  # Java's "none" (fail without a committed offset) is librdkafka's "error"
        elif key == "acks":
            conf["acks"] = _ACKS_VALUES.get(value.strip().lower(), value.strip())
        elif key in ("ssl.truststore.type", "ssl.keystore.type"):
            if value.strip().upper() == "JKS":
                raise ToolError(
                    f"{key}=JKS is not supported by librdkafka: convert the store to PEM "
                    "(ssl.ca.location) or PKCS12 (ssl.keystore.location)"
                )
        elif key == "ssl.truststore.password":
            continue  # PEM CA files have no password
        elif key == "isolation.level" and role != "consumer":
            continue
        elif key == "compression.type" and value == "none":
            conf["compression.type"] = "none"
        else:
            conf[RENAMED_KEYS.get(key, key)] = value
    return ClientConfig(conf, java_only)


def client_config(
    bootstrap: str | None,
    config_file: str | None,
    properties: Iterable[str] | dict[str, str] | None,
    role: Role,
) -> dict[str, Any]:
    """The librdkafka configuration for a tool: file, then ``k=v`` properties, then bootstrap.

    Later sources win, as in Kafka's tools (``--producer-property`` over ``--producer.config``).
    Java-only keys are dropped; use :func:`client_settings` to see them.
    """
    return client_settings(bootstrap, config_file, properties, role).conf


def client_settings(
    bootstrap: str | None,
    config_file: str | None,
    properties: Iterable[str] | dict[str, str] | None,
    role: Role,
) -> ClientConfig:
    """Like :func:`client_config` but also returns the Java-only settings for the tool to use."""
    from kcli.tools.cli import parse_key_values

    java: dict[str, str] = {}
    if config_file:
        java.update(load_config_file(config_file))
    if isinstance(properties, dict):
        java.update(properties)
    else:
        java.update(parse_key_values(list(properties or ()), f"{role} property"))
    if bootstrap:
        java["bootstrap.servers"] = bootstrap
    if not java.get("bootstrap.servers"):
        raise ToolError("bootstrap.servers is not set: use --bootstrap-server HOST:PORT")
    result = translate(java, role)
    result.conf.update(quiet_settings())
    return result


# ---------------------------------------------------------------------------------------------
# Building clients: quiet logging, one-line errors, fast failure when nothing listens.


class ErrorRecorder:
    """librdkafka ``error_cb``/``logger`` target: keeps the last error instead of printing it.

    librdkafka logs every failed connection attempt; Kafka's tools print nothing until a timeout.
    The tools print one line naming the address instead (see :func:`unreachable_message`).
    """

    def __init__(self) -> None:
        self.errors: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, err: Any) -> None:
        with self.lock:
            self.errors.append(err)
            del self.errors[:-20]

    def log(self, *_args: Any) -> None:
        """``logger`` hook: drop librdkafka log lines."""

    @property
    def last(self) -> Any | None:
        with self.lock:
            return self.errors[-1] if self.errors else None


class _SilentLogger:
    """A ``logging.Logger`` look-alike for librdkafka's ``logger`` setting that discards everything."""

    def log(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return self.log


def quiet_settings() -> dict[str, Any]:
    """Settings that stop librdkafka from printing its own warnings to stderr."""
    return {"log_level": 0, "logger": _SilentLogger()}


def split_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    """``h1:9092,PLAINTEXT://h2:9093,[::1]:9092`` -> [(host, port)]."""
    out: list[tuple[str, int]] = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        if "://" in item:
            item = item.split("://", 1)[1]
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "9092"
        host = host.strip("[]") or "localhost"
        try:
            out.append((host, int(port)))
        except ValueError:
            raise ToolError(f"Invalid url in bootstrap.servers: {item}") from None
    return out


def unreachable_message(bootstrap: str) -> str:
    return (
        f"Could not connect to any Kafka broker at {bootstrap}: "
        "connection refused or timed out. Is the broker running (kafka-server-start / kcli local start)?"
    )


def check_reachable(bootstrap: str, timeout_s: float = 5.0) -> None:
    """Fail fast, with one line naming the address, when no bootstrap server accepts TCP.

    This is only a TCP connect to the same address the client will use, so it works for every
    security protocol; it turns librdkafka's endless retry loop into an immediate answer.
    """
    addresses = split_bootstrap(bootstrap)
    if not addresses:
        raise ToolError("bootstrap.servers is empty: use --bootstrap-server HOST:PORT")
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return
        except OSError:
            continue
    raise ToolError(unreachable_message(bootstrap))


def build(kind: Literal["producer", "consumer", "admin"], conf: dict[str, Any]) -> Any:
    """Construct a confluent-kafka client, turning configuration errors into one-line ToolErrors."""
    from confluent_kafka import KafkaException

    try:
        if kind == "producer":
            from confluent_kafka import Producer

            return Producer(conf)
        if kind == "consumer":
            from confluent_kafka import Consumer

            return Consumer(conf)
        from confluent_kafka.admin import AdminClient

        return AdminClient(conf)
    except (KafkaException, ValueError, TypeError) as exc:
        raise ToolError(config_error_message(exc)) from None


def config_error_message(exc: BaseException) -> str:
    """librdkafka's configuration complaint as one line naming the offending key."""
    text = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
    match = re.search(r'No such configuration property: "([^"]+)"', text)
    if match:
        return f"Unknown configuration property '{match.group(1)}' (not a Kafka client setting kcli knows)"
    match = re.search(r'Invalid value "([^"]*)" for configuration property "([^"]+)"', text)
    if match:
        return f"Invalid value {match.group(1)} for configuration {match.group(2)}"
    return f"Invalid client configuration: {text}"


def kafka_error_text(exc: BaseException) -> str:
    """The human part of a KafkaException/KafkaError (``str()`` of those is a repr-like blob)."""
    err = exc.args[0] if exc.args else exc
    if hasattr(err, "str"):
        return str(err.str())
    return str(exc)


def wait(future: Any, timeout_s: float) -> Any:
    """Result of an admin future within ``timeout_s``; a timeout is a one-line ToolError."""
    import concurrent.futures

    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise ToolError(f"Timed out after {timeout_s:g} s waiting for the broker") from None
