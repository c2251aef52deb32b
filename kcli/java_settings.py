"""Java client settings -> librdkafka settings: the one table every Java-style key goes through.

Students pass Java-style settings: ``--command-config``/``--producer.config``/``--consumer.config``
files and ``--producer-property``/``--consumer-property`` items, written for the Java clients. The
tools are librdkafka clients, so every key goes through :func:`translate`:

* keys librdkafka spells the same way pass through unchanged (librdkafka validates them itself
  when the client is built, and :func:`kcli.client.build` turns its complaint into one line naming
  the key);
* keys librdkafka spells differently are translated (``sasl.mechanism`` -> ``sasl.mechanisms``...);
* Java-only keys are consumed: serializer class names and timeouts are returned to the tool (the
  console consumer turns ``key.deserializer`` into a formatter setting), others with no librdkafka
  meaning (``metric.reporters``, ``client.dns.lookup``...) are dropped, and the tool says so once on
  stderr, as Java's clients warn about supplied settings they do not use;
* values Java accepts and librdkafka refuses are adjusted, with a note saying how
  (``max.poll.interval.ms`` below ``session.timeout.ms``).

Used by the tools (through :mod:`kcli.client`), Connect, the REST Proxy, the registry's Kafka
store and the Streams runner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kcli.cli_errors import ToolError

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


def int_setting(key: str, value: str) -> int:
    """A Java INT setting's value; a ToolError in Java's words when it is not a number."""
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
        memory = int_setting("buffer.memory", java_only["buffer.memory"])
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
        poll = int_setting("max.poll.interval.ms", str(conf["max.poll.interval.ms"]))
        session = int_setting("session.timeout.ms", str(conf.get("session.timeout.ms", 45000)))
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
