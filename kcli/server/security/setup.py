"""The broker's security, resolved from its settings before anything listens.

Per listener: its TLS context (SSL, SASL_SSL), its SASL mechanisms with their JAAS login modules
(PLAIN users, the inter-broker credentials), re-authentication lifetimes and the TLS principal
mapping; for the broker: the authorizer, the failed-login delay and how to reach other brokers.
Every setting is looked up as Kafka does: ``listener.name.<listener>.<key>`` first, then ``<key>``;
a JAAS login module for a mechanism comes from
``listener.name.<listener>.<mechanism>.sasl.jaas.config``, else from the JAAS file named in
``KAFKA_OPTS`` (``-Djava.security.auth.login.config=FILE``), section ``<listener>.KafkaServer`` or
``KafkaServer``. Anything unusable is a :class:`~kcli.server.base.config.ConfigError` naming the key
and the fix, so ``kafka-server-start`` stops with one line.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field

from kcli.server.base.config import BrokerConfig, ConfigError
from kcli.server.base.unhonoured import SUPPORTED_MECHANISMS
from kcli.server.security.authorizer import AUTHORIZER_CLASSES, Authorizer, parse_super_users
from kcli.server.security.jaas import (
    PLAIN_MODULE,
    SCRAM_MODULE,
    JaasError,
    LoginModule,
    login_config_file,
    parse_jaas_config,
    parse_jaas_file,
)
from kcli.server.security.principal import SslPrincipalMapper
from kcli.server.security.sasl_plain import plain_users

log = logging.getLogger("kafka.server.KafkaConfig")

_MODULES = {"PLAIN": PLAIN_MODULE, "SCRAM-SHA-256": SCRAM_MODULE, "SCRAM-SHA-512": SCRAM_MODULE}


@dataclass
class ListenerSecurity:
    name: str
    protocol: str
    ssl_context: ssl.SSLContext | None = None
    mechanisms: tuple[str, ...] = ()
    plain_users: dict[str, str] = field(default_factory=dict)
    login_modules: dict[str, LoginModule] = field(default_factory=dict)
    reauth_ms: dict[str, int] = field(default_factory=dict)
    principal_mapper: SslPrincipalMapper = field(default_factory=SslPrincipalMapper)

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")


@dataclass
class InterBrokerClient:
    """How this broker connects to other brokers' inter-broker listener (replica fetchers)."""

    listener: str
    protocol: str
    mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ssl_context: ssl.SSLContext | None = None


@dataclass
class BrokerSecurity:
    listeners: dict[str, ListenerSecurity]
    authorizer: Authorizer | None = None
    failed_authentication_delay_ms: int = 100
    inter_broker: InterBrokerClient | None = None


class _Lookup:
    def __init__(self, raw: dict[str, str], listener: str):
        self.raw = raw
        self.prefix = f"listener.name.{listener.lower()}."

    def __call__(self, key: str) -> str | None:
        value = self.raw.get(self.prefix + key)
        if value is None:
            value = self.raw.get(key)
        return value

    def key_of(self, key: str) -> str:
        return self.prefix + key if self.prefix + key in self.raw else key


def _jaas_file() -> dict[str, list[LoginModule]] | None:
    path = login_config_file(os.environ.get("KAFKA_OPTS", ""))
    if path is None:
        return None
    try:
        return parse_jaas_file(path)
    except JaasError as exc:
        raise ConfigError(f"KAFKA_OPTS -Djava.security.auth.login.config={path}: {exc}") from None


def _login_module(
    raw: dict[str, str], listener: str, mechanism: str, jaas_file: dict[str, list[LoginModule]] | None
) -> LoginModule | None:
    key = f"listener.name.{listener.lower()}.{mechanism.lower()}.sasl.jaas.config"
    value = raw.get(key) or raw.get(f"{mechanism.lower()}.sasl.jaas.config")
    wanted = _MODULES[mechanism]
    if value is not None:
        try:
            modules = parse_jaas_config(value)
        except JaasError as exc:
            raise ConfigError(f"{key}: cannot read the JAAS line: {exc}") from None
        if len(modules) != 1:
            raise ConfigError(
                f"{key}: JAAS config property contains {len(modules)} login modules, should be 1 module"
            )
        if modules[0].class_name != wanted:
            raise ConfigError(f"{key}: {mechanism} needs {wanted}, not {modules[0].class_name}")
        return modules[0]
    if jaas_file is not None:
        for section in (f"{listener.lower()}.KafkaServer", "KafkaServer"):
            for module in jaas_file.get(section, []):
                if module.class_name == wanted:
                    return module
    return None


def _int(value: str | None, key: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(
            f"Invalid value {value} for configuration {key}: Not a number of type LONG"
        ) from None


def _listener(
    config: BrokerConfig, name: str, jaas_file: dict[str, list[LoginModule]] | None
) -> ListenerSecurity:
    from kcli.server.security.tls import server_context

    raw = config.raw
    get = _Lookup(raw, name)
    protocol = config.listener_security.get(name, "PLAINTEXT")
    result = ListenerSecurity(name, protocol)
    try:
        result.principal_mapper = SslPrincipalMapper(get("ssl.principal.mapping.rules"))
    except ValueError as exc:
        raise ConfigError(f"{get.key_of('ssl.principal.mapping.rules')}: {exc}") from None
    if protocol in ("SSL", "SASL_SSL"):
        result.ssl_context = server_context(get)
    if not result.sasl:
        return result
    key = get.key_of("sasl.enabled.mechanisms")
    value = get("sasl.enabled.mechanisms")
    if value is None:
        raise ConfigError(
            f"sasl.enabled.mechanisms is not set for listener {name}: Kafka's default is GSSAPI (Kerberos), "
            "which kcli does not support; set sasl.enabled.mechanisms=PLAIN (or SCRAM-SHA-256, SCRAM-SHA-512)"
        )
    mechanisms = tuple(m.strip().upper() for m in value.split(",") if m.strip())
    if not mechanisms:
        raise ConfigError(f"{key} is empty: a {protocol} listener needs at least one SASL mechanism")
    for mechanism in mechanisms:
        if mechanism not in SUPPORTED_MECHANISMS:
            raise ConfigError(
                f"{key}: SASL mechanism {mechanism} is not supported (kcli supports {', '.join(SUPPORTED_MECHANISMS)})"
            )
    result.mechanisms = mechanisms
    for mechanism in mechanisms:
        module = _login_module(raw, name, mechanism, jaas_file)
        if module is not None:
            result.login_modules[mechanism] = module
        if mechanism == "PLAIN":
            if module is None:
                raise ConfigError(
                    f"listener {name} enables PLAIN but has no JAAS login module for it: set "
                    f"listener.name.{name.lower()}.plain.sasl.jaas.config="
                    f'{PLAIN_MODULE} required user_admin="admin-secret"; (or a KafkaServer section in the '
                    "JAAS file given by KAFKA_OPTS=-Djava.security.auth.login.config=FILE)"
                )
            result.plain_users = plain_users(module.options)
        prefix = f"listener.name.{name.lower()}."
        result.reauth_ms[mechanism] = _int(
            raw.get(f"{prefix}{mechanism.lower()}.connections.max.reauth.ms")
            or get("connections.max.reauth.ms"),
            "connections.max.reauth.ms",
            0,
        )
    return result


def _authorizer(raw: dict[str, str]) -> Authorizer | None:
    name = raw.get("authorizer.class.name", "").strip()
    if not name:
        for key in ("super.users", "allow.everyone.if.no.acl.found"):
            if raw.get(key, "").strip():
                raise ConfigError(
                    f"{key} is set but authorizer.class.name is not: without an authorizer every client may do "
                    "everything; set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                )
        return None
    if name not in AUTHORIZER_CLASSES:
        raise ConfigError(
            f"authorizer.class.name={name} is not supported: kcli implements "
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer and kafka.security.authorizer.AclAuthorizer"
        )
    try:
        super_users = parse_super_users(raw.get("super.users", ""))
    except ValueError as exc:
        raise ConfigError(
            f"super.users: {exc} (principals are separated by ';', e.g. User:admin;User:ops)"
        ) from None
    allow = raw.get("allow.everyone.if.no.acl.found", "false").strip().lower()
    if allow not in ("true", "false"):
        raise ConfigError(
            f"Invalid value {allow} for configuration allow.everyone.if.no.acl.found: Expected value to be either true or false"
        )
    return Authorizer(super_users, allow == "true")


def _inter_broker(
    config: BrokerConfig, listeners: dict[str, ListenerSecurity], jaas_file
) -> InterBrokerClient:
    from kcli.server.security.tls import client_context

    raw = config.raw
    name = raw.get("inter.broker.listener.name", "").strip().upper()
    if not name:
        name = raw.get("security.inter.broker.protocol", "PLAINTEXT").strip().upper() or "PLAINTEXT"
    protocol = config.listener_security.get(name, name)
    client = InterBrokerClient(name, protocol)
    get = _Lookup(raw, name)
    if protocol in ("SSL", "SASL_SSL"):
        client.ssl_context = client_context(get)
    if protocol.startswith("SASL_"):
        mechanism = raw.get("sasl.mechanism.inter.broker.protocol", "GSSAPI").strip().upper()
        if mechanism not in SUPPORTED_MECHANISMS:
            raise ConfigError(
                f"sasl.mechanism.inter.broker.protocol={mechanism} is not supported: set it to one of "
                f"{', '.join(SUPPORTED_MECHANISMS)} (Kafka's default GSSAPI is Kerberos)"
            )
        enabled = listeners.get(name)
        if enabled is not None and mechanism not in enabled.mechanisms:
            raise ConfigError(
                f"sasl.mechanism.inter.broker.protocol={mechanism} is not in sasl.enabled.mechanisms of listener {name}"
            )
        module = _login_module(raw, name, mechanism, jaas_file)
        if module is None or "username" not in module.options or "password" not in module.options:
            raise ConfigError(
                f"the inter-broker listener {name} uses SASL/{mechanism} but its JAAS login module has no "
                f'username="..." password="..." for this broker to log in with'
            )
        client.mechanism = mechanism
        client.username = module.options["username"]
        client.password = module.options["password"]
    return client


def resolve(config: BrokerConfig, cluster: bool = False) -> BrokerSecurity:
    """Everything the socket server and the authorizer need; raises ConfigError naming the key."""
    jaas_file = _jaas_file()
    listeners = {ls.name: _listener(config, ls.name, jaas_file) for ls in config.client_listeners}
    security = BrokerSecurity(
        listeners,
        _authorizer(config.raw),
        _int(
            config.raw.get("connection.failed.authentication.delay.ms"),
            "connection.failed.authentication.delay.ms",
            100,
        ),
    )
    if cluster:
        security.inter_broker = _inter_broker(config, listeners, jaas_file)
    return security
