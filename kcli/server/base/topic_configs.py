"""Topic-level configs: their names, types, and which broker setting supplies each default.

DescribeConfigs reports every topic config with its value and source (topic override, broker
setting or built-in default), CreateTopics/AlterConfigs validate names and values, and the storage
layer gets a LogConfig from the merged result. One table keeps those three views consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcli.server.base.config import BrokerConfig
from kcli.server.base.replication_quota import (
    FOLLOWER_REPLICAS,
    LEADER_REPLICAS,
    QuotaConfigError,
    validate_throttled_replicas,
)

THROTTLED_REPLICAS = (LEADER_REPLICAS, FOLLOWER_REPLICAS)  # KIP-73, enforced by the replication quotas


@dataclass(frozen=True)
class TopicConfigDef:
    name: str
    kind: str  # "int", "long", "bool", "string", "list", "double", "class"
    broker_key: str | None  # the broker setting that supplies the default, if any
    default: str
    choices: tuple[str, ...] = ()
    sensitive: bool = False


def _d(name: str, kind: str, broker_key: str | None, default: str, *choices: str) -> TopicConfigDef:
    return TopicConfigDef(name, kind, broker_key, default, tuple(choices))


TOPIC_CONFIGS: dict[str, TopicConfigDef] = {
    d.name: d
    for d in [
        _d("cleanup.policy", "list", "log.cleanup.policy", "delete", "delete", "compact"),
        _d(
            "compression.type",
            "string",
            "compression.type",
            "producer",
            "uncompressed",
            "zstd",
            "lz4",
            "snappy",
            "gzip",
            "producer",
        ),
        _d("delete.retention.ms", "long", "log.cleaner.delete.retention.ms", "86400000"),
        _d("file.delete.delay.ms", "long", "log.segment.delete.delay.ms", "60000"),
        _d("flush.messages", "long", "log.flush.interval.messages", "9223372036854775807"),
        _d("flush.ms", "long", "log.flush.interval.ms", "9223372036854775807"),
        _d("follower.replication.throttled.replicas", "list", None, ""),
        _d("index.interval.bytes", "int", "log.index.interval.bytes", "4096"),
        _d("leader.replication.throttled.replicas", "list", None, ""),
        _d("max.compaction.lag.ms", "long", "log.cleaner.max.compaction.lag.ms", "9223372036854775807"),
        _d("max.message.bytes", "int", "message.max.bytes", "1048588"),
        _d(
            "message.timestamp.type",
            "string",
            "log.message.timestamp.type",
            "CreateTime",
            "CreateTime",
            "LogAppendTime",
        ),
        _d("min.cleanable.dirty.ratio", "double", "log.cleaner.min.cleanable.ratio", "0.5"),
        _d("min.compaction.lag.ms", "long", "log.cleaner.min.compaction.lag.ms", "0"),
        _d("min.insync.replicas", "int", "min.insync.replicas", "1"),
        _d("preallocate", "bool", "log.preallocate", "false"),
        _d("retention.bytes", "long", "log.retention.bytes", "-1"),
        _d("retention.ms", "long", "log.retention.ms", "604800000"),
        _d("segment.bytes", "int", "log.segment.bytes", "1073741824"),
        _d("segment.index.bytes", "int", "log.index.size.max.bytes", "10485760"),
        _d("segment.jitter.ms", "long", "log.roll.jitter.ms", "0"),
        _d("segment.ms", "long", "log.roll.ms", "604800000"),
        _d("unclean.leader.election.enable", "bool", "unclean.leader.election.enable", "false"),
        _d("message.downconversion.enable", "bool", "log.message.downconversion.enable", "true"),
    ]
}


class InvalidConfigError(ValueError):
    """A topic config name or value Kafka would refuse (INVALID_CONFIG)."""


def validate_topic_config(name: str, value: str | None) -> None:
    definition = TOPIC_CONFIGS.get(name)
    if definition is None:
        raise InvalidConfigError(f"Unknown topic config name: {name}")
    if value is None:
        return
    if name in THROTTLED_REPLICAS:
        try:
            validate_throttled_replicas(name, value)
        except QuotaConfigError as exc:
            raise InvalidConfigError(str(exc)) from None
    if definition.kind in ("int", "long"):
        try:
            int(value)
        except ValueError:
            raise InvalidConfigError(
                f"Invalid value {value} for configuration {name}: Not a number of type "
                f"{definition.kind.upper()}"
            ) from None
    elif definition.kind == "double":
        try:
            float(value)
        except ValueError:
            raise InvalidConfigError(
                f"Invalid value {value} for configuration {name}: Not a number of type DOUBLE"
            ) from None
    elif definition.kind == "bool" and value.lower() not in ("true", "false"):
        raise InvalidConfigError(
            f"Invalid value {value} for configuration {name}: Expected value to be either true or false"
        )
    if definition.choices:
        items = [v.strip() for v in value.split(",")] if definition.kind == "list" else [value]
        for item in items:
            if item not in definition.choices:
                raise InvalidConfigError(
                    f"Invalid value {value} for configuration {name}: String must be one of: "
                    + ", ".join(definition.choices)
                )


def broker_default(definition: TopicConfigDef, config: BrokerConfig) -> tuple[str, bool]:
    """(value, from_broker_setting) for a topic config that the topic does not override."""
    derived = {
        "retention.ms": str(config.log_retention_ms),
        "segment.ms": str(config.log_roll_ms),
        "retention.bytes": str(config.log_retention_bytes),
        "segment.bytes": str(config.log_segment_bytes),
        "max.message.bytes": str(config.message_max_bytes),
        "cleanup.policy": config.log_cleanup_policy,
        "message.timestamp.type": config.log_message_timestamp_type,
        "index.interval.bytes": str(config.log_index_interval_bytes),
        "min.insync.replicas": str(config.min_insync_replicas),
        "delete.retention.ms": str(config.log_cleaner_delete_retention_ms),
    }
    if definition.broker_key and definition.broker_key in config.raw:
        return derived.get(definition.name, config.raw[definition.broker_key]), True
    return derived.get(definition.name, definition.default), False
