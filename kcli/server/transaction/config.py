"""The broker settings of the transaction coordinator, with Kafka's names and defaults
(TransactionLogConfig, TransactionStateManagerConfig)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcli.server.base.config import ConfigError

TRANSACTION_STATE_TOPIC = "__transaction_state"

# (server.properties key, attribute, Kafka's default, smallest accepted value)
_SETTINGS: tuple[tuple[str, str, int, int], ...] = (
    ("transaction.state.log.num.partitions", "num_partitions", 50, 1),
    ("transaction.state.log.replication.factor", "replication_factor", 3, 1),
    ("transaction.state.log.segment.bytes", "segment_bytes", 104_857_600, 1),
    ("transaction.state.log.min.isr", "min_isr", 2, 1),
    ("transaction.state.log.load.buffer.size", "load_buffer_size", 5_242_880, 1),
    ("transaction.max.timeout.ms", "max_timeout_ms", 900_000, 1),
    ("transactional.id.expiration.ms", "transactional_id_expiration_ms", 604_800_000, 1),
    ("transaction.abort.timed.out.transaction.cleanup.interval.ms", "abort_timed_out_interval_ms", 10_000, 1),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        "remove_expired_interval_ms",
        3_600_000,
        1,
    ),
    ("request.timeout.ms", "request_timeout_ms", 30_000, 0),
)

#: Every key this module reads (the broker's known-keys table includes them).
KEYS = (*(key for key, *_ in _SETTINGS), "transaction.partition.verification.enable")


@dataclass(frozen=True)
class TransactionConfig:
    num_partitions: int = 50
    replication_factor: int = 3
    segment_bytes: int = 104_857_600
    min_isr: int = 2
    load_buffer_size: int = 5_242_880
    max_timeout_ms: int = 900_000
    transactional_id_expiration_ms: int = 604_800_000
    abort_timed_out_interval_ms: int = 10_000
    remove_expired_interval_ms: int = 3_600_000
    request_timeout_ms: int = 30_000
    # KIP-890: a partition leader asks the coordinator before the first transactional write.
    partition_verification: bool = True

    @classmethod
    def from_raw(cls, raw: dict[str, str]) -> TransactionConfig:
        """Read the settings; ConfigError with Kafka's wording for a bad value."""
        values: dict[str, Any] = {}
        for key, attr, default, smallest in _SETTINGS:
            text = raw.get(key, "").strip()
            if not text:
                values[attr] = default
                continue
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(
                    f"Invalid value {text} for configuration {key}: Not a number of type INT"
                ) from None
            if value < smallest:
                raise ConfigError(
                    f"Invalid value {value} for configuration {key}: Value must be at least {smallest}"
                )
            values[attr] = value
        verify = raw.get("transaction.partition.verification.enable", "true").strip().lower()
        if verify not in ("true", "false"):
            raise ConfigError(
                f"Invalid value {verify} for configuration transaction.partition.verification.enable: "
                "Expected value to be either true or false"
            )
        values["partition_verification"] = verify == "true"
        return cls(**values)

    def topic_configs(self) -> dict[str, str]:
        """What Kafka enforces on ``__transaction_state`` (TransactionStateManager.transactionTopicConfigs)."""
        return {
            "cleanup.policy": "compact",
            "compression.type": "uncompressed",
            "unclean.leader.election.enable": "false",
            "min.insync.replicas": str(self.min_isr),
            "segment.bytes": str(self.segment_bytes),
        }
