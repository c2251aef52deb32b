"""Broker settings: Kafka's key names and defaults, read from a ``server.properties`` file.

Students start the broker with the very files Apache Kafka and Confluent Platform ship (ZooKeeper
mode with ``broker.id``/``zookeeper.connect``, or KRaft mode with ``node.id``/``process.roles``), so
every key keeps Kafka's name and default. Keys this broker does not use are kept, and reported
once at start-up, because a typo in a key name should be visible rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcli.properties import load_properties, parse_assignment
from kcli.server.base.consumer_group_config import KEYS as CONSUMER_GROUP_KEYS
from kcli.server.base.consumer_group_config import ConsumerGroupConfig, SettingError
from kcli.server.base.replica_selector import UnknownSelector, check_selector_class

MIB = 1024 * 1024
INT_MAX = 2**31 - 1


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Listener:
    """One ``NAME://host:port`` entry of ``listeners``; host '' means every interface."""

    name: str
    host: str
    port: int

    @property
    def bind_host(self) -> str:
        return self.host or "0.0.0.0"


def parse_listeners(value: str, key: str = "listeners") -> list[Listener]:
    result = []
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        name, sep, rest = item.partition("://")
        if not sep:
            raise ConfigError(f"Invalid {key} entry '{item}': expected NAME://host:port")
        host, colon, port = rest.rpartition(":")
        if not colon or not port.isdigit():
            raise ConfigError(f"Invalid {key} entry '{item}': expected NAME://host:port")
        host = host.strip("[]")
        result.append(Listener(name.upper(), host, int(port)))
    return result


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


def parse_protocol_map(value: str) -> dict[str, str]:
    """``listener.security.protocol.map``: ``NAME:PROTOCOL,...`` with Kafka's checks."""
    key = "listener.security.protocol.map"
    result: dict[str, str] = {}
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        if not sep or not name.strip() or not protocol.strip():
            raise ConfigError(
                f"Invalid value {value} for configuration {key}: Map entry should be of form <key>:<value>"
            )
        protocol = protocol.strip().upper()
        if protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"Invalid value {value} for configuration {key}: unknown security protocol {protocol} "
                f"(one of {', '.join(SECURITY_PROTOCOLS)})"
            )
        result[name.strip().upper()] = protocol
    return result


def listener_protocols(
    s: dict[str, str], listeners: list[Listener], advertised: list[Listener]
) -> dict[str, str]:
    """The security protocol of every listener name in use, resolved as Kafka's KafkaConfig does.

    An explicit ``listener.security.protocol.map`` names every listener; without one, a listener
    named after a protocol uses it and (KRaft) the controller listeners are PLAINTEXT. A name with
    no protocol is Kafka's "No security protocol defined for listener" error.
    """
    explicit = bool(s.get("listener.security.protocol.map"))
    mapping = (
        parse_protocol_map(s["listener.security.protocol.map"])
        if explicit
        else {p: p for p in SECURITY_PROTOCOLS}
    )
    if not explicit:
        for name in s.get("controller.listener.names", "").split(","):
            if name.strip():
                mapping.setdefault(name.strip().upper(), "PLAINTEXT")
    names = [ls.name for ls in listeners + advertised]
    inter = s.get("inter.broker.listener.name", "").strip().upper()
    if inter:
        if s.get("security.inter.broker.protocol"):
            raise ConfigError(
                "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set."
            )
        names.append(inter)
    result: dict[str, str] = {}
    for name in names:
        if name not in mapping:
            raise ConfigError(
                f"No security protocol defined for listener {name} "
                f"(add it to listener.security.protocol.map, e.g. {name}:PLAINTEXT)"
            )
        result[name] = mapping[name]
    return result


def _int(settings: dict[str, str], key: str, default: int) -> int:
    raw = settings.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"Invalid value {raw} for configuration {key}: Not a number of type INT") from None


def _bool(settings: dict[str, str], key: str, default: bool) -> bool:
    raw = settings.get(key)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(
            f"Invalid value {raw} for configuration {key}: Expected value to be either true or false"
        )
    return value == "true"


def _at_least(settings: dict[str, str], key: str, default: int, minimum: int) -> int:
    value = _int(settings, key, default)
    if value < minimum:
        raise ConfigError(f"Invalid value {value} for configuration {key}: Value must be at least {minimum}")
    return value


def _per_ip_overrides(settings: dict[str, str]) -> dict[str, int]:
    """``max.connections.per.ip.overrides`` (``host:count,...``), hosts resolved to addresses as
    Kafka resolves them; ``max.connections.per.ip=0`` is only valid with overrides (Kafka's rule)."""
    import socket

    key = "max.connections.per.ip.overrides"
    result: dict[str, int] = {}
    for item in (v.strip() for v in settings.get(key, "").split(",")):
        if not item:
            continue
        host, sep, count = item.rpartition(":")
        if not sep or not count.strip().isdigit():
            raise ConfigError(f"Invalid value {settings[key]} for configuration {key}: expected host:count")
        try:
            address = socket.gethostbyname(host.strip().strip("[]"))
        except OSError:
            raise ConfigError(
                f"Invalid value {settings[key]} for configuration {key}: unknown host {host}"
            ) from None
        result[address] = int(count)
    if settings.get("max.connections.per.ip", "").strip() == "0" and not result:
        raise ConfigError(
            "Invalid value 0 for configuration max.connections.per.ip: max.connections.per.ip can be set "
            "to zero only if max.connections.per.ip.overrides property is set."
        )
    return result


# Keys whose meaning this broker implements (the rest are accepted and reported once).
KNOWN_KEYS = {
    "broker.id",
    "node.id",
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
    "log.dirs",
    "log.dir",
    "num.partitions",
    "default.replication.factor",
    "auto.create.topics.enable",
    "delete.topic.enable",
    "log.retention.hours",
    "log.retention.minutes",
    "log.retention.ms",
    "log.retention.bytes",
    "log.segment.bytes",
    "log.roll.hours",
    "log.roll.ms",
    "log.retention.check.interval.ms",
    "log.index.interval.bytes",
    "log.cleanup.policy",
    "log.message.timestamp.type",
    "message.max.bytes",
    "offsets.topic.replication.factor",
    "offsets.topic.num.partitions",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "offsets.commit.required.acks",
    "metadata.log.max.record.bytes.between.snapshots",
    "offsets.commit.timeout.ms",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "transaction.state.log.num.partitions",
    "transaction.state.log.segment.bytes",
    "transaction.state.log.load.buffer.size",
    "transaction.max.timeout.ms",
    "transactional.id.expiration.ms",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "transaction.partition.verification.enable",
    "request.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "socket.request.max.bytes",
    "connections.max.idle.ms",
    "fetch.max.bytes",
    "queued.max.request.bytes",
    "max.connections",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "socket.listen.backlog.size",
    "zookeeper.connect",
    "zookeeper.connection.timeout.ms",
    "min.insync.replicas",
    "unclean.leader.election.enable",
    "replica.lag.time.max.ms",
    "replication.quota.window.num",
    "replication.quota.window.size.seconds",
    "broker.rack",
    "replica.selector.class",
    "cluster.id",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
    # Tuning knobs of the JVM broker that have no equivalent here but are in every shipped file.
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "confluent.support.metrics.enable",
    "confluent.support.customer.id",
    "confluent.metrics.reporter.bootstrap.servers",
    "confluent.metrics.reporter.topic.replicas",
    "confluent.license.topic.replication.factor",
    "confluent.balancer.topic.replication.factor",
    "confluent.metadata.topic.replication.factor",
    "confluent.security.event.logger.exporter.kafka.topic.replicas",
    "metric.reporters",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "controller.quorum.election.timeout.ms",
    "zookeeper.session.timeout.ms",
    *CONSUMER_GROUP_KEYS,  # group.coordinator.rebalance.protocols, group.consumer.* (KIP-848)
}


@dataclass
class BrokerConfig:
    """Typed broker settings with Kafka's defaults; ``raw`` keeps every key as given."""

    node_id: int = 0
    process_roles: tuple[str, ...] = ()
    controller_quorum_voters: str = ""
    controller_listener_names: tuple[str, ...] = ()
    listeners: list[Listener] = field(default_factory=lambda: [Listener("PLAINTEXT", "", 9092)])
    advertised_listeners: list[Listener] = field(default_factory=list)
    log_dirs: list[Path] = field(default_factory=lambda: [Path("/tmp/kafka-logs")])
    num_partitions: int = 1
    default_replication_factor: int = 1
    auto_create_topics_enable: bool = True
    delete_topic_enable: bool = True
    log_retention_ms: int = 168 * 3600 * 1000
    log_retention_bytes: int = -1
    log_segment_bytes: int = 1024 * MIB
    log_roll_ms: int = 168 * 3600 * 1000
    log_retention_check_interval_ms: int = 300_000
    log_index_interval_bytes: int = 4096
    log_cleanup_policy: str = "delete"
    log_message_timestamp_type: str = "CreateTime"
    log_cleaner_delete_retention_ms: int = 86_400_000
    message_max_bytes: int = 1048588
    offsets_topic_replication_factor: int = 3
    offsets_topic_num_partitions: int = 50
    offsets_retention_minutes: int = 10080
    offsets_retention_check_interval_ms: int = 600_000
    offsets_commit_required_acks: int = -1
    offsets_commit_timeout_ms: int = 5000
    group_initial_rebalance_delay_ms: int = 3000
    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1_800_000
    socket_request_max_bytes: int = 100 * MIB
    connections_max_idle_ms: int = 600_000
    fetch_max_bytes: int = 55 * MIB
    queued_max_request_bytes: int = -1
    max_connections: int = INT_MAX
    max_connections_per_ip: int = INT_MAX
    max_connections_per_ip_overrides: dict[str, int] = field(default_factory=dict)
    socket_listen_backlog_size: int = 50
    #: listener name -> its own connection limit (``listener.name.<listener>.max.connections``)
    listener_max_connections: dict[str, int] = field(default_factory=dict)
    zookeeper_connect: str = ""
    min_insync_replicas: int = 1
    broker_rack: str | None = None
    #: KIP-392's replica.selector.class (kcli.server.base.replica_selector); None: the leader serves
    replica_selector_class: str | None = None
    #: listener name -> security protocol, for every listener name the settings use
    listener_security: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    #: the resolved security (kcli.server.security.setup.BrokerSecurity), set by kafka-server-start
    security: Any = None

    @property
    def kraft(self) -> bool:
        return bool(self.process_roles)

    @property
    def client_listeners(self) -> list[Listener]:
        """The listeners clients connect to (controller listeners serve the quorum, not clients)."""
        return [ls for ls in self.listeners if ls.name not in self.controller_listener_names]

    def advertised(self) -> list[Listener]:
        """What Metadata tells clients: advertised.listeners, else listeners with a usable host."""
        chosen = self.advertised_listeners or self.client_listeners
        return [Listener(ls.name, ls.host or "localhost", ls.port) for ls in chosen]

    def advertised_endpoint(self, listener: str | None = None) -> Listener:
        """Where clients of ``listener`` reach this broker: its advertised entry, else the listener's
        own address, else the first advertised listener."""
        advertised = self.advertised()
        for ls in advertised:
            if ls.name == listener:
                return ls
        for ls in self.client_listeners:
            if ls.name == listener:
                return Listener(ls.name, ls.host or "localhost", ls.port)
        return advertised[0]

    def unknown_keys(self) -> list[str]:
        return sorted(k for k in self.raw if k not in KNOWN_KEYS)

    @classmethod
    def from_properties(cls, settings: dict[str, str]) -> BrokerConfig:
        s = {k.strip(): v.strip() for k, v in settings.items()}
        node_id = _int(s, "node.id", _int(s, "broker.id", 0))
        if node_id < 0:
            node_id = 0
        retention_ms = _int(s, "log.retention.hours", 168) * 3600 * 1000
        if "log.retention.minutes" in s:
            retention_ms = _int(s, "log.retention.minutes", 0) * 60 * 1000
        if "log.retention.ms" in s:
            retention_ms = _int(s, "log.retention.ms", retention_ms)
        roll_ms = _int(s, "log.roll.hours", 168) * 3600 * 1000
        roll_ms = _int(s, "log.roll.ms", roll_ms)
        dirs = s.get("log.dirs") or s.get("log.dir") or "/tmp/kafka-logs"
        listeners = (
            parse_listeners(s["listeners"]) if s.get("listeners") else [Listener("PLAINTEXT", "", 9092)]
        )
        advertised = (
            parse_listeners(s["advertised.listeners"], "advertised.listeners")
            if s.get("advertised.listeners")
            else []
        )
        protocols = listener_protocols(s, listeners, advertised)
        _refuse_unhonoured_security(s, protocols)
        roles = tuple(r.strip() for r in s.get("process.roles", "").split(",") if r.strip())
        for role in roles:
            if role not in ("broker", "controller"):
                raise ConfigError(
                    f"Invalid value {s['process.roles']} for configuration process.roles: unknown role {role}"
                )
        policy = s.get("log.cleanup.policy", "delete")
        ts_type = s.get("log.message.timestamp.type", "CreateTime")
        if ts_type not in ("CreateTime", "LogAppendTime"):
            raise ConfigError(f"Invalid value {ts_type} for configuration log.message.timestamp.type")
        config = cls(
            node_id=node_id,
            process_roles=roles,
            controller_quorum_voters=s.get("controller.quorum.voters", ""),
            controller_listener_names=tuple(
                n.strip().upper() for n in s.get("controller.listener.names", "").split(",") if n.strip()
            ),
            listeners=listeners,
            advertised_listeners=advertised,
            log_dirs=[Path(d.strip()).expanduser() for d in dirs.split(",") if d.strip()],
            num_partitions=_int(s, "num.partitions", 1),
            default_replication_factor=_int(s, "default.replication.factor", 1),
            auto_create_topics_enable=_bool(s, "auto.create.topics.enable", True),
            delete_topic_enable=_bool(s, "delete.topic.enable", True),
            log_retention_ms=retention_ms,
            log_retention_bytes=_int(s, "log.retention.bytes", -1),
            log_segment_bytes=_int(s, "log.segment.bytes", 1024 * MIB),
            log_roll_ms=roll_ms,
            log_retention_check_interval_ms=_int(s, "log.retention.check.interval.ms", 300_000),
            log_index_interval_bytes=_int(s, "log.index.interval.bytes", 4096),
            log_cleanup_policy=policy,
            log_message_timestamp_type=ts_type,
            log_cleaner_delete_retention_ms=_int(s, "log.cleaner.delete.retention.ms", 86_400_000),
            message_max_bytes=_int(s, "message.max.bytes", 1048588),
            offsets_topic_replication_factor=_int(s, "offsets.topic.replication.factor", 3),
            offsets_topic_num_partitions=_int(s, "offsets.topic.num.partitions", 50),
            offsets_retention_minutes=_int(s, "offsets.retention.minutes", 10080),
            offsets_retention_check_interval_ms=_int(s, "offsets.retention.check.interval.ms", 600_000),
            offsets_commit_required_acks=_int(s, "offsets.commit.required.acks", -1),
            offsets_commit_timeout_ms=_int(s, "offsets.commit.timeout.ms", 5000),
            group_initial_rebalance_delay_ms=_int(s, "group.initial.rebalance.delay.ms", 3000),
            group_min_session_timeout_ms=_int(s, "group.min.session.timeout.ms", 6000),
            group_max_session_timeout_ms=_int(s, "group.max.session.timeout.ms", 1_800_000),
            socket_request_max_bytes=_int(s, "socket.request.max.bytes", 100 * MIB),
            connections_max_idle_ms=_int(s, "connections.max.idle.ms", 600_000),
            fetch_max_bytes=_at_least(s, "fetch.max.bytes", 55 * MIB, 1024),
            queued_max_request_bytes=_int(s, "queued.max.request.bytes", -1),
            max_connections=_at_least(s, "max.connections", INT_MAX, 0),
            max_connections_per_ip=_at_least(s, "max.connections.per.ip", INT_MAX, 0),
            max_connections_per_ip_overrides=_per_ip_overrides(s),
            socket_listen_backlog_size=_at_least(s, "socket.listen.backlog.size", 50, 1),
            listener_max_connections={
                ls.name: _at_least(s, f"listener.name.{ls.name.lower()}.max.connections", INT_MAX, 0)
                for ls in listeners
                if s.get(f"listener.name.{ls.name.lower()}.max.connections")
            },
            zookeeper_connect=s.get("zookeeper.connect", ""),
            min_insync_replicas=_int(s, "min.insync.replicas", 1),
            broker_rack=s.get("broker.rack") or None,
            replica_selector_class=s.get("replica.selector.class") or None,
            listener_security=protocols,
            raw=dict(s),
        )
        try:
            ConsumerGroupConfig.from_settings(s)
        except SettingError as exc:
            raise ConfigError(str(exc)) from None
        try:
            check_selector_class(config.replica_selector_class)
        except UnknownSelector as exc:
            raise ConfigError(str(exc)) from None
        if config.num_partitions < 1:
            raise ConfigError("Invalid value for configuration num.partitions: must be at least 1")
        if config.offsets_commit_required_acks not in (-1, 0, 1):
            # Kafka accepts -1..offsets.topic.replication.factor, but any value other than -1, 0
            # or 1 makes every commit fail with INVALID_REQUIRED_ACKS: refuse it up front.
            raise ConfigError(
                f"Invalid value {config.offsets_commit_required_acks} for configuration "
                "offsets.commit.required.acks: must be -1 (all in-sync replicas), 0 or 1"
            )
        return config

    @classmethod
    def load(cls, path: str | Path, overrides: list[str] = ()) -> BrokerConfig:  # type: ignore[assignment]
        """Read ``path`` and apply ``--override key=value`` settings on top, as kafka-server-start does."""
        try:
            settings = load_properties(path)
        except OSError as exc:
            raise ConfigError(f"Cannot read configuration file {path}: {exc.strerror or exc}") from None
        for item in overrides:
            try:
                key, value = parse_assignment(item)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            settings[key] = value
        return cls.from_properties(settings)

    def replace(self, **changes: object) -> BrokerConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _refuse_unhonoured_security(s: dict[str, str], protocols: dict[str, str]) -> None:
    """Stop the start on any security setting not honoured yet (never run less secured than asked)."""
    from kcli.server.base.unhonoured import SERVED_PROTOCOLS, unhonoured_setting

    inter_protocol = s.get("security.inter.broker.protocol", "").strip().upper()
    if inter_protocol and inter_protocol not in SERVED_PROTOCOLS:
        if inter_protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"Invalid value {inter_protocol} for configuration security.inter.broker.protocol: "
                f"unknown security protocol (one of {', '.join(SECURITY_PROTOCOLS)})"
            )
        raise ConfigError(
            f"security.inter.broker.protocol={inter_protocol} is not supported by this broker yet "
            "(only PLAINTEXT): it refuses to start rather than run unsecured"
        )
    for name, protocol in protocols.items():
        if protocol not in SERVED_PROTOCOLS:
            raise ConfigError(
                f"{_listener_key(s, name)}: listener {name} uses security protocol {protocol}"
                f"{'' if name == protocol else ' (listener.security.protocol.map)'}, which this broker "
                "does not support yet (only PLAINTEXT): it refuses to start rather than serve it unsecured"
            )
    controllers = [n.strip().upper() for n in s.get("controller.listener.names", "").split(",") if n.strip()]
    for name in controllers:
        if protocols.get(name, "PLAINTEXT") != "PLAINTEXT":
            raise ConfigError(
                f"listener.security.protocol.map: the controller listener {name} uses {protocols[name]}, "
                "but kcli's controller link is PLAINTEXT only: it refuses to start rather than serve it "
                f"unsecured ({name}:PLAINTEXT, on a private address)"
            )
    problem = unhonoured_setting(s)
    if problem is not None:
        raise ConfigError(problem)


def _listener_key(s: dict[str, str], name: str) -> str:
    """The setting that brought listener ``name`` into use, for error messages."""
    for key in ("listeners", "advertised.listeners"):
        if any(ls.name == name for ls in parse_listeners(s.get(key, ""), key)):
            return key
    return "inter.broker.listener.name"
