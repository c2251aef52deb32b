"""Partition reassignment as Kafka's KRaft controller does it (KIP-455).

A reassignment to a target replica list is written as one PartitionChangeRecord: ``replicas``
becomes the target followed by the replicas being removed, ``addingReplicas`` the target
replicas not yet hosting the partition, ``removingReplicas`` the current ones not in the
target (Kafka's PartitionReassignmentReplicas). The adding brokers see themselves in
``replicas``, open the log and follow the leader; the leader adds them to the ISR as they catch
up (AlterPartition). When the ISR holds every adding replica, the controller completes the
reassignment in the same commit as the ISR change: ``replicas`` becomes the target, the ISR
keeps only target replicas, adding/removing are cleared, and if the leader is being removed the
first in-sync target replica leads (Kafka's PartitionChangeBuilder.maybeCompleteReassignment).
The removed brokers then no longer host the partition and delete their logs.

Cancelling (a ``null`` target) reverts: the adding replicas leave ``replicas`` and the ISR,
and the leader stays if it is one of the original replicas (PartitionReassignmentRevert).
A new target for a partition already moving is computed from the reverted state, as Kafka
does, so a second reassignment never strands a half-copied replica.

These functions work on the :class:`~kcli.server.cluster.controller.Controller` through
:class:`ReplicationControl` (its image, ``_emit`` and ``_commit``); ``Controller`` calls
:func:`maybe_complete` after an ISR change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kio.schema.errors import ErrorCode

from kcli.server.cluster.image import (
    NO_LEADER,
    NO_LEADER_CHANGE,
    MetadataImage,
    PartitionState,
    TopicState,
    partition_change,
)
from kcli.server.cluster.topic_rules import TopicError, manual_assignment

if TYPE_CHECKING:
    from kcli.protocol.metadata_records import MetadataRecord

log = logging.getLogger("kafka.controller.ReplicationControlManager")


class ReplicationControl(Protocol):
    """The part of the controller a reassignment works on: its image, which brokers are alive,
    and emitting and committing records. A protocol, so the controller can call these functions
    without the two modules importing each other."""

    image: MetadataImage

    def _alive(self, node_id: int) -> bool: ...

    def _emit(self, rec: MetadataRecord) -> None: ...

    def _commit(self) -> None: ...


@dataclass
class Reassignment:
    """One partition of an AlterPartitionReassignments request; ``target`` None cancels."""

    topic: str
    partition: int
    target: list[int] | None


def alter(controller: ReplicationControl, requests: list[Reassignment]) -> list[TopicError | None]:
    """Start, replace or cancel each partition's reassignment; one commit for all of them.
    Returns None or the partition's error (Kafka's code and message), in request order."""
    results: list[TopicError | None] = []
    for request in requests:
        try:
            _alter_one(controller, request)
            results.append(None)
        except TopicError as exc:
            results.append(exc)
    controller._commit()
    return results


def ongoing(
    controller: ReplicationControl, wanted: list[tuple[str, int]] | None
) -> list[tuple[str, int, PartitionState]]:
    """The partitions being reassigned (of ``wanted``, or all), sorted by topic and partition."""
    return ongoing_in(controller.image, wanted)


def ongoing_in(
    image: MetadataImage, wanted: list[tuple[str, int]] | None
) -> list[tuple[str, int, PartitionState]]:
    """:func:`ongoing` on any replay of the metadata log (a broker answers from its own)."""
    out = []
    if wanted is None:
        for topic in image.topics.values():
            out += [(topic.name, i, st) for i, st in enumerate(topic.partitions) if st.reassigning]
    else:
        for name, index in wanted:
            topic = image.topics.get(name)
            if (
                topic is not None
                and 0 <= index < len(topic.partitions)
                and topic.partitions[index].reassigning
            ):
                out.append((name, index, topic.partitions[index]))
    return sorted(out, key=lambda item: (item[0], item[1]))


def maybe_complete(controller: ReplicationControl, topic: TopicState, index: int) -> bool:
    """Finish the reassignment of ``topic``-``index`` if every adding replica is in the ISR
    (records emitted, not committed). True when it completed."""
    st = topic.partitions[index]
    if not st.reassigning or any(r not in st.isr for r in st.adding):
        return False
    target = [r for r in st.replicas if r not in st.removing]
    isr = [r for r in st.isr if r in target]
    if not isr:
        return False  # as Kafka: never complete into an empty ISR; wait for a target replica to join
    leader = NO_LEADER_CHANGE
    if st.leader not in target:
        leader = next((r for r in target if r in isr and controller._alive(r)), NO_LEADER)
    controller._emit(
        partition_change(topic, index, leader=leader, isr=isr, replicas=target, adding=[], removing=[])
    )
    log.info(
        "Completed the reassignment of %s-%d: replicas %s, ISR %s, leader %d",
        topic.name, index, target, isr, topic.partitions[index].leader,
    )  # fmt: skip
    return True


def _partition(controller: ReplicationControl, name: str, index: int) -> tuple[TopicState, PartitionState]:
    topic = controller.image.topics.get(name)
    if topic is None:
        raise TopicError(
            ErrorCode.unknown_topic_or_partition, "This server does not host this topic-partition."
        )
    if not 0 <= index < len(topic.partitions):
        raise TopicError(ErrorCode.unknown_topic_or_partition, f"Unable to find partition {name}:{index}.")
    return topic, topic.partitions[index]


def _reverted(st: PartitionState) -> tuple[list[int], list[int]]:
    """The replicas and ISR the partition had before its reassignment (PartitionReassignmentRevert)."""
    original = [r for r in st.replicas if r not in st.adding]
    isr = [r for r in st.isr if r in original]
    return original, isr


def _alter_one(controller: ReplicationControl, request: Reassignment) -> None:
    topic, st = _partition(controller, request.topic, request.partition)
    if request.target is None:
        if not st.reassigning:
            raise TopicError(
                ErrorCode.no_reassignment_in_progress, "No partition reassignment is in progress."
            )
        _cancel(controller, topic, request.partition, st)
        return
    target = list(request.target)
    if not target:
        raise TopicError(
            ErrorCode.invalid_replica_assignment,
            "The manual partition assignment includes an empty replica list.",
        )
    manual_assignment(target, lambda b: b in controller.image.brokers, None)
    current, isr = _reverted(st) if st.reassigning else (list(st.replicas), list(st.isr))
    removing = [r for r in current if r not in target]
    adding = [r for r in target if r not in current]
    replicas = target + removing
    if not isr:  # the reverted ISR lost every replica: keep the first live original one
        isr = [r for r in current if controller._alive(r)][:1]
    leader = st.leader if st.leader in isr else next((r for r in current if r in isr), NO_LEADER)
    controller._emit(
        partition_change(
            topic,
            request.partition,
            leader=leader if leader != st.leader else NO_LEADER_CHANGE,
            isr=isr if isr != st.isr else None,
            replicas=replicas,
            adding=adding,
            removing=removing,
        )
    )
    log.info(
        "Reassigning %s-%d from %s to %s: adding %s, removing %s",
        topic.name, request.partition, current, target, adding, removing,
    )  # fmt: skip
    if not adding and removing:  # only removals: complete at once (a reorder already has)
        maybe_complete(controller, topic, request.partition)


def _cancel(controller: ReplicationControl, topic: TopicState, index: int, st: PartitionState) -> None:
    original, isr = _reverted(st)
    if not isr:
        isr = [r for r in original if controller._alive(r)][:1]
    leader = NO_LEADER_CHANGE
    if st.leader not in isr:
        leader = next((r for r in original if r in isr and controller._alive(r)), NO_LEADER)
    controller._emit(
        partition_change(topic, index, leader=leader, isr=isr, replicas=original, adding=[], removing=[])
    )
    log.info("Cancelled the reassignment of %s-%d: replicas back to %s", topic.name, index, original)
