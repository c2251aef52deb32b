"""The registry's own security settings: HTTP authentication and HTTPS.

Until a setting is honoured, the registry refuses to start on it with one line naming the key,
before it listens: a registry that was asked for authentication or TLS must never serve in the
clear instead. (Its Kafka client's ``kafkastore.security.*``/``ssl.*``/``sasl.*`` settings are
honoured: they pass to the Kafka client, see ``config.kafka_client_settings``.)
"""

from __future__ import annotations

from collections.abc import Mapping

#: Exact keys of Confluent's registry security, with what they ask for.
_EXACT = {
    "authentication.method": "HTTP authentication",
    "authentication.roles": "HTTP authentication",
    "authentication.realm": "HTTP authentication",
    "authentication.skip.paths": "HTTP authentication",
    "confluent.schema.registry.auth.mechanism": "HTTP authentication",
    "confluent.schema.registry.authorizer.class": "an authorizer",
    "schema.registry.resource.extension.class": "a security extension",
    "resource.extension.class": "a security extension",
    "rest.servlet.initializor.classes": "a security extension",
}
_HARMLESS = {"authentication.method": {"none"}}
_PREFIXES = {"ssl.": "HTTPS", "confluent.schema.registry.auth.": "HTTP authentication"}


def unhonoured_setting(props: Mapping[str, str]) -> str | None:
    """The first registry security setting this registry cannot honour yet, as one line."""
    for key in sorted(props):
        value = props[key].strip()
        if value.lower() in _HARMLESS.get(key, ()):
            continue
        what = _EXACT.get(key) or next((w for p, w in _PREFIXES.items() if key.startswith(p)), None)
        if key in ("listeners", "inter.instance.protocol", "schema.registry.inter.instance.protocol"):
            what = "HTTPS" if "https" in value.lower() else None
        if what is not None:
            return (
                f"{key} asks for {what}, which this schema registry does not support yet: it refuses "
                f"to start rather than serve less secured than configured (remove {key})"
            )
    return None
