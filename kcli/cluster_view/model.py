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
    #: consumer groups of this topic; None when not asked for in this refresh (they cost more)
    groups: tuple[TopicGroupLag, ...] | None = None
    groups_error: str | None = None

    @property
    def records(self) -> int:
        return sum(p.records or 0 for p in self.partitions)

    @property
    def high_total(self) -> int:
        return sum(p.high or 0 for p in self.partitions)


@dataclass(frozen=True)
class ConnectionInfo:
    """What the last successful metadata request said about reaching the cluster.

    The status bar shows this rather than the bootstrap address the user typed: that broker
    may be the one that is down while the others answer.
    """

    answered_by: str | None = None  # "broker 1 at 127.0.0.1:9093"
    cluster_id: str | None = None
    live: tuple[int, ...] = ()
    down: tuple[int, ...] = ()  # brokers that hold replicas but are not in the metadata
    bootstrap_down: tuple[str, ...] = ()  # bootstrap addresses that did not answer


@dataclass(frozen=True)
class BrowsePlan:
    """Where a message browse reads: partition -> [first, stop) offsets, and the watermarks."""

    ranges: dict[int, tuple[int, int]]
    marks: dict[int, tuple[int, int]]


@dataclass(frozen=True)
class TopicDefaults:
    """The cluster's defaults for new topics, read from a broker's configs."""

    partitions: int | None
    replication_factor: int | None
    live_brokers: int = 0


@dataclass(frozen=True)
class Message:
    """One consumed record, raw: decoding is a separate, pure step (``kcli.cluster_view.decode``)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True)
class GroupSummary:
    """One row of the consumer group table.

    ``lag`` is None when the committed offsets could not be read; it counts the partitions with
    no committed offset from their log start (``uncommitted`` of them, see :class:`GroupOffset`).
    ``unknown`` partitions had no readable log end, so ``lag`` is a lower bound when it is not 0.
    ``error`` says what could not be read in the last refresh (None when everything was).
    """

    group_id: str
    state: str
    protocol: str
    members: int
    lag: int | None
    simple: bool = False
    topics: tuple[str, ...] = ()
    uncommitted: int = 0
    unknown: int = 0
    error: str | None = None


@dataclass(frozen=True)
class GroupList:
    """The group table and what could not be read for it (brokers that did not list their groups)."""

    groups: tuple[GroupSummary, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupMemberInfo:
    member_id: str
    client_id: str
    host: str
    assignment: tuple[tuple[str, int], ...] = ()
    # KIP-848 consumer groups only (ConsumerGroupDescribe): the member's epoch, the partitions the
    # broker's target assignment gives it, and whether it speaks the new protocol (False: classic).
    epoch: int | None = None
    target: tuple[tuple[str, int], ...] | None = None
    upgraded: bool | None = None


@dataclass(frozen=True)
class GroupOffset:
    """Committed offset versus log end offset for one partition the group consumes or committed.

    A partition with no committed offset (``committed`` None) is shown as Kafka's
    ``kafka-consumer-groups`` shows it, ``-``; its lag is counted from the log start, which is
    what the group reads when it (re)starts with ``auto.offset.reset=earliest`` and an upper
    bound for any other setting (Kafka's tool leaves it out, which hid real backlogs:
    a group showed lag 603 while five partitions had never been committed).
    ``member`` is the client id of the member the partition is assigned to (None: unassigned).
    """

    topic: str
    partition: int
    committed: int | None
    end: int | None
    start: int | None = None
    member: str | None = None
    member_id: str | None = None
    host: str | None = None

    @property
    def from_start(self) -> bool:
        """True when the lag is counted from the log start because nothing was committed."""
        return (self.committed is None or self.committed < 0) and self.start is not None

    @property
    def lag(self) -> int | None:
        if self.end is None or self.end < 0:
            return None
        if self.committed is None or self.committed < 0:
            if self.start is None or self.start < 0:
                return None
            return max(0, self.end - self.start)
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class GroupDetail:
    """One group; ``errors`` lists what this refresh could not read (the rest is still shown)."""

    group_id: str
    state: str
    protocol: str
    coordinator: int | None
    members: tuple[GroupMemberInfo, ...]
    offsets: tuple[GroupOffset, ...]
    errors: tuple[str, ...] = ()
    # "consumer" for a KIP-848 group (then ``protocol`` is its server assignor), else "classic"
    group_type: str = "classic"
    group_epoch: int | None = None
    assignment_epoch: int | None = None

    @property
    def lag(self) -> int:
        return sum(o.lag or 0 for o in self.offsets)

    @property
    def uncommitted(self) -> int:
        return sum(o.from_start for o in self.offsets)


@dataclass(frozen=True)
class TopicGroupLag:
    """A consumer group as seen from one topic: its lag on that topic's partitions only."""

    group_id: str
    state: str
    members: int  # members with partitions of this topic assigned
    lag: int | None
    partitions: int  # partitions of the topic the group consumes or committed
    uncommitted: int = 0
    error: str | None = None
    #: the members owning partitions of the topic (to tell joins, leaves and rebalances apart)
    member_ids: tuple[str, ...] = ()
    #: partition -> lag of the group there (for the per-partition lag sparklines)
    lag_by_partition: tuple[tuple[int, int], ...] = ()


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


@dataclass(frozen=True)
class PartitionState:
    """A partition's leader, replicas and in-sync replicas at one moment."""

    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class ReplicationState:
    """The whole cluster's replication at one moment, for the failure lab's timeline.

    ``local`` maps the broker ids of a ``kcli local`` stack to whether each runs (empty for any
    other cluster: the lab then watches but never stops a broker).
    """

    live: tuple[int, ...]
    down: tuple[int, ...]
    controller: int | None
    partitions: dict[tuple[str, int], PartitionState]
    local: dict[int, bool] = field(default_factory=dict)
    addresses: dict[int, str] = field(default_factory=dict)

    @property
    def under_replicated(self) -> int:
        return sum(len(p.isr) < len(p.replicas) for p in self.partitions.values())

    @property
    def offline(self) -> int:
        return sum(p.leader < 0 for p in self.partitions.values())
