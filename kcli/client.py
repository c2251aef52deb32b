"""Java client settings -> librdkafka settings, and client construction for the tools.

Students pass Java-style settings: ``--command-config``/``--producer.config``/``--consumer.config``
files and ``--producer-property``/``--consumer-property`` items, written for the Java clients. The
tools are librdkafka clients, so every key goes through ONE table here:

* keys librdkafka spells the same way pass through unchanged (librdkafka validates them itself
  when the client is built, and :func:`build` turns its complaint into one line naming the key);
* keys librdkafka spells differently are translated (``sasl.mechanism`` -> ``sasl.mechanisms``...);
* Java-only keys are consumed: serializer class names and timeouts are returned to the tool (the
  console consumer turns ``key.deserializer`` into a formatter setting), others with no librdkafka
  meaning (``metric.reporters``, ``client.dns.lookup``...) are dropped, and the tool says so once on
  stderr, as Java's clients warn about supplied settings they do not use;
* values Java accepts and librdkafka refuses are adjusted, with a note saying how
  (``max.poll.interval.ms`` below ``session.timeout.ms``).

Before building its client every tool calls :func:`prepare`: it prints those notes, waits for a
broker to accept connections within Kafka's own timeout (``default.api.timeout.ms``, or
``max.block.ms`` for producers) so that a lab script may start the broker and a tool in one breath,
and, when the configuration asks for TLS or SASL, checks that the listener speaks it.

Nothing here imports confluent_kafka at module level, so that option parsing stays fast.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kcli.cli_errors import ToolError
from kcli.properties import load_properties

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
        "sasl.login.callback.handler.class",
        "sasl.login.refresh.buffer.seconds",
        "sasl.login.refresh.min.period.seconds",
        "sasl.login.refresh.window.factor",
        "sasl.login.refresh.window.jitter",
        "sasl.login.connect.timeout.ms",
        "sasl.login.read.timeout.ms",
        "sasl.login.retry.backoff.ms",
        "sasl.login.retry.backoff.max.ms",
        "sasl.oauthbearer.scope.claim.name",
        "sasl.oauthbearer.sub.claim.name",
        "sasl.oauthbearer.jwks.endpoint.url",
        "sasl.oauthbearer.expected.audience",
        "sasl.oauthbearer.expected.issuer",
    }
)

#: Java-only keys a tool acts on itself (the rest of :data:`JAVA_ONLY_KEYS` is ignored, and said so).
TOOL_KEYS: frozenset[str] = frozenset(
    {
        "key.serializer",
        "value.serializer",
        "key.deserializer",
        "value.deserializer",
        "max.block.ms",
        "default.api.timeout.ms",
        "schema.registry.url",
        "basic.auth.credentials.source",
        "basic.auth.user.info",
        "auto.register.schemas",
        "use.latest.version",
        "specific.avro.reader",
        "sasl.login.callback.handler.class",
    }
)

#: Java's login callback handler for OAuth 2 client credentials (KIP-768); librdkafka's equivalent
#: is its built-in ``sasl.oauthbearer.method=oidc``.
OIDC_HANDLERS = frozenset(
    {
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
    }
)

_OIDC_KEYS = ("sasl.oauthbearer.client.id", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.scope")

#: The Java clients' defaults for the timeouts the tools wait for a broker within.
DEFAULT_API_TIMEOUT_MS = 60000
DEFAULT_MAX_BLOCK_MS = 60000

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
    #: One line each: settings ignored or adjusted, for the tool to print once (see :func:`prepare`).
    notes: list[str] = field(default_factory=list)


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
        # KIP-768's client credentials, for librdkafka's built-in OIDC token retrieval
        for java_name, rd_name in (
            ("clientId", "sasl.oauthbearer.client.id"),
            ("clientSecret", "sasl.oauthbearer.client.secret"),
            ("scope", "sasl.oauthbearer.scope"),
        ):
            if java_name in fields:
                out[rd_name] = fields[java_name]
    return out


def _int(key: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ToolError(f"Invalid value {value} for configuration {key}: Not a number of type INT") from None


def translate(java: dict[str, str], role: Role) -> ClientConfig:
    """Translate Java client settings to librdkafka's; Java-only keys are returned separately."""
    conf: dict[str, Any] = {}
    java_only: dict[str, str] = {}
    oidc: dict[str, str] = {}
    for key, value in java.items():
        key = key.strip()
        if key in JAVA_ONLY_KEYS:
            java_only[key] = value
        elif key == "sasl.jaas.config":
            login = _jaas_to_librdkafka(value)
            oidc = {k: login.pop(k) for k in list(login) if k in _OIDC_KEYS}
            conf.update(login)
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
    notes: list[str] = []
    used = set(TOOL_KEYS)
    if role == "producer" and "buffer.memory" in java_only:
        # Java's total send buffer is librdkafka's queue size
        memory = _int("buffer.memory", java_only["buffer.memory"])
        conf.setdefault("queue.buffering.max.kbytes", str(max(1, memory // 1024)))
        used.add("buffer.memory")
    handler = java_only.get("sasl.login.callback.handler.class", "").strip()
    if handler in OIDC_HANDLERS and conf.get("sasl.oauthbearer.token.endpoint.url"):
        conf["sasl.oauthbearer.method"] = "oidc"
        conf.pop("sasl.oauthbearer.config", None)
        conf.update(oidc)
    elif handler:
        notes.append(
            f"WARN sasl.login.callback.handler.class={handler} is a Java class: ignored "
            "(librdkafka logs in with sasl.username/sasl.password, or OIDC with sasl.oauthbearer.token.endpoint.url)"
        )
    if role == "consumer" and "max.poll.interval.ms" in conf:
        poll = _int("max.poll.interval.ms", str(conf["max.poll.interval.ms"]))
        session = _int("session.timeout.ms", str(conf.get("session.timeout.ms", 45000)))
        if poll < session:
            # Java accepts it (a slow poll then ends the membership); librdkafka refuses to start
            conf["max.poll.interval.ms"] = str(session)
            notes.append(
                f"WARN max.poll.interval.ms={poll} is below session.timeout.ms={session}, which librdkafka "
                f"does not accept: using max.poll.interval.ms={session}"
            )
    ignored = sorted(k for k in java_only if k not in used)
    if ignored:
        notes.append(
            f"WARN These configurations '[{', '.join(ignored)}]' were supplied but are ignored: "
            "the librdkafka client kcli's tools are built on has no such setting."
        )
    return ClientConfig(conf, java_only, notes)


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
    from kcli.properties import parse_key_values

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


#: Java's ``reconnect.backoff.ms`` and ``reconnect.backoff.max.ms``: the retry pace while waiting.
RECONNECT_BACKOFF_S = 0.05
RECONNECT_BACKOFF_MAX_S = 1.0


def broker_timeout(settings: ClientConfig, role: Role) -> tuple[int, str]:
    """(milliseconds, setting name): how long a Java client of ``role`` waits for a broker.

    A producer blocks in ``send()`` for its first metadata up to ``max.block.ms``; consumers and the
    admin client give each call ``default.api.timeout.ms``. Both default to 60 s.
    """
    key, default = (
        ("max.block.ms", DEFAULT_MAX_BLOCK_MS)
        if role == "producer"
        else (
            "default.api.timeout.ms",
            DEFAULT_API_TIMEOUT_MS,
        )
    )
    value = settings.java_only.get(key)
    return (_int(key, value) if value is not None else default), key


def check_reachable(bootstrap: str, timeout_s: float = 5.0) -> tuple[str, int]:
    """One pass over the bootstrap servers: the first that accepts TCP, or a one-line ToolError.

    For the ``confluent`` command, which answers at once as Confluent's CLI does; Kafka's tools,
    Connect and the Streams apps wait for a starting broker with :func:`wait_for_broker` instead.
    """
    addresses = split_bootstrap(bootstrap)
    if not addresses:
        raise ToolError("bootstrap.servers is empty: use --bootstrap-server HOST:PORT")
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return host, port
        except OSError:
            continue
    raise ToolError(unreachable_message(bootstrap))


def wait_for_broker(
    bootstrap: str, timeout_s: float = DEFAULT_API_TIMEOUT_MS / 1000, setting: str = "default.api.timeout.ms"
) -> tuple[str, int]:
    """Wait, within ``timeout_s``, until a bootstrap server accepts TCP; returns its (host, port).

    Java's clients keep retrying an unreachable bootstrap server until their timeout, so a lab
    script may run ``kafka-server-start -daemon ...; kafka-topics --create ...`` and the tool simply
    waits for the broker; kcli does the same, saying so once on stderr, with Java's backoff (50 ms
    doubling to 1 s). When the time is up the failure is one line naming the address. An address
    that does not resolve fails at once, as Java's ``ClientUtils`` does. This is only a TCP connect
    to the address the client will use, so it works for every security protocol.
    """
    import sys
    import time

    addresses = split_bootstrap(bootstrap)
    if not addresses:
        raise ToolError("bootstrap.servers is empty: use --bootstrap-server HOST:PORT")
    resolvable = []
    for host, port in addresses:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            resolvable.append((host, port))
        except (OSError, UnicodeError):
            continue
    if not resolvable:
        raise ToolError(f"No resolvable bootstrap urls given in bootstrap.servers: {bootstrap}")
    deadline = time.monotonic() + timeout_s
    backoff = RECONNECT_BACKOFF_S
    said = False
    while True:
        for host, port in resolvable:
            remaining = deadline - time.monotonic()
            try:
                with socket.create_connection((host, port), timeout=max(0.1, min(remaining, 10.0))):
                    return host, port
            except OSError:
                continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ToolError(unreachable_message(bootstrap))
        if not said:
            said = True
            print(
                f"WARN Connection to {bootstrap} could not be established. Broker may not be available: "
                f"retrying for up to {round(timeout_s * 1000)} ms ({setting}).",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(min(backoff, remaining))  # the reconnect backoff, as Java's NetworkClient
        backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_S)


def prepare(settings: ClientConfig, role: Role) -> None:
    """What every tool does before it builds its client (see the module docstring)."""
    import sys

    for note in settings.notes:
        print(note, file=sys.stderr)
    timeout_ms, setting = broker_timeout(settings, role)
    bootstrap = str(settings.conf.get("bootstrap.servers", ""))
    host, port = wait_for_broker(bootstrap, timeout_ms / 1000, setting)
    protocol = str(settings.conf.get("security.protocol", "PLAINTEXT")).upper()
    if protocol != "PLAINTEXT":
        from kcli.protocol.listener_probe import protocol_mismatch

        mismatch = protocol_mismatch(
            host, port, protocol, str(settings.conf.get("sasl.mechanisms", "GSSAPI"))
        )
        if mismatch:
            raise ToolError(mismatch)


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
