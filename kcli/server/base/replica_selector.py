"""``replica.selector.class``: which replica a consumer should fetch from (KIP-392).

Kafka's leader asks its configured ReplicaSelector, for every consumer Fetch of v11+ (which
carries the client's ``client.rack`` as ``rack_id``), which replica the client should read from;
when the answer is not the leader itself, the leader replies with ``preferred_read_replica`` and
no records, and the client moves that partition's fetches to the follower. Unset (Kafka's
default), there is no selector and the leader serves every consumer.

Kafka ships one selector, ``org.apache.kafka.common.replica.RackAwareReplicaSelector``, and that
is the one built here with its rules: a client without a rack, or whose rack holds no candidate
replica, reads from the leader; the leader wins when it is in the client's rack; otherwise the
most caught-up candidate of that rack (largest log end offset, then the shortest time since it
was last caught up). The leader only offers in-sync followers that hold the fetch offset
(ReplicaManager.findPreferredReadReplica), so a lagging follower is never chosen. Any other class
name is refused at start: a broker cannot load Java classes, and quietly serving from the leader
would not be what the operator asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


@dataclass(frozen=True, slots=True)
class ReplicaView:
    """A candidate replica as the selector sees it (Kafka's ReplicaView)."""

    node_id: int
    rack: str | None
    log_end_offset: int
    time_since_caught_up_ms: int = 0


class ReplicaSelector(Protocol):
    def select(
        self, client_rack: str | None, leader: ReplicaView, replicas: Iterable[ReplicaView]
    ) -> ReplicaView:
        """The replica the client should fetch from; ``replicas`` includes the leader."""
        ...


class RackAwareReplicaSelector:
    """A replica in the client's rack, else the leader (Kafka's RackAwareReplicaSelector)."""

    def select(
        self, client_rack: str | None, leader: ReplicaView, replicas: Iterable[ReplicaView]
    ) -> ReplicaView:
        if not client_rack:
            return leader
        same_rack = [r for r in replicas if r.rack == client_rack]
        if not same_rack or any(r.node_id == leader.node_id for r in same_rack):
            return leader
        # Kafka's ReplicaView.comparator: the largest log end offset, then the most recently
        # caught up; ties between identical views fall to the lowest broker id (deterministic).
        return max(same_rack, key=lambda r: (r.log_end_offset, -r.time_since_caught_up_ms, -r.node_id))


SELECTORS: dict[str, type[RackAwareReplicaSelector]] = {RACK_AWARE: RackAwareReplicaSelector}


class UnknownSelector(ValueError):
    """``replica.selector.class`` names a class kcli does not have."""


def check_selector_class(class_name: str | None) -> None:
    """Raise :class:`UnknownSelector` (one line) for a class this broker cannot honour."""
    if class_name and class_name not in SELECTORS:
        raise UnknownSelector(
            f"Invalid value {class_name} for configuration replica.selector.class: class not available "
            f"(this broker has only {RACK_AWARE}; leave it unset for leader-only fetching)"
        )


_instances: dict[str, RackAwareReplicaSelector] = {}


def replica_selector(class_name: str | None) -> ReplicaSelector | None:
    """The selector named by ``replica.selector.class``; None when unset (the leader serves)."""
    if not class_name:
        return None
    check_selector_class(class_name)
    selector = _instances.get(class_name)
    if selector is None:
        selector = _instances[class_name] = SELECTORS[class_name]()
    return selector
