"""Topics, partitions and leaders on the controller (Kafka's ReplicationControlManager):
creating and deleting topics with their replica placement, new partitions, topic configs, ISR
changes proposed by leaders, reassignments and leader elections. Each operation emits records
and commits them through the :class:`~kcli.server.cluster.controller.Controller` it is part of.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kio.schema.errors import ErrorCode

from kcli.protocol.metadata_records import record
from kcli.protocol.uuids import random_uuid
from kcli.server.cluster import reassignment
from kcli.server.cluster.image import (
    NO_LEADER,
    TOPIC_RESOURCE,
    PartitionState,
    TopicState,
    partition_change,
    topic_records,
)
from kcli.server.cluster.placement import assign_replicas
from kcli.server.cluster.topic_rules import (
    MAX_RECORDS_PER_USER_OP,
    TopicError,
    check_new_topic,
    excessive_batch,
    manual_assignment,
)
from kcli.server.cluster.topic_rules import topic_records as records_for_topic

log = logging.getLogger("kafka.controller.QuorumController")

ControllerError = TopicError  # the controller's refusals: Kafka's error code and message


@dataclass
class NewTopic:
    """One topic of a CreateTopics request."""

    name: str
    partitions: int
    replication_factor: int
    assignment: dict[int, list[int]] | None = None
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False


@dataclass
class NewPartitions:
    """One topic of a CreatePartitions request: the new total, and optionally the replicas of
    each new partition."""

    name: str
    count: int
    assignment: list[list[int]] | None = None


@dataclass
class ElectionResult:
    topic: str
    partition: int
    code: int
    message: str | None = None


class ReplicationControlManager:
    """The topic and replication operations of :class:`~kcli.server.cluster.controller.Controller`
    (a part of it: they work on its image and emit through its ``_emit`` and ``_commit``)."""

    # --- topics ------------------------------------------------------------------------------
    def create_topics(self, requests: list[NewTopic], validate_only: bool) -> list[TopicState | TopicError]:
        """CreateTopics as Kafka's ReplicationControlManager.createTopics: each topic checked on
        its own (its result is its TopicState or its TopicError), all created with one commit;
        a request that would write more than MAX_RECORDS_PER_USER_OP metadata records is refused
        whole with POLICY_VIOLATION, validate-only or not."""
        results: list[TopicState | TopicError] = []
        records = 0
        for request in requests:
            try:
                topic = self._new_topic(request)
            except TopicError as exc:
                results.append(exc)
                continue
            records += records_for_topic(len(topic.partitions), request.configs)
            results.append(topic)
        if records > MAX_RECORDS_PER_USER_OP:
            log.info("CreateTopics of %d topic(s) refused: %d records", len(requests), records)
            return [excessive_batch() for _ in requests]
        created = [t for t in results if isinstance(t, TopicState)]
        if validate_only or not created:
            return results
        for topic in created:
            for rec in topic_records(topic):
                self._emit(rec)
            self._collisions.add(topic.name)
            replicas = [p.replicas for p in topic.partitions]
            log.info(
                "Created topic %s with %d partitions: %s%s",
                topic.name, len(replicas), replicas[:8], " ..." if len(replicas) > 8 else "",
            )  # fmt: skip
        self._commit()
        return [self.image.topics[r.name] if isinstance(r, TopicState) else r for r in results]

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int,
        assignment: dict[int, list[int]] | None,
        configs: dict[str, str],
        internal: bool,
        validate_only: bool,
    ) -> TopicState:
        """One topic: its TopicState, or raises its TopicError."""
        request = NewTopic(name, partitions, replication_factor, assignment, configs, internal)
        (result,) = self.create_topics([request], validate_only)
        if isinstance(result, TopicError):
            raise result
        return result

    def _new_topic(self, request: NewTopic) -> TopicState:
        check_new_topic(request.name, request.name in self.image.topics, self._collisions, request.configs)
        if request.assignment:
            replicas = self._manual_replicas(request.assignment)
        else:
            replicas = self._placed_replicas(request.partitions, request.replication_factor)
        states = []
        for index, reps in enumerate(replicas):
            isr = [r for r in reps if self._alive(r)]
            if not isr:
                raise TopicError(
                    ErrorCode.invalid_replica_assignment,
                    f"All brokers specified in the manual partition assignment for partition {index} "
                    "are fenced or in controlled shutdown.",
                )
            states.append(PartitionState(reps, isr, isr[0]))
        return TopicState(request.name, random_uuid(), states, dict(request.configs), request.internal)

    def _manual_replicas(self, assignment: dict[int, list[int]]) -> list[list[int]]:
        """An explicit assignment (partition -> replicas), checked as Kafka checks it."""
        rf: int | None = None
        for replicas in assignment.values():
            manual_assignment(replicas, self._registered, rf)
            rf = len(replicas)
        if sorted(assignment) != list(range(len(assignment))):
            raise TopicError(
                ErrorCode.invalid_replica_assignment,
                "partitions should be a consecutive 0-based integer sequence",
            )
        return [list(assignment[p]) for p in range(len(assignment))]

    def _placed_replicas(self, partitions: int, rf: int, first: int = 0) -> list[list[int]]:
        """Replicas for new partitions: on unfenced brokers, over fenced ones too only when the
        unfenced are too few (as Kafka's StripedReplicaPlacer, which counts every registered
        broker), rack-aware when brokers registered a ``broker.rack``. Refusals use the
        KRaft controller's wording (ReplicationControlManager wrapping the placer's message)."""
        live = self.live_broker_ids()
        if partitions <= 0:
            raise TopicError(ErrorCode.invalid_partitions, "Number of partitions must be larger than 0.")
        if rf <= 0:
            raise TopicError(
                ErrorCode.invalid_replication_factor, "Replication factor must be larger than 0."
            )
        prefix = f"Unable to replicate the partition {rf} time(s): "
        if not live:
            raise TopicError(
                ErrorCode.invalid_replication_factor, prefix + "All brokers are currently fenced."
            )
        registered = sorted(self.image.brokers)
        if rf > len(registered):
            raise TopicError(
                ErrorCode.invalid_replication_factor,
                prefix + f"The target replication factor of {rf} cannot be reached because only "
                f"{len(registered)} broker(s) are registered.",
            )
        brokers = live if rf <= len(live) else registered
        # A broker without broker.rack is a rack of its own kind (""), as the striped placer's
        # Optional.empty rack, so a half-racked cluster still places (AdminUtils would refuse).
        racks = {b: self.image.brokers[b].rack or "" for b in brokers}
        return assign_replicas(
            brokers, partitions, rf, first_partition=first, racks=racks if any(racks.values()) else None
        )

    def _registered(self, node_id: int) -> bool:
        return node_id in self.image.brokers

    def delete_topic(self, name: str) -> None:
        if name not in self.image.topics:
            raise TopicError(
                ErrorCode.unknown_topic_or_partition, "This server does not host this topic-partition."
            )
        self._emit(record("REMOVE_TOPIC_RECORD", topicId=self.image.topics[name].topic_id))
        self._collisions.remove(name)
        log.info("Deleted topic %s", name)
        self._commit()

    def create_partitions(
        self, requests: list[NewPartitions], validate_only: bool
    ) -> list[TopicError | None]:
        """CreatePartitions as Kafka's ReplicationControlManager.createPartitions: an explicit
        assignment (one replica list per new partition) is honoured or refused, never ignored;
        all changes are committed together. A request beyond MAX_RECORDS_PER_USER_OP new
        partitions fails for the topics past the bound (Kafka fails them with an unexpected
        error; the excessive-batch POLICY_VIOLATION says why)."""
        results: list[TopicError | None] = []
        additions: list[tuple[TopicState, list[list[int]]]] = []
        records = 0
        for request in requests:
            try:
                topic, replicas = self._new_partitions(request)
            except TopicError as exc:
                results.append(exc)
                continue
            if records + len(replicas) > MAX_RECORDS_PER_USER_OP:
                results.append(excessive_batch())
                continue
            records += len(replicas)
            additions.append((topic, replicas))
            results.append(None)
        if validate_only or not additions:
            return results
        for topic, replicas in additions:
            for reps in replicas:
                isr = [r for r in reps if self._alive(r)]
                self._emit(
                    record(
                        "PARTITION_RECORD", partitionId=len(topic.partitions), topicId=topic.topic_id,
                        replicas=reps, isr=isr, leader=isr[0], leaderEpoch=0, partitionEpoch=0,
                    )
                )  # fmt: skip
            log.info("Added %d partition(s) to %s: %s", len(replicas), topic.name, replicas)
        self._commit()
        return results

    def _new_partitions(self, request: NewPartitions) -> tuple[TopicState, list[list[int]]]:
        topic = self.image.topics.get(request.name)
        if topic is None:
            raise TopicError(
                ErrorCode.unknown_topic_or_partition, "This server does not host this topic-partition."
            )
        current = len(topic.partitions)
        if request.count == current:
            raise TopicError(ErrorCode.invalid_partitions, f"Topic already has {current} partition(s).")
        if request.count < current:
            raise TopicError(
                ErrorCode.invalid_partitions,
                f"The topic {request.name} currently has {current} partition(s); {request.count} would not be "
                "an increase.",
            )
        additional = request.count - current
        rf = len(topic.partitions[0].replicas) if topic.partitions else 1
        if request.assignment is None:
            replicas = self._placed_replicas(additional, rf, first=current)
            if any(not any(self._alive(r) for r in reps) for reps in replicas):
                raise TopicError(
                    ErrorCode.invalid_replication_factor,
                    f"Unable to replicate the partition {rf} time(s): All brokers are currently fenced or in "
                    "controlled shutdown.",
                )
            return topic, replicas
        if len(request.assignment) != additional:
            raise TopicError(
                ErrorCode.invalid_replica_assignment,
                f"Attempted to add {additional} additional partition(s), but only {len(request.assignment)} "
                "assignment(s) were specified.",
            )
        for i, reps in enumerate(request.assignment):
            manual_assignment(reps, self._registered, rf)
            if not any(self._alive(r) for r in reps):
                raise TopicError(
                    ErrorCode.invalid_replica_assignment,
                    f"All brokers specified in the manual partition assignment for partition {current + i} "
                    "are fenced or in controlled shutdown.",
                )
        return topic, [list(reps) for reps in request.assignment]

    def alter_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        topic = self.image.topics.get(name)
        if topic is None:
            raise TopicError(ErrorCode.unknown_topic_or_partition, f"The topic '{name}' does not exist.")
        for key in [k for k in topic.configs if k not in configs]:
            self._emit(
                record("CONFIG_RECORD", resourceType=TOPIC_RESOURCE, resourceName=name, name=key, value=None)
            )
        for key, value in configs.items():
            if topic.configs.get(key) != value:
                self._emit(
                    record(
                        "CONFIG_RECORD", resourceType=TOPIC_RESOURCE, resourceName=name, name=key, value=value
                    )
                )
        self._commit()

    # --- replication -------------------------------------------------------------------------
    def alter_partition(
        self, name: str, index: int, leader: int, leader_epoch: int, partition_epoch: int, isr: list[int]
    ) -> PartitionState:
        """A leader shrinks or expands its ISR (Kafka's AlterPartition), checked against its epochs."""
        topic = self.image.topics.get(name)
        if topic is None or index >= len(topic.partitions):
            raise ControllerError(ErrorCode.unknown_topic_or_partition, f"Unknown partition {name}-{index}")
        state = topic.partitions[index]
        if state.leader != leader:
            raise ControllerError(
                ErrorCode.not_leader_or_follower, f"Broker {leader} does not lead {name}-{index}"
            )
        if leader_epoch != state.leader_epoch:
            raise ControllerError(
                ErrorCode.fenced_leader_epoch, f"Leader epoch {leader_epoch} is not {state.leader_epoch}"
            )
        if partition_epoch != state.partition_epoch:
            raise ControllerError(
                ErrorCode.invalid_update_version, f"Partition epoch {partition_epoch} is stale"
            )
        if leader not in isr or any(r not in state.replicas for r in isr):
            raise ControllerError(
                ErrorCode.ineligible_replica, f"ISR {isr} is not a subset of replicas {state.replicas}"
            )
        added = [r for r in isr if r not in state.isr and not self._alive(r)]
        if added:
            raise ControllerError(ErrorCode.ineligible_replica, f"Broker(s) {added} are fenced")
        if isr != state.isr:
            log.info("Partition %s-%d: ISR %s -> %s", name, index, state.isr, isr)
            self._emit(partition_change(topic, index, isr=isr))
            reassignment.maybe_complete(self, topic, index)  # KIP-455: the last adding replica joined
            self._commit()
        return state

    # --- reassignment (KIP-455; the rules are in kcli.server.cluster.reassignment) --------------
    def alter_reassignments(self, requests: list[reassignment.Reassignment]) -> list[TopicError | None]:
        return reassignment.alter(self, requests)

    def list_reassignments(
        self, wanted: list[tuple[str, int]] | None
    ) -> list[tuple[str, int, PartitionState]]:
        return reassignment.ongoing(self, wanted)

    def elect_leaders(
        self, election_type: int, partitions: list[tuple[str, int]] | None
    ) -> list[ElectionResult]:
        """Preferred (0) or unclean (1) elections for the given partitions, or all of them."""
        if partitions is None:
            partitions = [(t.name, i) for t in self.image.topics.values() for i in range(len(t.partitions))]
            only_needed = True
        else:
            only_needed = False
        results = []
        changed = False
        for name, index in partitions:
            topic = self.image.topics.get(name)
            if topic is None or not 0 <= index < len(topic.partitions):
                results.append(ElectionResult(name, index, ErrorCode.unknown_topic_or_partition,
                                              "The partition does not exist."))  # fmt: skip
                continue
            state = topic.partitions[index]
            code, message = self._elect(topic, index, state, election_type)
            changed |= code == 0
            if code == ErrorCode.election_not_needed and only_needed:
                continue
            results.append(ElectionResult(name, index, code, message))
        if changed:
            self._commit()
        return results

    def _elect(
        self, topic: TopicState, index: int, state: PartitionState, election_type: int
    ) -> tuple[int, str | None]:
        if election_type == 0:
            preferred = state.replicas[0]
            if state.leader == preferred:
                return ErrorCode.election_not_needed, "Leader election not needed for topic partition."
            if preferred in state.isr and self._alive(preferred):
                self._set_leader(topic, index, preferred, "preferred replica election")
                return ErrorCode.none, None
            return ErrorCode.preferred_leader_not_available, (
                f"Failed to elect leader for partition {topic.name}-{index} under strategy PreferredReplicaPartitionLeaderElectionStrategy"
            )
        if state.leader != NO_LEADER and self._alive(state.leader):
            return ErrorCode.election_not_needed, "Leader election not needed for topic partition."
        live = [r for r in state.replicas if self._alive(r)]
        if not live:
            return ErrorCode.eligible_leaders_not_available, f"No live replica of {topic.name}-{index}"
        in_sync = [r for r in live if r in state.isr]
        chosen = in_sync[0] if in_sync else live[0]
        self._set_leader(topic, index, chosen, "unclean election", isr=in_sync or [chosen])
        return ErrorCode.none, None

    def rebalance_preferred_leaders(self, imbalance_percent: int = 10) -> int:
        """Kafka's auto leader rebalance: a broker that leads fewer than its preferred partitions by
        more than ``imbalance_percent`` gets back those whose replicas it is in sync with.
        Returns how many leaderships moved."""
        preferred: dict[int, list[tuple[TopicState, int, PartitionState]]] = {}
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if state.replicas:
                    preferred.setdefault(state.replicas[0], []).append((topic, index, state))
        moved = 0
        for broker, owned in sorted(preferred.items()):
            if not self._alive(broker):
                continue
            elsewhere = [item for item in owned if item[2].leader != broker]
            if not elsewhere or len(elsewhere) * 100 <= imbalance_percent * len(owned):
                continue
            for topic, index, state in elsewhere:
                if broker in state.isr:
                    self._set_leader(topic, index, broker, "preferred replica rebalance")
                    moved += 1
        if moved:
            self._commit()
        return moved
