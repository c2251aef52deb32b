"""The controller: the one owner of cluster metadata, and the leader elections that follow from it.

Every change goes through here: topic creation (with replica placement), deletion, new
partitions, config changes, brokers registering and being fenced, ISR changes proposed by
leaders, and elections (on fencing, on a broker's return, and on request). As Kafka's
QuorumController, each change is a list of KRaft metadata records: they are replayed onto the
image as they are made (``_emit``), and the operation's records are appended to the metadata log
as one batch and flushed (``_commit``) before anyone is answered or told - so a restarted
controller, or a broker following the log, loses nothing, and a change costs what its records
cost, not what the whole cluster's metadata costs. The class is synchronous and does no I/O
besides its log; the server around it (``controller_service``) handles connections, sessions,
publication and the brokers' fetches of the log.
"""

from __future__ import annotations

import bisect
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.server.catalog import random_uuid
from kcli.server.cluster import reassignment
from kcli.server.cluster.image import (
    INTERNAL_TOPICS,
    METADATA_VERSION,
    NO_LEADER,
    TOPIC_RESOURCE,
    BrokerRegistration,
    MetadataImage,
    PartitionState,
    TopicState,
    acl_record,
    partition_change,
    remove_scram_record,
    scram_record,
    topic_records,
)
from kcli.server.cluster.metadata_log import MetadataLog
from kcli.server.cluster.metadata_records import MetadataRecord, encode, record
from kcli.server.cluster.placement import assign_replicas
from kcli.server.cluster.topic_rules import (
    MAX_RECORDS_PER_USER_OP,
    CollisionIndex,
    TopicError,
    check_new_topic,
    excessive_batch,
    manual_assignment,
)
from kcli.server.cluster.topic_rules import topic_records as records_for_topic

log = logging.getLogger("kafka.controller.QuorumController")

METADATA_FILE = "__kcli_cluster_metadata.json"  # an older kcli's metadata, moved into the log
PRODUCER_ID_BLOCK = 1000
# metadata.log.max.record.bytes.between.snapshots (Kafka's default is 20 MiB; a smaller bound
# keeps what a restart replays to a second or two in Python).
SNAPSHOT_BYTES = 4 * 1024 * 1024

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
    """Cluster metadata with its rules; ``image`` is the replay of the metadata log."""

    def __init__(
        self,
        data_dir: Path,
        cluster_id: str,
        node_id: int = 1,
        snapshot_bytes: int = SNAPSHOT_BYTES,
        metadata_log: MetadataLog | None = None,
    ):
        """``metadata_log``: the log of a Raft voter that has just been elected (``raft_node``),
        its epoch already opened; without it the controller is the only voter and opens an epoch."""
        data_dir = Path(data_dir)
        self.snapshot_bytes = snapshot_bytes
        self._owns_log = metadata_log is None
        self.log = metadata_log if metadata_log is not None else MetadataLog(data_dir, node_id)
        self._closed = False
        self._pending: list[MetadataRecord] = []
        self._snapshot_due = False
        self._load(cluster_id)
        self._migrate_json(data_dir / METADATA_FILE)
        if metadata_log is None:
            self.log.become_leader()
        if not self.image.features:
            self._emit(
                record("FEATURE_LEVEL_RECORD", name=METADATA_VERSION[0], featureLevel=METADATA_VERSION[1])
            )
            self._commit()
            self._bootstrap_security(data_dir)
        # Brokers alive before a restart stay so for a grace period (a session timeout): they
        # reconnect and register again, and only those that do not are fenced then.

    # --- the log -------------------------------------------------------------------------------
    def _load(self, cluster_id: str) -> None:
        """Rebuild the image: the latest snapshot, then every record after it."""
        self.image = MetadataImage(cluster_id=cluster_id)
        self.removed_topic_ids: set[uuid.UUID] = set()
        self.recent: list[tuple[int, MetadataRecord]] = []  # the log since the snapshot, for fetches
        self.snapshot: tuple[int, list[MetadataRecord]] | None = None
        latest = self.log.latest_snapshot()
        start = self.log.start_offset
        if latest is not None:
            end, path = latest
            records = self.log.read_snapshot(path)
            for rec in records:
                self.image.replay(rec)
            self.image.version = end - 1
            self.snapshot = (end, records)
            start = max(start, end)
        for offset, rec in self.log.read(start, max_records=1 << 62):
            self._replay_logged(offset, rec)
        self._bytes_since_snapshot = sum(len(encode(r)) for _, r in self.recent)
        self._collisions = CollisionIndex(self.image.topics)
        if self.image.version >= 0:
            log.info(
                "Loaded the metadata log up to offset %d: %d broker(s), %d topic(s)",
                self.image.version, len(self.image.brokers), len(self.image.topics),
            )  # fmt: skip

    def _replay_logged(self, offset: int, rec: MetadataRecord) -> None:
        if rec.type == "REMOVE_TOPIC_RECORD":
            self.removed_topic_ids.add(rec.data["topicId"])
        self.image.replay(rec)
        self.image.version = offset
        self.recent.append((offset, rec))

    def _migrate_json(self, path: Path) -> None:
        """The metadata of an older kcli (one JSON file rewritten per change) becomes the first
        records of the log; the file is kept, renamed, as nothing is deleted unaccounted for."""
        if not path.exists() or self.log.end_offset > 0:
            return
        data = json.loads(path.read_text())
        old = data["image"]
        for b in old.get("brokers", []):
            self._emit(
                record(
                    "REGISTER_BROKER_RECORD", 1, brokerId=int(b["id"]), incarnationId=uuid.uuid4(),
                    brokerEpoch=self.log.end_offset + len(self._pending),
                    endPoints=[{"name": "PLAINTEXT", "host": b["host"], "port": int(b["port"]), "securityProtocol": 0}],
                    features=[], rack=b.get("rack"), fenced=bool(b["fenced"]),
                )
            )  # fmt: skip
        for t in old.get("topics", []):
            for rec in topic_records(TopicState.from_json(t)):
                self._emit(rec)
        for binding in old.get("acls") or []:
            self._emit(acl_record(uuid.uuid4(), list(binding)))
        for user, creds in (old.get("scram") or {}).items():
            for mechanism, credential in creds.items():
                self._emit(scram_record(user, mechanism, credential))
        if data.get("next_producer_id"):
            self._emit(
                record(
                    "PRODUCER_IDS_RECORD",
                    brokerId=-1,
                    brokerEpoch=-1,
                    nextProducerId=int(data["next_producer_id"]),
                )
            )
        self._commit()
        path.rename(path.with_name(path.name + ".migrated"))
        log.info("Moved the metadata of %s into the metadata log (%d topics)", path, len(self.image.topics))

    def bootstrap(self, topics: list[Any], next_producer_id: int) -> None:
        """A lone broker's catalog from an older kcli (``TopicRecord``s: name, topic_id, replicas,
        configs) as the log's first records: each partition led by its first replica, under the
        epochs the broker has used (0), and producer ids going on from where they were."""
        for t in topics:
            states = [PartitionState(list(r), list(r), r[0] if r else NO_LEADER) for r in t.replicas]
            for rec in topic_records(TopicState(t.name, t.topic_id, states, dict(t.configs), t.internal)):
                self._emit(rec)
            self._collisions.add(t.name)
        if next_producer_id > self.image.next_producer_id:
            self._emit(
                record("PRODUCER_IDS_RECORD", brokerId=-1, brokerEpoch=-1, nextProducerId=next_producer_id)
            )
        self._commit()

    def _emit(self, rec: MetadataRecord) -> None:
        """Replay ``rec`` now and keep it for the operation's commit."""
        self.image.replay(rec)
        self._pending.append(rec)

    def _commit(self) -> None:
        """Append the operation's records as one batch, flushed, before anyone acts on them. A
        failed write brings the image back to what the log holds, then raises."""
        records, self._pending = self._pending, []
        if not records:
            return
        first = self.log.end_offset
        values = [encode(r) for r in records]
        try:
            last = self.log.append_encoded(values)
        except Exception as exc:
            # The storage layer said why (once per log dir state change); the change is undone by
            # rebuilding the image from what the log holds.
            log.warning(
                "Could not write %d metadata record(s) (%s); the change is not made", len(records), exc
            )
            self._load(self.image.cluster_id)
            raise
        for i, rec in enumerate(records):
            if rec.type == "REMOVE_TOPIC_RECORD":
                self.removed_topic_ids.add(rec.data["topicId"])
            self.recent.append((first + i, rec))
        self._bytes_since_snapshot += sum(map(len, values))
        self.image.version = last
        if self._bytes_since_snapshot >= self.snapshot_bytes:
            self._snapshot_due = True
            self.maybe_snapshot()

    @property
    def committed(self) -> int:
        """The last offset a majority of voters has (with one voter: the last one appended)."""
        return min(self.image.version, self.log.committed_offset)

    def maybe_snapshot(self) -> None:
        """A snapshot holds committed records only: with a quorum it waits until the high
        watermark reaches the log end (called again as it moves)."""
        if self._snapshot_due and self.log.committed_offset >= self.log.end_offset - 1:
            self._snapshot_due = False
            self.take_snapshot()

    def take_snapshot(self) -> None:
        """Snapshot the image at the log end (KRaft's metadata.log.max.record.bytes.between.snapshots),
        so a restart and a new broker read the snapshot and the short log after it."""
        end = self.log.end_offset
        records = self.image.records()
        self.log.write_snapshot(records, end)
        self.snapshot = (end, records)
        self.recent = [(o, r) for o, r in self.recent if o >= end]
        self._bytes_since_snapshot = 0

    def records_after(self, offset: int, max_records: int) -> list[tuple[int, MetadataRecord]] | None:
        """The committed records after ``offset`` (at most ``max_records``); None when they are
        no longer in the log (the follower must load the snapshot first)."""
        committed = self.committed
        if offset >= committed:
            return []
        if self.snapshot is not None and offset + 1 < self.snapshot[0]:
            return None  # before the snapshot: only the snapshot has it now
        i = bisect.bisect_right(self.recent, offset, key=lambda item: item[0])
        return [item for item in self.recent[i : i + max_records] if item[0] <= committed]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_log:
                self.log.close()

    # --- brokers -----------------------------------------------------------------------------
    def register_broker(self, reg: BrokerRegistration, known_topics: Iterable[dict[str, Any]] = ()) -> int:
        """A broker (re)joins: registered (fenced, as Kafka registers it) and unfenced, topics only
        it remembers adopted, leaderships it can take back given back. Returns its broker epoch."""
        epoch = self.log.end_offset + len(self._pending)
        self._emit(
            record(
                "REGISTER_BROKER_RECORD", 1, brokerId=reg.node_id, incarnationId=reg.incarnation_id,
                brokerEpoch=epoch,
                endPoints=reg.end_points(),
                features=[], rack=reg.rack, fenced=True,
            )
        )  # fmt: skip
        self._emit(
            record("BROKER_REGISTRATION_CHANGE_RECORD", brokerId=reg.node_id, brokerEpoch=epoch, fenced=-1)
        )
        self.adopt_topics(known_topics, commit=False)
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if state.leader != NO_LEADER or reg.node_id not in state.replicas:
                    continue
                if reg.node_id in state.isr:
                    self._set_leader(topic, index, reg.node_id, "broker returned")
                elif self._unclean_allowed(topic):
                    self._set_leader(topic, index, reg.node_id, "unclean election", isr=[reg.node_id])
        log.info("Registered broker %d at %s:%d with epoch %d", reg.node_id, reg.host, reg.port, epoch)
        self._commit()
        return epoch

    def adopt_topics(self, known_topics: Iterable[dict[str, Any]], commit: bool = True) -> list[str]:
        """A broker's cached topics the controller does not know (its data dir was wiped, as
        /tmp/zookeeper is at reboot): kept rather than the broker's logs deleted - unless this
        log says the topic was deleted. Returns the names adopted."""
        adopted = []
        for data in known_topics:
            name, topic_id = data["name"], uuid.UUID(data["topic_id"])
            if (
                name in self.image.topics
                or topic_id in self.removed_topic_ids
                or topic_id in self.image.topic_names
            ):
                continue
            states = []
            for replicas in data["replicas"]:
                reps = [int(r) for r in replicas]
                isr = [x for x in reps if self._alive(x)] or reps[:1]
                leader = next((r for r in reps if r in isr and self._alive(r)), NO_LEADER)
                states.append(PartitionState(reps, isr, leader))
            topic = TopicState(name, topic_id, states, dict(data.get("configs", {})), name in INTERNAL_TOPICS)
            for rec in topic_records(topic):
                self._emit(rec)
            self._collisions.add(name)
            adopted.append(name)
            log.info("Adopted topic %s from a registering broker's metadata cache", name)
        if commit:
            self._commit()
        return adopted

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
        self._emit(
            record("BROKER_REGISTRATION_CHANGE_RECORD", brokerId=node_id, brokerEpoch=broker.epoch, fenced=1)
        )
        log.info("Fencing broker %d: its session ended", node_id)
        for topic in self.image.topics.values():
            for index, state in enumerate(topic.partitions):
                if node_id not in state.isr and state.leader != node_id:
                    continue
                if state.leader == node_id:
                    self._elect_after_loss(topic, index, state, node_id)
                elif len(state.isr) > 1:
                    self._emit(partition_change(topic, index, isr=[r for r in state.isr if r != node_id]))
        self._commit()

    def offline_replicas(self, node_id: int, partitions: list[tuple[str, int]]) -> None:
        """A log dir of broker ``node_id`` failed (Kafka's offline log dir): its replicas there leave
        the ISR and leadership moves to another live in-sync replica. A partition without one
        keeps its leader (kcli's failing dir still serves reads, see storage.dir_health)."""
        for name, index in partitions:
            topic = self.image.topics.get(name)
            if topic is None or not 0 <= index < len(topic.partitions):
                continue
            state = topic.partitions[index]
            others = [r for r in state.isr if r != node_id and self._alive(r)]
            if node_id not in state.isr or not others:
                continue
            if state.leader == node_id:
                self._set_leader(topic, index, others[0], f"a log dir of broker {node_id} failed", isr=others)
            else:
                self._emit(partition_change(topic, index, isr=[r for r in state.isr if r != node_id]))
        self._commit()

    def _elect_after_loss(self, topic: TopicState, index: int, state: PartitionState, lost: int) -> None:
        remaining = [r for r in state.isr if r != lost]
        candidates = [r for r in state.replicas if r in remaining and self._alive(r)]
        if candidates:
            self._set_leader(topic, index, candidates[0], f"broker {lost} was fenced", isr=remaining)
            return
        if self._unclean_allowed(topic):
            live = [r for r in state.replicas if self._alive(r)]
            if live:
                self._set_leader(topic, index, live[0], "unclean election", isr=[live[0]])
                return
        # No in-sync replica is left: keep the last one in the ISR, so it leads again on return
        # (a clean election), and leave the partition offline meanwhile.
        self._emit(partition_change(topic, index, leader=NO_LEADER))
        log.warning("Partition %s-%d is offline: no in-sync replica is alive", topic.name, index)

    def _set_leader(
        self, topic: TopicState, index: int, leader: int, why: str, isr: list[int] | None = None
    ) -> None:
        self._emit(partition_change(topic, index, leader=leader, isr=isr))
        state = topic.partitions[index]
        log.info(
            "Partition %s-%d: leader %d with epoch %d, ISR %s (%s)",
            topic.name, index, leader, state.leader_epoch, state.isr, why,
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

    # --- producer ids ------------------------------------------------------------------------
    # --- security metadata (ACLs and SCRAM credentials, replicated to every broker) ---------
    def alter_acls(self, add: list[list[Any]], remove: list[list[Any]]) -> None:
        """Bindings (AclBinding.to_json) added and removed, each with its own id as Kafka's
        AclControlManager gives it; adding a binding already there changes nothing."""
        doomed = {tuple(a) for a in remove}
        known = {tuple(b) for b in self.image.acl_entries.values()}
        for acl_id, binding in list(self.image.acl_entries.items()):
            if tuple(binding) in doomed:
                self._emit(record("REMOVE_ACCESS_CONTROL_ENTRY_RECORD", id=acl_id))
        for binding in add:
            if tuple(binding) not in known:
                known.add(tuple(binding))
                self._emit(acl_record(uuid.uuid4(), list(binding)))
        self._commit()

    def alter_scram(self, upserts: list[list[str]], deletions: list[list[str]]) -> None:
        """(user, mechanism, credential string) upserts and (user, mechanism) deletions."""
        for user, mechanism in deletions:
            if mechanism in self.image.scram.get(user, {}):
                self._emit(remove_scram_record(user, mechanism))
        for user, mechanism, credential in upserts:
            self._emit(scram_record(user, mechanism, credential))
        self._commit()

    def _bootstrap_security(self, data_dir: Path) -> None:
        """A new metadata log starts with the SCRAM users ``kafka-storage format --add-scram``
        stored in the log dir, and the ACLs and credentials an older kcli kept there, as Kafka's
        bootstrap records; once the log exists it alone says who the users are."""
        from kcli.server.security.store import SecurityStore

        store = SecurityStore.load(data_dir)
        data = store.to_json()
        if data["acls"] or data["scram"]:
            self.alter_acls([list(a) for a in data["acls"]], [])
            self.alter_scram([[u, m, c] for u, creds in data["scram"].items() for m, c in creds.items()], [])

    def allocate_producer_ids(self, count: int = PRODUCER_ID_BLOCK, broker: int = -1) -> int:
        """A block of producer ids unique across the cluster and its restarts; returns its start."""
        start = self.image.next_producer_id
        registration = self.image.brokers.get(broker)
        self._emit(
            record(
                "PRODUCER_IDS_RECORD",
                brokerId=broker,
                brokerEpoch=registration.epoch if registration is not None else -1,
                nextProducerId=start + count,
            )
        )
        self._commit()
        return start
