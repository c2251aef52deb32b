"""Security settings this broker does not honour yet: it refuses to start on them.

A broker that is asked for SASL, TLS or ACLs and starts anyway, serving everyone in cleartext, is
the one outcome a user must never meet: it looks secured and is not. So every such setting stops
the start with one line naming the key, before anything listens. When a setting becomes honoured
it leaves this table (and its own module validates it instead).
"""

from __future__ import annotations

from collections.abc import Mapping

#: Security protocols whose listeners this broker serves.
SERVED_PROTOCOLS = frozenset({"PLAINTEXT"})

#: Keys (exact) that ask for security this broker does not provide; value -> why it matters.
_EXACT = {
    "authorizer.class.name": "an authorizer (ACLs)",
    "super.users": "ACL super users",
    "allow.everyone.if.no.acl.found": "ACLs",
    "principal.builder.class": "a custom principal builder",
    "connections.max.reauth.ms": "SASL re-authentication",
}
#: Key prefixes that configure TLS, SASL or per-listener security.
_PREFIXES = {
    "ssl.": "TLS",
    "sasl.": "SASL",
    "listener.name.": "per-listener security",
    "delegation.token.": "delegation tokens",
    "zookeeper.ssl.": "TLS to ZooKeeper",
}
#: Keys that are harmless at their default value (Kafka's shipped files often carry them).
_HARMLESS_VALUES = {
    "zookeeper.set.acl": {"false"},
    "zookeeper.ssl.client.enable": {"false"},
    "authorizer.class.name": {""},
}


def unhonoured_setting(settings: Mapping[str, str]) -> str | None:
    """The first security setting in ``settings`` that this broker cannot honour, as one line."""
    for key in sorted(settings):
        value = settings[key].strip()
        if value.lower() in _HARMLESS_VALUES.get(key, ()):
            continue
        what = _EXACT.get(key)
        if what is None and key == "zookeeper.set.acl":
            what = "ZooKeeper ACLs"
        if what is None:
            what = next((w for p, w in _PREFIXES.items() if key.startswith(p)), None)
        if what is not None:
            return (
                f"{key} is set, but this broker does not support {what} yet: it refuses to start "
                f"rather than run less secured than configured (remove {key} to run unsecured)"
            )
    return None
