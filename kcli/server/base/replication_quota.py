"""Replication quotas (KIP-73): bound the bytes a reassignment copies between brokers.

As Kafka's ReplicationQuotaManager, a broker has two quotas, each a byte rate measured over a
sliding window of ``replication.quota.window.num`` samples of ``replication.quota.window.size.seconds``
(Kafka's Rate over a SampledStat, the same arithmetic as its client quotas):

* the *follower* quota (``follower.replication.throttled.rate``) bounds what this broker's replica
  fetchers take for the replicas the topic config ``follower.replication.throttled.replicas``
  names on this broker: while the measured rate is over it, those partitions are left out of the
  next fetch request;
* the *leader* quota (``leader.replication.throttled.rate``) bounds what this broker serves for
  the replicas ``leader.replication.throttled.replicas`` names on it: while over, a follower's
  fetch response carries no data for them.

In both directions a replica already in sync is never throttled (Kafka's ``!isReplicaInSync``),
so a throttle only slows the copy of a new or lagging replica, never acks=all producers. The
bytes of every throttled partition are recorded, in sync or not, as Kafka records them.

Before the quota is first exceeded Kafka's Rate divides by at least ``window.num - 1`` windows
(10 s by default), so a copy starts with a burst of up to that many seconds' worth of the rate,
and a fetch started under the quota may overshoot it by one response: a throttled copy of B bytes
at R B/s takes at least (B - R * (window.num - 1) * window.size - one fetch) / R seconds.

The quotas are per broker: ``kafka-configs --entity-type brokers --entity-name N`` sets them on N
(dynamic broker configs kept in N's catalog). ``replica.alter.log.dirs.io.max.bytes.per.second``
is validated and kept as a third quota (:attr:`ReplicationQuotas.alter_log_dirs`) for the copier
of replicas between a broker's log dirs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The hooks take the broker (kcli.server.state.broker.Broker) and its partitions untyped: this module
# is imported by the broker, the topic configs and the fetcher, and imports none of them.
Broker = Any
Partition = Any

LEADER_RATE = "leader.replication.throttled.rate"
FOLLOWER_RATE = "follower.replication.throttled.rate"
ALTER_LOG_DIRS_RATE = "replica.alter.log.dirs.io.max.bytes.per.second"
BROKER_RATE_CONFIGS = (LEADER_RATE, FOLLOWER_RATE, ALTER_LOG_DIRS_RATE)
LEADER_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICAS = "follower.replication.throttled.replicas"
WINDOW_NUM = "replication.quota.window.num"
WINDOW_SIZE_SECONDS = "replication.quota.window.size.seconds"
DEFAULT_WINDOW_NUM = 11
DEFAULT_WINDOW_SIZE_SECONDS = 1
#: Kafka's default rate (Long.MAX_VALUE): no throttle.
UNLIMITED = 2**63 - 1

_REPLICA = re.compile(r"([0-9]+:[0-9]+)?")
_LIST_SPLIT = re.compile(r"\s*,\s*")


class QuotaConfigError(ValueError):
    """A throttle config value Kafka refuses (INVALID_CONFIG, with Kafka's ConfigException text)."""


# --- the configs ---------------------------------------------------------------------------------


def _java_list(value: str) -> list[str]:
    """ConfigDef's parse of a LIST config: trimmed, split on commas with their blanks."""
    trimmed = value.strip()
    return _LIST_SPLIT.split(trimmed) if trimmed else []


def validate_throttled_replicas(name: str, value: str) -> None:
    """Kafka's ThrottledReplicaListValidator: ``*`` or ``partition:broker`` items (blanks allowed)."""
    items = [item.strip() for item in _java_list(value)]
    if all(_REPLICA.fullmatch(item) for item in items) or "".join(items) == "*":
        return
    raise QuotaConfigError(
        f"Invalid value [{', '.join(_java_list(value))}] for configuration {name}: {name} must be the literal "
        "'*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
    )


def validate_rate(name: str, value: str) -> None:
    """The broker rates are LONGs of at least 0 (Kafka's DynamicConfig.Broker definitions)."""
    try:
        rate = int(value.strip())
    except ValueError:
        raise QuotaConfigError(
            f"Invalid value {value} for configuration {name}: Not a number of type LONG"
        ) from None
    if not -(2**63) <= rate < 2**63:
        raise QuotaConfigError(f"Invalid value {value} for configuration {name}: Not a number of type LONG")
    if rate < 0:
        raise QuotaConfigError(f"Invalid value {rate} for configuration {name}: Value must be at least 0")


def validate_broker_config(name: str, value: str | None) -> None:
    if value is not None and name in BROKER_RATE_CONFIGS:
        validate_rate(name, value)


def throttled_partitions(value: str | None, broker_id: int) -> frozenset[int] | None:
    """The partitions a throttled-replicas value names on ``broker_id``; None means every one (``*``).

    As Kafka's TopicConfigHandler.parseThrottledPartitions: items for other brokers are ignored."""
    if not value:
        return frozenset()
    items = [item.strip() for item in _java_list(value)]
    if "".join(items) == "*":
        return None
    found = set()
    for item in items:
        if ":" in item:
            partition, broker = item.split(":", 1)
            if broker.isdigit() and partition.isdigit() and int(broker) == broker_id:
                found.add(int(partition))
    return frozenset(found)


# --- the rate ------------------------------------------------------------------------------------


@dataclass
class _Sample:
    start: float
    value: float = 0.0


class ReplicationQuotaManager:
    """One byte-rate quota: Kafka's Sensor with a Rate (WindowedSum) and an upper-bound quota.

    ``record`` adds bytes to the current sample (a new one starts when the window has passed;
    samples older than ``samples * window`` are reset), and the rate is the sum of the samples
    divided by the time they span - at least ``samples - 1`` whole windows, so a short burst is
    not measured as a huge rate. The quota is exceeded when that rate is above the bound."""

    def __init__(
        self,
        bound: float = UNLIMITED,
        samples: int = DEFAULT_WINDOW_NUM,
        window_s: float = DEFAULT_WINDOW_SIZE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.bound = float(bound)
        self.samples_count = max(1, samples)
        self.window_s = float(window_s)
        self.clock = clock
        self._samples: list[_Sample] = []
        self._current = 0

    @property
    def unlimited(self) -> bool:
        return self.bound >= UNLIMITED

    def update_quota(self, bound: float) -> None:
        """A new rate; the measured samples are kept (Kafka changes only the metric's quota)."""
        self.bound = float(bound)

    def record(self, value: float, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if not self._samples:
            self._samples.append(_Sample(now))
        sample = self._samples[self._current]
        if now - sample.start >= self.window_s:
            self._current = (self._current + 1) % self.samples_count
            if self._current >= len(self._samples):
                self._samples.append(_Sample(now))
            else:
                self._samples[self._current] = _Sample(now)
            sample = self._samples[self._current]
        sample.value += value

    def _purge(self, now: float) -> None:
        expire = self.samples_count * self.window_s
        for sample in self._samples:
            if now - sample.start >= expire:
                sample.start, sample.value = now, 0.0

    def rate(self, now: float | None = None) -> float:
        """Bytes per second over the retained samples."""
        now = self.clock() if now is None else now
        self._purge(now)
        total = sum(s.value for s in self._samples)
        oldest = min((s.start for s in self._samples), default=now)
        elapsed = now - oldest
        full_windows = int(elapsed / self.window_s)
        if full_windows < self.samples_count - 1:
            elapsed += (self.samples_count - 1 - full_windows) * self.window_s
        return total / max(elapsed, 0.001)

    def is_quota_exceeded(self, now: float | None = None) -> bool:
        return not self.unlimited and self.rate(now) > self.bound


# --- one broker's quotas -------------------------------------------------------------------------


class ReplicationQuotas:
    """A broker's leader, follower and alter-log-dirs quotas, following its dynamic broker configs."""

    def __init__(
        self,
        samples: int = DEFAULT_WINDOW_NUM,
        window_s: float = DEFAULT_WINDOW_SIZE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.leader = ReplicationQuotaManager(UNLIMITED, samples, window_s, clock)
        self.follower = ReplicationQuotaManager(UNLIMITED, samples, window_s, clock)
        self.alter_log_dirs = ReplicationQuotaManager(UNLIMITED, samples, window_s, clock)
        self._seen: dict[str, str | None] = {}
        self._parsed: dict[tuple[str, int], frozenset[int] | None] = {}
        #: the leader's high watermark each throttled replica last saw: in sync once its log reaches it
        self.follower_leader_hw: dict[tuple[str, int], int] = {}

    @classmethod
    def from_settings(cls, raw: dict[str, str]) -> ReplicationQuotas:
        """The window from the static broker settings (Kafka's defaults: 11 samples of 1 s); a
        value Kafka would refuse stops the broker's start (ConfigError, with Kafka's message)."""
        from kcli.server.base.config import ConfigError

        def at_least_one(key: str, default: int) -> int:
            text = raw.get(key, str(default)).strip()
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(
                    f"Invalid value {text} for configuration {key}: Not a number of type INT"
                ) from None
            if value < 1:
                raise ConfigError(f"Invalid value {value} for configuration {key}: Value must be at least 1")
            return value

        return cls(
            at_least_one(WINDOW_NUM, DEFAULT_WINDOW_NUM),
            at_least_one(WINDOW_SIZE_SECONDS, DEFAULT_WINDOW_SIZE_SECONDS),
        )

    def sync(self, broker_configs: dict[str, str]) -> None:
        """Apply changed rates (a deleted rate is unlimited again)."""
        for key, quota in ((LEADER_RATE, self.leader), (FOLLOWER_RATE, self.follower),
                           (ALTER_LOG_DIRS_RATE, self.alter_log_dirs)):  # fmt: skip
            value = broker_configs.get(key)
            if self._seen.get(key) != value:
                self._seen[key] = value
                try:
                    quota.update_quota(UNLIMITED if value is None else int(value))
                except ValueError:
                    quota.update_quota(UNLIMITED)

    def is_throttled(self, value: str | None, partition: int, broker_id: int) -> bool:
        if not value:
            return False
        key = (value, broker_id)
        if key not in self._parsed:
            if len(self._parsed) > 1024:
                self._parsed.clear()
            self._parsed[key] = throttled_partitions(value, broker_id)
        chosen = self._parsed[key]
        return chosen is None or partition in chosen


def _topic_config(broker: Broker, topic: str, key: str) -> str | None:
    if getattr(broker, "replication_quotas", None) is None:
        return None  # a broker stand-in without quotas (the fetcher's unit tests): nothing throttled
    record = broker.topic(topic)
    return record.configs.get(key) if record is not None else None


def _quotas(broker: Broker) -> ReplicationQuotas:
    quotas: ReplicationQuotas = broker.replication_quotas
    quotas.sync(broker.catalog.broker_configs)
    return quotas


# --- the hooks: the leader's Fetch and the follower's fetcher ------------------------------------


def leader_throttled(broker: Broker, partition: Partition, replica_id: int) -> bool:
    """Leave this partition's data out of follower ``replica_id``'s fetch response (Kafka's
    ReplicaManager.shouldLeaderThrottle): throttled here, the follower not in the ISR, and the
    leader quota exceeded."""
    value = _topic_config(broker, partition.topic, LEADER_REPLICAS)
    if not value or replica_id in partition.isr:
        return False
    quotas = _quotas(broker)
    return quotas.is_throttled(value, partition.index, broker.node_id) and quotas.leader.is_quota_exceeded()


def record_leader_fetch(broker: Broker, topics: list[dict[str, Any]]) -> None:
    """Count the bytes a follower's fetch response carries for this broker's throttled replicas
    (Kafka's KafkaApis.sizeOfThrottledPartitions, recorded once the response is built)."""
    size = 0
    quotas: ReplicationQuotas | None = None
    for entry in topics:
        if "topic_id" in entry:
            record = broker.topics_by_id.get(entry["topic_id"])
            name = record.name if record is not None else None
        else:
            name = entry.get("topic")
        value = _topic_config(broker, name, LEADER_REPLICAS) if name else None
        if not value:
            continue
        quotas = quotas or _quotas(broker)
        for part in entry["partitions"]:
            if quotas.is_throttled(value, part["partition_index"], broker.node_id):
                size += len(part["records"] or b"")
    if size and quotas is not None:
        quotas.leader.record(size)


def follower_fetchable(broker: Broker, states: list[Any]) -> list[Any]:
    """The fetcher's partitions minus those to hold back this round (Kafka's
    ReplicaFetcherThread.shouldFollowerThrottle: throttled here, not in sync, quota exceeded)."""
    quotas: ReplicationQuotas | None = None
    kept = []
    for state in states:
        p = state.partition
        value = _topic_config(broker, p.topic, FOLLOWER_REPLICAS)
        if value:
            quotas = quotas or _quotas(broker)
            if (
                quotas.is_throttled(value, p.index, broker.node_id)
                and p.log.log_end_offset
                < quotas.follower_leader_hw.get((p.topic, p.index), 2**63)  # not in sync
                and quotas.follower.is_quota_exceeded()
            ):
                continue
        kept.append(state)
    return kept


def record_follower_fetch(broker: Broker, response: Any) -> None:
    """Count the bytes fetched for this broker's throttled replicas, and note which of them have
    caught up with the leader's high watermark (those are no longer throttled)."""
    size = 0
    quotas: ReplicationQuotas | None = None
    for topic in response.responses:
        value = _topic_config(broker, topic.topic, FOLLOWER_REPLICAS)
        if not value:
            continue
        quotas = quotas or _quotas(broker)
        for answer in topic.partitions:
            index = int(answer.partition_index)
            if not quotas.is_throttled(value, index, broker.node_id):
                continue
            size += len(answer.records or b"")
            if not answer.error_code:
                quotas.follower_leader_hw[(topic.topic, index)] = int(answer.high_watermark)
    if size and quotas is not None:
        quotas.follower.record(size)
