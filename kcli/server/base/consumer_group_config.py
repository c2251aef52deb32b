"""The broker settings of KIP-848 consumer groups, with Kafka 4.0's names, defaults and checks.

``group.coordinator.rebalance.protocols`` says which group protocols the broker serves (Kafka
4.0: ``classic,consumer``); without ``consumer`` the broker does not advertise
ConsumerGroupHeartbeat/ConsumerGroupDescribe, as Kafka does. ``share`` and ``streams`` groups are
not served by this broker, so asking for them stops the start with one line rather than running
without them; so does an invalid value, as Kafka's KafkaConfig validation does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

INT_MAX = 2**31 - 1

#: The built-in server-side assignors (``kcli.server.coordinator.assignors.BUILTIN`` implements
#: them); named here, below the coordinator, so the start-up checks do not import it.
ASSIGNOR_NAMES = ("uniform", "range")
#: Kafka's class names, accepted in ``group.consumer.assignors`` as Kafka 3.x required them.
CLASS_NAMES = {
    "org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
    "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range",
}

#: Keys this module reads (the broker reports any other unknown key once at start-up).
KEYS = (
    "group.coordinator.rebalance.protocols",
    "group.consumer.session.timeout.ms",
    "group.consumer.min.session.timeout.ms",
    "group.consumer.max.session.timeout.ms",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.min.heartbeat.interval.ms",
    "group.consumer.max.heartbeat.interval.ms",
    "group.consumer.max.size",
    "group.consumer.assignors",
    "group.consumer.migration.policy",
)
MIGRATION_POLICIES = {
    "bidirectional": (True, True),
    "upgrade": (True, False),
    "downgrade": (False, True),
    "disabled": (False, False),
}


class SettingError(ValueError):
    """A consumer-group setting that cannot be used; the message names the key."""


def _int(settings: Mapping[str, str], key: str, default: int) -> int:
    raw = settings.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"Invalid value {raw} for configuration {key}: Not a number of type INT") from None


def _list(settings: Mapping[str, str], key: str, default: str) -> list[str]:
    raw = settings.get(key)
    raw = default if raw is None or not raw.strip() else raw
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class ConsumerGroupConfig:
    protocols: tuple[str, ...] = ("classic", "consumer")
    session_timeout_ms: int = 45_000
    min_session_timeout_ms: int = 45_000
    max_session_timeout_ms: int = 60_000
    heartbeat_interval_ms: int = 5_000
    min_heartbeat_interval_ms: int = 5_000
    max_heartbeat_interval_ms: int = 15_000
    max_size: int = INT_MAX
    classic_max_size: int = INT_MAX
    assignors: tuple[str, ...] = ("uniform", "range")
    migration_policy: str = "bidirectional"

    @property
    def consumer_protocol_enabled(self) -> bool:
        return "consumer" in self.protocols

    @property
    def upgrade_enabled(self) -> bool:
        return MIGRATION_POLICIES[self.migration_policy][0]

    @property
    def downgrade_enabled(self) -> bool:
        return MIGRATION_POLICIES[self.migration_policy][1]

    @property
    def default_assignor(self) -> str:
        return self.assignors[0]

    @classmethod
    def from_settings(cls, s: Mapping[str, str]) -> ConsumerGroupConfig:
        """Parse and check, as Kafka's GroupCoordinatorConfig does; raises SettingError."""
        protocols = [p.lower() for p in _list(s, "group.coordinator.rebalance.protocols", "classic,consumer")]
        for p in protocols:
            if p not in ("classic", "consumer", "share", "streams"):
                raise SettingError(
                    f"Invalid value {p} for configuration group.coordinator.rebalance.protocols: "
                    "the supported protocols are classic, consumer"
                )
            if p in ("share", "streams"):
                raise SettingError(
                    f"group.coordinator.rebalance.protocols lists {p}, but this broker does not serve "
                    f"{p} groups yet: it refuses to start rather than run without them"
                )
        if "classic" not in protocols:
            raise SettingError(
                "Invalid value for configuration group.coordinator.rebalance.protocols: "
                "Disabling the 'classic' protocol is not supported."
            )
        assignors = []
        for name in _list(s, "group.consumer.assignors", "uniform,range"):
            short = CLASS_NAMES.get(name, name)
            if short not in ASSIGNOR_NAMES:
                raise SettingError(
                    f"Invalid value {name} for configuration group.consumer.assignors: "
                    "the built-in assignors are uniform and range "
                    f"({', '.join(CLASS_NAMES)})"
                )
            if short not in assignors:
                assignors.append(short)
        policy = s.get("group.consumer.migration.policy", "bidirectional").strip().lower() or "bidirectional"
        if policy not in MIGRATION_POLICIES:
            raise SettingError(
                f"Invalid value {policy} for configuration group.consumer.migration.policy: "
                f"String must be one of: {', '.join(MIGRATION_POLICIES)}"
            )
        config = cls(
            protocols=tuple(dict.fromkeys(protocols)),
            session_timeout_ms=_int(s, "group.consumer.session.timeout.ms", 45_000),
            min_session_timeout_ms=_int(s, "group.consumer.min.session.timeout.ms", 45_000),
            max_session_timeout_ms=_int(s, "group.consumer.max.session.timeout.ms", 60_000),
            heartbeat_interval_ms=_int(s, "group.consumer.heartbeat.interval.ms", 5_000),
            min_heartbeat_interval_ms=_int(s, "group.consumer.min.heartbeat.interval.ms", 5_000),
            max_heartbeat_interval_ms=_int(s, "group.consumer.max.heartbeat.interval.ms", 15_000),
            max_size=_int(s, "group.consumer.max.size", INT_MAX),
            assignors=tuple(assignors),
            migration_policy=policy,
        )
        config._check()
        return config

    def _check(self) -> None:
        hb, ses = "group.consumer.heartbeat.interval.ms", "group.consumer.session.timeout.ms"
        rules = [
            (
                self.max_heartbeat_interval_ms >= self.min_heartbeat_interval_ms,
                "group.consumer.max.heartbeat.interval.ms must be greater than or equal to "
                "group.consumer.min.heartbeat.interval.ms",
            ),
            (
                self.heartbeat_interval_ms >= self.min_heartbeat_interval_ms,
                f"{hb} must be greater than or equal to group.consumer.min.heartbeat.interval.ms",
            ),
            (
                self.heartbeat_interval_ms <= self.max_heartbeat_interval_ms,
                f"{hb} must be less than or equal to group.consumer.max.heartbeat.interval.ms",
            ),
            (
                self.max_session_timeout_ms >= self.min_session_timeout_ms,
                "group.consumer.max.session.timeout.ms must be greater than or equal to "
                "group.consumer.min.session.timeout.ms",
            ),
            (
                self.session_timeout_ms >= self.min_session_timeout_ms,
                f"{ses} must be greater than or equal to group.consumer.min.session.timeout.ms",
            ),
            (
                self.session_timeout_ms <= self.max_session_timeout_ms,
                f"{ses} must be less than or equal to group.consumer.max.session.timeout.ms",
            ),
            (self.heartbeat_interval_ms < self.session_timeout_ms, f"{hb} must be less than {ses}"),
            (self.max_size >= 1, "group.consumer.max.size must be at least 1"),
            (self.heartbeat_interval_ms >= 1, f"{hb} must be at least 1"),
        ]
        for ok, message in rules:
            if not ok:
                raise SettingError(message)
