"""The controller: the one owner of cluster metadata, and the leader elections that follow from it.

Every change goes through here: topic creation (with replica placement), deletion, new
partitions, config changes, brokers registering and being fenced, ISR changes proposed by
leaders, and elections (on fencing, on a broker's return, and on request). Each change is
persisted before it is published, so a restarted controller - or any broker restarting against it -
loses nothing. The class is synchronous and does no I/O besides its one file; the server around it
(``controller_server``) handles connections, sessions and publication.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.catalog import random_uuid
from kcli.server.cluster.image import NO_LEADER, BrokerRegistration, MetadataImage, PartitionState, TopicState
from kcli.server.cluster.placement import assign_replicas
from kcli.server.cluster.topic_rules import (
    MAX_RECORDS_PER_USER_OP,
    CollisionIndex,
    TopicError,
    check_new_topic,
    excessive_batch,
    manual_assignment,
    topic_records,
)

log = logging.getLogger("kafka.controller.QuorumController")

METADATA_FILE = "__kcli_cluster_metadata.json"
PRODUCER_ID_BLOCK = 1000

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


class Controller:
    """Cluster metadata with its rules; ``image`` is what brokers receive."""

    def __init__(self, data_dir: Path, cluster_id: str):
        self.path = Path(data_dir) / METADATA_FILE
        self.image = MetadataImage(cluster_id=cluster_id)
        self.next_producer_id = 0
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.image = MetadataImage.from_json(data["image"])
            self.next_producer_id = int(data.get("next_producer_id", 0))
            # Brokers alive before a restart stay so for a grace period (a session timeout): they
            # reconnect and register again, and only those that do not are fenced then.
        self.image.cluster_id = self.image.cluster_id or cluster_id
        self._collisions = CollisionIndex(self.image.topics)
        if self.image.scram is None:  # SCRAM users given to kafka-storage format --add-scram
            from kcli.server.security.store import SecurityStore

            store = SecurityStore.load(Path(data_dir))
            self.image.scram = store.to_json()["scram"]
            self.image.acls = self.image.acls or []

    # --- persistence -------------------------------------------------------------------------
    def _commit(self) -> None:
        """Persist, then publish: a change brokers may act on must never be forgotten."""
        self.image.version += 1
        data = {"image": self.image.to_json(), "next_producer_id": self.next_producer_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    # --- brokers -----------------------------------------------------------------------------
    def register_broker(self, reg: BrokerRegistration, known_topics: Iterable[dict[str, Any]] = ()) -> None:
        """A broker (re)joins: unfence it, adopt topics only it remembers, give it leaderships back."""
        reg.fenced = False
        self.image.brokers[reg.node_id] = reg
        for data in known_topics:
            self._adopt(data)
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if state.leader != NO_LEADER or reg.node_id not in state.replicas:
                    continue
                if reg.node_id in state.isr:
                    self._set_leader(topic.name, index, state, reg.node_id, "broker returned")
                elif self._unclean_allowed(topic):
                    state.isr = [reg.node_id]
                    self._set_leader(topic.name, index, state, reg.node_id, "unclean election")
        log.info("Registered broker %d at %s:%d", reg.node_id, reg.host, reg.port)
        self._commit()

    def _adopt(self, data: dict[str, Any]) -> None:
        """A broker's cached topic the controller does not know (its data dir was wiped, as
        /tmp/zookeeper is at reboot): keep the topic rather than delete the broker's logs."""
        name = data["name"]
        if name in self.image.topics:
            return
        replicas = [list(r) for r in data["replicas"]]
        self.image.topics[name] = TopicState(
            name,
            uuid.UUID(data["topic_id"]),
            [PartitionState(r, [x for x in r if self._alive(x)] or r[:1], NO_LEADER) for r in replicas],
            dict(data.get("configs", {})),
            bool(data.get("internal", False)),
        )
        self._collisions.add(name)
        for state in self.image.topics[name].partitions:
            candidates = [r for r in state.replicas if r in state.isr and self._alive(r)]
            if candidates:
                state.leader = candidates[0]
        log.info("Adopted topic %s from a registering broker's metadata cache", name)

    def fence_unregistered(self, registered: set[int]) -> None:
        """After a controller restart's grace period: fence brokers that did not come back."""
        for node_id, broker in sorted(self.image.brokers.items()):
            if not broker.fenced and node_id not in registered:
                self.fence_broker(node_id)

    def fence_broker(self, node_id: int) -> None:
        """The broker's session ended: take it out of every ISR and move its leaderships."""
        broker = self.image.brokers.get(node_id)
        if broker is None or broker.fenced:
            return
        broker.fenced = True
        log.info("Fencing broker %d: its session ended", node_id)
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if node_id not in state.isr and state.leader != node_id:
                    continue
                if state.leader == node_id:
                    self._elect_after_loss(topic, index, state, node_id)
                elif len(state.isr) > 1:
                    state.isr = [r for r in state.isr if r != node_id]
                    state.partition_epoch += 1
        self._commit()

    def _elect_after_loss(self, topic: TopicState, index: int, state: PartitionState, lost: int) -> None:
        remaining = [r for r in state.isr if r != lost]
        candidates = [r for r in state.replicas if r in remaining and self._alive(r)]
        if candidates:
            state.isr = remaining
            self._set_leader(topic.name, index, state, candidates[0], f"broker {lost} was fenced")
            return
        if self._unclean_allowed(topic):
            live = [r for r in state.replicas if self._alive(r)]
            if live:
                state.isr = [live[0]]
                self._set_leader(topic.name, index, state, live[0], "unclean election")
                return
        # No in-sync replica is left: keep the last one in the ISR, so it leads again on return
        # (a clean election), and leave the partition offline meanwhile.
        state.leader = NO_LEADER
        state.leader_epoch += 1
        state.partition_epoch += 1
        log.warning("Partition %s-%d is offline: no in-sync replica is alive", topic.name, index)

    def _set_leader(self, topic: str, index: int, state: PartitionState, leader: int, why: str) -> None:
        state.leader = leader
        state.leader_epoch += 1
        state.partition_epoch += 1
        log.info(
            "Partition %s-%d: leader %d with epoch %d, ISR %s (%s)",
            topic, index, leader, state.leader_epoch, state.isr, why,
        )  # fmt: skip

    def _alive(self, node_id: int) -> bool:
        broker = self.image.brokers.get(node_id)
        return broker is not None and not broker.fenced

    def _unclean_allowed(self, topic: TopicState) -> bool:
        return topic.configs.get("unclean.leader.election.enable", "false").strip().lower() == "true"

    def live_broker_ids(self) -> list[int]:
        return [b.node_id for b in self.image.live_brokers]

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
            records += topic_records(len(topic.partitions), request.configs)
            results.append(topic)
        if records > MAX_RECORDS_PER_USER_OP:
            log.info("CreateTopics of %d topic(s) refused: %d records", len(requests), records)
            return [excessive_batch() for _ in requests]
        created = [t for t in results if isinstance(t, TopicState)]
        if validate_only or not created:
            return results
        for topic in created:
            self.image.topics[topic.name] = topic
            self._collisions.add(topic.name)
            log.info(
                "Created topic %s with %d partitions: %s",
                topic.name, len(topic.partitions), [p.replicas for p in topic.partitions],
            )  # fmt: skip
        self._commit()
        return results

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
        live = self.live_broker_ids()
        if partitions <= 0:
            raise TopicError(ErrorCode.invalid_partitions, "Number of partitions must be larger than 0.")
        if rf <= 0:
            raise TopicError(
                ErrorCode.invalid_replication_factor, "Replication factor must be larger than 0."
            )
        if rf > len(live):
            raise TopicError(
                ErrorCode.invalid_replication_factor,
                f"Replication factor: {rf} larger than available brokers: {len(live)}.",
            )
        return assign_replicas(live, partitions, rf, first_partition=first)

    def _registered(self, node_id: int) -> bool:
        return node_id in self.image.brokers

    def delete_topic(self, name: str) -> None:
        if name not in self.image.topics:
            raise TopicError(
                ErrorCode.unknown_topic_or_partition, "This server does not host this topic-partition."
            )
        del self.image.topics[name]
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
                topic.partitions.append(PartitionState(reps, isr, isr[0]))
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
        topic.configs = dict(configs)
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
            state.isr = list(isr)
            state.partition_epoch += 1
            self._commit()
        return state

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
                self._set_leader(topic.name, index, state, preferred, "preferred replica election")
                return 0, None
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
        state.isr = in_sync or [chosen]
        self._set_leader(topic.name, index, state, chosen, "unclean election")
        return 0, None

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
                    self._set_leader(topic.name, index, state, broker, "preferred replica rebalance")
                    moved += 1
        if moved:
            self._commit()
        return moved

    # --- producer ids ------------------------------------------------------------------------
    # --- security metadata (ACLs and SCRAM credentials, replicated to every broker) ---------
    def alter_acls(self, add: list[list[Any]], remove: list[list[Any]]) -> None:
        doomed = {tuple(a) for a in remove}
        kept = [a for a in self.image.acls or [] if tuple(a) not in doomed]
        known = {tuple(a) for a in kept}
        kept += [a for a in add if tuple(a) not in known]
        self.image.acls = kept
        self._commit()

    def alter_scram(self, upserts: list[list[str]], deletions: list[list[str]]) -> None:
        scram = {u: dict(c) for u, c in (self.image.scram or {}).items()}
        for user, mechanism in deletions:
            scram.get(user, {}).pop(mechanism, None)
            if not scram.get(user):
                scram.pop(user, None)
        for user, mechanism, credential in upserts:
            scram.setdefault(user, {})[mechanism] = credential
        self.image.scram = scram
        self._commit()

    def allocate_producer_ids(self, count: int = PRODUCER_ID_BLOCK) -> int:
        """A block of producer ids unique across the cluster and its restarts; returns its start."""
        start = self.next_producer_id
        self.next_producer_id += count
        self._commit()
        return start
