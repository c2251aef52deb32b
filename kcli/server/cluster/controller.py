"""The controller (Kafka's QuorumController): the one owner of cluster metadata, its log and its brokers.

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
from pathlib import Path
from typing import Any

from kcli.protocol.metadata_records import MetadataRecord, encode, record
from kcli.server.cluster.image import (
    INTERNAL_TOPICS,
    METADATA_VERSION,
    NO_LEADER,
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
from kcli.server.cluster.replication_control import ReplicationControlManager
from kcli.server.cluster.topic_rules import (
    CollisionIndex,
)

log = logging.getLogger("kafka.controller.QuorumController")

METADATA_FILE = "__kcli_cluster_metadata.json"  # an older kcli's metadata, moved into the log
PRODUCER_ID_BLOCK = 1000
# metadata.log.max.record.bytes.between.snapshots (Kafka's default is 20 MiB; a smaller bound
# keeps what a restart replays to a second or two in Python).
SNAPSHOT_BYTES = 4 * 1024 * 1024


class Controller(ReplicationControlManager):
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
