"""Security settings this broker does not honour: it refuses to start on them.

A broker that is asked for security it does not provide and starts anyway looks secured and is
not. So every ``ssl.*``, ``sasl.*``, ``listener.name.*`` and other security key is either
honoured (read by :mod:`kcli.server.security.setup`), harmless (tuning of a part not in use, or a
value that changes nothing), or refused here with one line naming the key, before anything listens.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Security protocols whose listeners this broker serves.
SERVED_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
SUPPORTED_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

#: Keys read by kcli's security set-up (besides ``listener.name.*`` forms of them).
HONOURED = {
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.endpoint.identification.algorithm",
    "ssl.principal.mapping.rules",
    "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.jaas.config",
    "authorizer.class.name",
    "super.users",
    "allow.everyone.if.no.acl.found",
    "connections.max.reauth.ms",
    "connection.failed.authentication.delay.ms",
    "principal.builder.class",
}
#: Keys that change nothing kcli does (JVM tuning of TLS, or settings of mechanisms not enabled).
HARMLESS_PREFIXES = ("sasl.kerberos.", "sasl.login.refresh.", "sasl.oauthbearer.")
HARMLESS = {
    "ssl.protocol",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.allow.dn.changes",
    "ssl.allow.san.changes",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
}
#: Per-listener keys (after ``listener.name.<listener>.``) honoured besides the ssl./sasl. ones.
LISTENER_HONOURED = {"max.connections", "connections.max.reauth.ms"}
_MECHANISM_SUFFIXES = ("sasl.jaas.config", "connections.max.reauth.ms")

#: What a refused key asks for, by key or prefix.
_REFUSED = {
    "ssl.cipher.suites": "a choice of cipher suites (kcli uses OpenSSL's defaults)",
    "ssl.engine.factory.class": "a custom SSL engine",
    "ssl.provider": "a JCA security provider",
    "sasl.server.callback.handler.class": "a custom SASL callback handler",
    "sasl.client.callback.handler.class": "a custom SASL callback handler",
    "sasl.login.class": "a custom SASL login",
    "sasl.login.callback.handler.class": "a custom SASL login callback handler",
    "delegation.token.": "delegation tokens",
    "zookeeper.ssl.": "TLS to ZooKeeper",
    "zookeeper.set.acl": "ZooKeeper ACLs",
    "security.providers": "JCA security providers",
}
_HARMLESS_VALUES = {
    "zookeeper.set.acl": {"false"},
    "zookeeper.ssl.client.enable": {"false"},
    "principal.builder.class": {
        "",
        "org.apache.kafka.common.security.authenticator.defaultkafkaprincipalbuilder",
    },
}


def _refusal(key: str, what: str) -> str:
    return (
        f"{key} asks for {what}, which this broker does not support: it refuses to start rather than "
        f"run less secured than configured (remove {key})"
    )


def _classify(key: str, value: str, full_key: str) -> str | None:
    """One line when ``key`` (maybe the part after ``listener.name.<l>.``) cannot be honoured."""
    if value.strip().lower() in _HARMLESS_VALUES.get(key, ()):
        return None
    if key == "principal.builder.class":
        return _refusal(full_key, "a custom principal builder")
    if key in HONOURED or key in HARMLESS or key.startswith(HARMLESS_PREFIXES):
        return None
    for pattern, what in _REFUSED.items():
        if key == pattern or (pattern.endswith(".") and key.startswith(pattern)):
            return _refusal(full_key, what)
    if key.startswith(("ssl.", "sasl.")):
        return _refusal(full_key, "a TLS/SASL setting kcli does not know")
    return None


def unhonoured_setting(settings: Mapping[str, str]) -> str | None:
    """The first security setting in ``settings`` that this broker cannot honour, as one line."""
    for key in sorted(settings):
        value = settings[key]
        if key.startswith("listener.name."):
            rest = key[len("listener.name.") :].partition(".")[2]
            if not rest:
                return _refusal(key, "a per-listener setting without a key")
            if rest in LISTENER_HONOURED:
                continue
            _, _, suffix = rest.partition(".")
            if suffix in _MECHANISM_SUFFIXES:
                continue
            if suffix == "sasl.server.callback.handler.class":
                return _refusal(key, "a custom SASL callback handler")
            if rest.startswith(("ssl.", "sasl.")):
                problem = _classify(rest, value, key)
                if problem is not None:
                    return problem
                continue
            return _refusal(key, "a per-listener setting kcli does not know")
        problem = _classify(key, value, key)
        if problem is not None:
            return problem
    return None
