"""Plain data the screens render: no confluent-kafka types leak past the data layer.

Keeping the screens on these small frozen dataclasses is what lets the snapshot tests feed the
very same widgets from a fixed data source, and lets the data layer change (another client
library, another API version) without touching a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrokerInfo:
    """One broker of the cluster as metadata describes it."""

    id: int
    host: str
    port: int
    rack: str | None = None
    controller: bool = False


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster overview: who serves it and how big it is."""

    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[BrokerInfo, ...]
    topic_count: int
    partition_count: int
    internal_topic_count: int = 0
    under_replicated_count: int = 0  # partitions whose ISR is smaller than their replica list
    offline_count: int = 0  # partitions without a leader
    down_broker_ids: tuple[int, ...] = ()  # brokers that hold replicas but are not alive


@dataclass(frozen=True)
class TopicSummary:
    """One row of the topic table.

    ``records`` is the sum over partitions of high minus low watermark: what a consumer from the
    beginning would read, which is what students expect "messages in the topic" to mean.
    ``size_bytes`` is None when the cluster (or client) cannot report log-dir sizes.
    """

    name: str
    partitions: int
    replication_factor: int
    records: int | None
    size_bytes: int | None = None
    internal: bool = False
    under_replicated: int = 0  # partitions whose ISR is smaller than their replica list
    offline: int = 0  # partitions without a leader


@dataclass(frozen=True)
class PartitionInfo:
    """A partition's replicas and offsets, as the topic detail screen shows them."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    low: int | None
    high: int | None
    offline: tuple[int, ...] = ()  # replicas on brokers that are not alive
    stable: int | None = None  # the last stable offset (read_committed's end); None when unknown

    @property
    def open_transaction(self) -> bool:
        """A transaction is undecided here: read_committed consumers stop at ``stable``."""
        return self.stable is not None and self.high is not None and self.stable < self.high

    @property
    def state(self) -> str:
        """What an operator looks for first: no leader, or fewer in-sync replicas than replicas;
        then an open transaction holding back read_committed consumers."""
        if self.leader < 0:
            return "offline"
        if len(self.isr) < len(self.replicas):
            return "URP"  # under-replicated partition, as Kafka's metric names it
        if self.open_transaction:
            return "open txn"
        return ""

    @property
    def records(self) -> int | None:
        if self.low is None or self.high is None:
            return None
        return max(0, self.high - self.low)


@dataclass(frozen=True)
class ConfigValue:
    """One topic configuration entry; ``default`` marks values nobody set explicitly."""

    name: str
    value: str | None
    default: bool = True
    sensitive: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class TopicDetail:
    """Everything the topic detail screen shows, fetched together."""

    name: str
    internal: bool
    partitions: tuple[PartitionInfo, ...]
    configs: tuple[ConfigValue, ...] = ()

    @property
    def records(self) -> int:
        return sum(p.records or 0 for p in self.partitions)

    @property
    def high_total(self) -> int:
        return sum(p.high or 0 for p in self.partitions)


@dataclass(frozen=True)
class Message:
    """One consumed record, raw: decoding is a separate, pure step (``kcli.tui.decode``)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True)
class GroupSummary:
    """One row of the consumer group table; ``lag`` is None when offsets could not be read."""

    group_id: str
    state: str
    protocol: str
    members: int
    lag: int | None
    simple: bool = False


@dataclass(frozen=True)
class GroupMemberInfo:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class GroupOffset:
    """Committed offset versus log end offset for one partition the group has touched."""

    topic: str
    partition: int
    committed: int | None
    end: int | None

    @property
    def lag(self) -> int | None:
        if self.end is None:
            return None
        if self.committed is None or self.committed < 0:
            return None
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class GroupDetail:
    group_id: str
    state: str
    protocol: str
    coordinator: int | None
    members: tuple[GroupMemberInfo, ...]
    offsets: tuple[GroupOffset, ...]

    @property
    def lag(self) -> int:
        return sum(o.lag or 0 for o in self.offsets)


@dataclass(frozen=True)
class OffsetReset:
    """One line of a reset preview: where the group is now and where it would be."""

    topic: str
    partition: int
    current: int | None
    target: int


@dataclass
class NewTopicSpec:
    """What the create-topic form collects."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


@dataclass
class ProduceSpec:
    """What the produce form collects; ``partition`` None lets the partitioner choose."""

    topic: str
    key: str | None
    value: str | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    partition: int | None = None
