"""What the TUI's screens read through: the :class:`DataSource` protocol, its errors and names.

Every method of a data source blocks (librdkafka futures, consumer polls, sockets) and is meant
to be called from a Textual thread worker, never from the event loop. Each call has a timeout,
and every failure is raised as :class:`KafkaDataError` carrying one readable line, so a screen
can show it instead of crashing; ``unreachable`` tells the app that no broker answered at all
(the cluster is down) rather than that one thing failed (a topic is gone, a group's coordinator
moved). Partial failures are returned with the data, never swallowed: a group whose offsets could
not be read has ``lag`` None and its ``error`` says why. The screens depend on this protocol
only (implemented by :class:`kcli.cluster_view.kafka.KafkaSource`), which is what lets the snapshot tests
substitute a fixed source.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Literal, Protocol

from kcli.cluster_view.model import (
    BrowsePlan,
    ClusterInfo,
    ConnectionInfo,
    GroupDetail,
    GroupList,
    Message,
    NewTopicSpec,
    OffsetReset,
    ProduceSpec,
    ReplicationState,
    TopicDefaults,
    TopicDetail,
    TopicSummary,
)

if TYPE_CHECKING:
    from kcli.cluster_view.log_model import PartitionLog, XRayInput

StartFrom = Literal["beginning", "end", "offset", "timestamp"]


ResetTo = Literal["earliest", "latest", "offset", "timestamp"]


TP = tuple[str, int]


#: Kafka's states in which a group has no live members, so its offsets may be changed from outside.
INACTIVE_GROUP_STATES = frozenset({"Empty", "Dead", "Unknown"})


#: Shown as a group's state when it could not be described in this refresh (its error says why).
STATE_UNREAD = "-"


class KafkaDataError(Exception):
    """A failed call to the cluster, with a message fit for the status bar.

    ``unreachable`` is True when no broker answered at all, as opposed to one request failing.
    """

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class DataSource(Protocol):
    """What the screens need from a cluster. Implemented by :class:`KafkaSource` (real clusters)."""

    bootstrap: str

    def connection(self) -> ConnectionInfo: ...
    def probe(self) -> str | None: ...
    def cluster(self) -> ClusterInfo: ...
    def topics(self) -> list[TopicSummary]: ...
    def topic_detail(self, name: str, with_groups: bool = False) -> TopicDetail: ...
    def topic_defaults(self) -> TopicDefaults: ...
    def alter_topic_config(self, topic: str, name: str, value: str | None) -> None: ...
    def watermarks(self, name: str) -> dict[int, tuple[int, int]]: ...
    def create_topic(self, spec: NewTopicSpec) -> None: ...
    def delete_topic(self, name: str) -> None: ...
    def browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> list[Message]: ...
    def plan_browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> BrowsePlan: ...
    def read_ranges(
        self, topic: str, ranges: dict[int, tuple[int, int]], limit: int, newest: bool
    ) -> list[Message]: ...
    def open_tail(self, topic: str, partition: int | None = None) -> Tail: ...
    def produce(self, spec: ProduceSpec) -> tuple[int, int]: ...
    def groups(self) -> GroupList: ...
    def group_detail(self, group_id: str) -> GroupDetail: ...
    def preview_reset(
        self, group_id: str, to: ResetTo, value: int | None = None, topic: str | None = None
    ) -> list[OffsetReset]: ...
    def apply_reset(self, group_id: str, plan: list[OffsetReset]) -> None: ...
    def partition_log(
        self,
        topic: str,
        partition: int,
        first: int | None = None,
        count: int = 200,
        with_groups: bool = True,
        with_configs: bool = False,
    ) -> PartitionLog: ...
    def record_batch(self, topic: str, partition: int, offset: int) -> XRayInput: ...
    def replication(self) -> ReplicationState: ...
    def close(self) -> None: ...


class Tail(Protocol):
    """A live cursor at the end of a topic: ``poll`` returns whatever arrived since last time."""

    def poll(self, max_wait_s: float = 0.5) -> list[Message]: ...
    def close(self) -> None: ...


def error_text(exc: BaseException) -> str:
    """One line for a KafkaException/KafkaError/timeout: ``str()`` of those is a repr-like blob."""
    if isinstance(exc, KafkaDataError):
        return str(exc)
    if isinstance(exc, concurrent.futures.TimeoutError | TimeoutError):
        return "timed out waiting for the cluster"
    err = exc.args[0] if exc.args else exc
    if hasattr(err, "str") and callable(err.str):
        text = str(err.str())
        name = err.name() if hasattr(err, "name") else ""
        if name and name not in text and not name.startswith("_"):
            return f"{text} ({name})"
        return text
    return str(exc) or type(exc).__name__


def is_internal(name: str) -> bool:
    """Kafka's own internal topics (``__consumer_offsets``, ``__transaction_state``...)."""
    return name.startswith("__")


def needs_typed_confirmation(name: str) -> bool:
    """Topics whose deletion must be confirmed by typing the name: Kafka's internal ones, and the
    ``_``-prefixed topics platform services keep their state in (``_schemas``, ``_confluent-*``)."""
    return name.startswith("_")
