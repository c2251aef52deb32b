"""Per-topic log settings with Kafka's topic-config names and defaults."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

NEVER = 9223372036854775807  # Long.MAX_VALUE, Kafka's "never" for the flush settings

# Kafka topic-config name -> (field, parser)
_INT_CONFIGS = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "max.message.bytes": "max_message_bytes",
    "index.interval.bytes": "index_interval_bytes",
    "delete.retention.ms": "delete_retention_ms",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
    "max.compaction.lag.ms": "max_compaction_lag_ms",
    "file.delete.delay.ms": "file_delete_delay_ms",
    "flush.messages": "flush_messages",
    "flush.ms": "flush_ms",
}
_FLOAT_CONFIGS = {"min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio"}


@dataclass
class LogConfig:
    segment_bytes: int = 1073741824  # segment.bytes
    segment_ms: int = 604800000  # segment.ms
    retention_ms: int = 604800000  # retention.ms (-1 = forever)
    retention_bytes: int = -1  # retention.bytes (-1 = unlimited)
    cleanup_policy: str = "delete"  # cleanup.policy: delete | compact | compact,delete
    max_message_bytes: int = 1048588  # max.message.bytes
    index_interval_bytes: int = 4096  # index.interval.bytes
    message_timestamp_type: str = "CreateTime"  # message.timestamp.type
    delete_retention_ms: int = 86400000  # delete.retention.ms (tombstones in compacted topics)
    min_compaction_lag_ms: int = 0  # min.compaction.lag.ms
    max_compaction_lag_ms: int = 9223372036854775807  # max.compaction.lag.ms
    min_cleanable_dirty_ratio: float = 0.5  # min.cleanable.dirty.ratio
    file_delete_delay_ms: int = (
        60000  # file.delete.delay.ms (kept for DescribeConfigs; deletes are immediate)
    )
    # flush.messages / flush.ms: fsync once this many messages or ms are unflushed. Kafka's default
    # is never (Long.MAX_VALUE): durability comes from replication, and here from rolled segments
    # being flushed and a clean shutdown flushing everything.
    flush_messages: int = NEVER
    flush_ms: int = NEVER

    @classmethod
    def from_topic_configs(cls, configs: Mapping[str, str], defaults: LogConfig) -> LogConfig:
        """``defaults`` overridden by the topic's configs (Kafka names); ValueError on a bad value."""
        changes: dict[str, object] = {}
        for name, value in configs.items():
            if value is None:
                continue
            if name in _INT_CONFIGS:
                changes[_INT_CONFIGS[name]] = int(str(value).strip())
            elif name in _FLOAT_CONFIGS:
                changes[_FLOAT_CONFIGS[name]] = float(str(value).strip())
            elif name == "cleanup.policy":
                changes["cleanup_policy"] = normalize_cleanup_policy(str(value))
            elif name == "message.timestamp.type":
                changes["message_timestamp_type"] = str(value).strip()
        return dataclasses.replace(defaults, **changes)

    @property
    def compact(self) -> bool:
        return "compact" in self.cleanup_policy.split(",")

    @property
    def delete(self) -> bool:
        return "delete" in self.cleanup_policy.split(",")

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type.strip().lower() == "logappendtime"


def normalize_cleanup_policy(value: str) -> str:
    """``[compact, delete]`` / ``delete,compact`` / ``compact`` -> canonical comma-joined names."""
    parts = [p.strip().lower() for p in value.strip().strip("[]").split(",") if p.strip()]
    return ",".join(p for p in ("compact", "delete") if p in parts) or "delete"


def flush_settings(raw: Mapping[str, str]) -> tuple[int, int, int]:
    """(flush.messages, flush.ms, flusher period) from the broker's ``log.flush.*`` keys.

    As in Kafka, ``log.flush.interval.ms`` defaults to ``log.flush.scheduler.interval.ms``, and
    flush.ms is only looked at every ``log.flush.scheduler.interval.ms`` (default: never)."""

    def value(key: str, default: int) -> int:
        text = (raw.get(key) or "").strip()
        if not text:
            return default
        try:
            number = int(text)
        except ValueError:
            raise ValueError(
                f"Invalid value {text} for configuration {key}: Not a number of type LONG"
            ) from None
        least = 0 if key == "log.flush.interval.ms" else 1
        if number < least:
            raise ValueError(f"Invalid value {text} for configuration {key}: Value must be at least {least}")
        return number

    scheduler = value("log.flush.scheduler.interval.ms", NEVER)
    return value("log.flush.interval.messages", NEVER), value("log.flush.interval.ms", scheduler), scheduler
