"""The cluster metadata image: brokers, topics, and each partition's replicas, leader and ISR.

The image is the replay of the metadata log (``metadata_log``): :meth:`MetadataImage.replay`
applies one KRaft record as Kafka's MetadataDelta does, optionally noting what it changed in a
:class:`MetadataDelta` so a broker reconciles only those partitions. ``version`` is the offset
of the last record replayed (KRaft's metadata offset; -1 for an empty image). The controller and
every broker replay the same records, so they hold the same image at the same offset.
:meth:`MetadataImage.records` writes an image back as records, for snapshots.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from kcli.protocol.metadata_records import MetadataRecord, record
from kcli.server.security.scram import ScramCredential

NO_LEADER = -1
NO_LEADER_CHANGE = -2  # PartitionChangeRecord: the leader did not change
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
TOPIC_RESOURCE = 2  # ConfigResource.Type.TOPIC
METADATA_VERSION = ("metadata.version", 21)  # Kafka 3.9-IV0
SCRAM_MECHANISMS = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}  # Kafka's ScramMechanism types
SCRAM_MECHANISM_IDS = {name: key for key, name in SCRAM_MECHANISMS.items()}
SECURITY_RECORDS = frozenset(
    {
        "ACCESS_CONTROL_ENTRY_RECORD",
        "REMOVE_ACCESS_CONTROL_ENTRY_RECORD",
        "USER_SCRAM_CREDENTIAL_RECORD",
        "REMOVE_USER_SCRAM_CREDENTIAL_RECORD",
    }
)


@dataclass
class BrokerRegistration:
    node_id: int
    host: str
    port: int
    rack: str | None = None
    fenced: bool = True
    epoch: int = -1  # the broker epoch: the offset of its RegisterBrokerRecord
    incarnation_id: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=0))
    #: every advertised listener, as RegisterBrokerRecord's endPoints ({name, host, port,
    #: securityProtocol}); ``host``/``port`` are the first one's. Clients are told the endpoint
    #: of the listener they came in on, as Kafka's MetadataCache answers.
    endpoints: list[dict[str, Any]] = field(default_factory=list)

    def end_points(self) -> list[dict[str, Any]]:
        if self.endpoints:
            return [dict(e) for e in self.endpoints]
        return [{"name": "PLAINTEXT", "host": self.host, "port": self.port, "securityProtocol": 0}]

    def address(self, listener: str | None) -> tuple[str, int]:
        """Host and port for clients of ``listener`` (the first endpoint for another name)."""
        for e in self.endpoints:
            if e["name"] == listener:
                return str(e["host"]), int(e["port"])
        return self.host, self.port


@dataclass
class PartitionState:
    replicas: list[int]
    isr: list[int]
    leader: int
    leader_epoch: int = 0
    partition_epoch: int = 0
    #: KIP-455: during a reassignment ``replicas`` is the target followed by ``removing``;
    #: ``adding`` are the target replicas still catching up (PartitionRecord's fields).
    adding: list[int] = field(default_factory=list)
    removing: list[int] = field(default_factory=list)

    @property
    def reassigning(self) -> bool:
        return bool(self.adding or self.removing)

    def to_json(self) -> list[Any]:
        return [self.replicas, self.isr, self.leader, self.leader_epoch, self.partition_epoch]

    @classmethod
    def from_json(cls, data: list[Any]) -> PartitionState:
        replicas, isr, leader, leader_epoch, partition_epoch = data
        return cls(list(replicas), list(isr), int(leader), int(leader_epoch), int(partition_epoch))


@dataclass
class TopicState:
    name: str
    topic_id: uuid.UUID
    partitions: list[PartitionState]
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": str(self.topic_id),
            "partitions": [p.to_json() for p in self.partitions],
            "configs": self.configs,
            "internal": self.internal,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopicState:
        return cls(
            data["name"],
            uuid.UUID(data["id"]),
            [PartitionState.from_json(p) for p in data["partitions"]],
            dict(data.get("configs", {})),
            bool(data.get("internal", False)),
        )


@dataclass
class MetadataDelta:
    """What a run of records changed: the partitions to reconcile, topics gone, brokers."""

    partitions: set[tuple[str, int]] = field(default_factory=set)
    removed: list[TopicState] = field(default_factory=list)
    configs: set[str] = field(default_factory=set)
    brokers: bool = False
    security: bool = False  # ACLs or SCRAM credentials changed

    @property
    def empty(self) -> bool:
        return not (self.partitions or self.removed or self.configs or self.brokers or self.security)


@dataclass
class MetadataImage:
    version: int = -1
    cluster_id: str = ""
    brokers: dict[int, BrokerRegistration] = field(default_factory=dict)
    topics: dict[str, TopicState] = field(default_factory=dict)
    topic_names: dict[uuid.UUID, str] = field(default_factory=dict)
    next_producer_id: int = 0
    features: dict[str, int] = field(default_factory=dict)
    #: ACL bindings by their id (kcli.server.security.acls.AclBinding.to_json lists) and SCRAM
    #: credentials (user -> mechanism -> Kafka's credential string): the replay of Kafka's
    #: AccessControlEntryRecord and UserScramCredentialRecord.
    acl_entries: dict[uuid.UUID, list[Any]] = field(default_factory=dict)
    scram: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def acls(self) -> list[list[Any]]:
        return list(self.acl_entries.values())

    @property
    def live_brokers(self) -> list[BrokerRegistration]:
        return [b for _, b in sorted(self.brokers.items()) if not b.fenced]

    @property
    def controller_id(self) -> int:
        """What clients are told: Kafka hides KRaft controllers behind a live broker's id, and in
        ZooKeeper mode the controller is a broker; here the lowest live broker id plays it."""
        live = self.live_brokers
        return live[0].node_id if live else -1

    def topic_by_id(self, topic_id: uuid.UUID) -> TopicState | None:
        name = self.topic_names.get(topic_id)
        return None if name is None else self.topics.get(name)

    # --- replay --------------------------------------------------------------------------------
    def replay(self, rec: MetadataRecord, delta: MetadataDelta | None = None) -> None:
        """Apply one record, as Kafka's MetadataDelta.replay; unknown types change nothing."""
        d = rec.data
        kind = rec.type
        if kind == "PARTITION_CHANGE_RECORD":
            topic = self.topic_by_id(d["topicId"])
            if topic is None or d["partitionId"] >= len(topic.partitions):
                return
            st = topic.partitions[d["partitionId"]]
            if d.get("replicas") is not None:
                st.replicas = list(d["replicas"])
            if d.get("isr") is not None:
                st.isr = list(d["isr"])
            if d.get("addingReplicas") is not None:
                st.adding = list(d["addingReplicas"])
            if d.get("removingReplicas") is not None:
                st.removing = list(d["removingReplicas"])
            if d.get("leader", NO_LEADER_CHANGE) != NO_LEADER_CHANGE:
                st.leader = d["leader"]
                st.leader_epoch += 1
            st.partition_epoch += 1
            if delta is not None:
                delta.partitions.add((topic.name, d["partitionId"]))
        elif kind == "PARTITION_RECORD":
            topic = self.topic_by_id(d["topicId"])
            if topic is None:
                return
            index = d["partitionId"]
            while len(topic.partitions) <= index:
                topic.partitions.append(PartitionState([], [], NO_LEADER, -1, -1))
            topic.partitions[index] = PartitionState(
                list(d["replicas"]), list(d["isr"]), d["leader"], d["leaderEpoch"], d["partitionEpoch"],
                list(d.get("addingReplicas") or ()), list(d.get("removingReplicas") or ()),
            )  # fmt: skip
            if delta is not None:
                delta.partitions.add((topic.name, index))
        elif kind == "TOPIC_RECORD":
            name = d["name"]
            self.topics[name] = TopicState(name, d["topicId"], [], {}, name in INTERNAL_TOPICS)
            self.topic_names[d["topicId"]] = name
        elif kind == "CONFIG_RECORD":
            topic = self.topics.get(d["resourceName"]) if d["resourceType"] == TOPIC_RESOURCE else None
            if topic is None:
                return
            if d["value"] is None:
                topic.configs.pop(d["name"], None)
            else:
                topic.configs[d["name"]] = d["value"]
            if delta is not None:
                delta.configs.add(topic.name)
        elif kind == "REMOVE_TOPIC_RECORD":
            name = self.topic_names.pop(d["topicId"], None)
            topic = self.topics.pop(name, None) if name is not None else None
            if topic is not None and delta is not None:
                delta.removed.append(topic)
                delta.partitions -= {(topic.name, i) for i in range(len(topic.partitions))}
                delta.configs.discard(topic.name)
        elif kind == "REGISTER_BROKER_RECORD":
            endpoint = d["endPoints"][0] if d["endPoints"] else {"host": "", "port": 0}
            self.brokers[d["brokerId"]] = BrokerRegistration(
                d["brokerId"], endpoint["host"], endpoint["port"], d["rack"], d["fenced"], d["brokerEpoch"],
                d["incarnationId"], [dict(e) for e in d["endPoints"]],
            )  # fmt: skip
            if delta is not None:
                delta.brokers = True
        elif kind in ("FENCE_BROKER_RECORD", "UNFENCE_BROKER_RECORD"):
            broker = self.brokers.get(d["id"])
            if broker is not None:
                broker.fenced = kind == "FENCE_BROKER_RECORD"
                if delta is not None:
                    delta.brokers = True
        elif kind == "BROKER_REGISTRATION_CHANGE_RECORD":
            broker = self.brokers.get(d["brokerId"])
            if broker is not None and d.get("fenced", 0) != 0:
                broker.fenced = d["fenced"] == 1
                if delta is not None:
                    delta.brokers = True
        elif kind == "UNREGISTER_BROKER_RECORD":
            if self.brokers.pop(d["brokerId"], None) is not None and delta is not None:
                delta.brokers = True
        elif kind == "PRODUCER_IDS_RECORD":
            self.next_producer_id = max(self.next_producer_id, d["nextProducerId"])
        elif kind == "FEATURE_LEVEL_RECORD":
            self.features[d["name"]] = d["featureLevel"]
        elif kind in SECURITY_RECORDS:
            self._replay_security(kind, d)
            if delta is not None:
                delta.security = True

    def _replay_security(self, kind: str, d: dict[str, Any]) -> None:
        """ACLs and SCRAM credentials, as Kafka's AclControlManager and ScramControlManager."""
        if kind == "ACCESS_CONTROL_ENTRY_RECORD":
            self.acl_entries[d["id"]] = [
                d["resourceType"], d["resourceName"], d["patternType"], d["principal"], d["host"],
                d["operation"], d["permissionType"],
            ]  # fmt: skip
        elif kind == "REMOVE_ACCESS_CONTROL_ENTRY_RECORD":
            self.acl_entries.pop(d["id"], None)
        else:
            mechanism = SCRAM_MECHANISMS.get(d["mechanism"])
            if mechanism is None:
                return
            if kind == "USER_SCRAM_CREDENTIAL_RECORD":
                credential = ScramCredential(d["salt"], d["storedKey"], d["serverKey"], d["iterations"])
                self.scram.setdefault(d["name"], {})[mechanism] = credential.to_string()
            else:
                mechanisms = self.scram.get(d["name"], {})
                mechanisms.pop(mechanism, None)
                if not mechanisms:
                    self.scram.pop(d["name"], None)

    # --- snapshots -----------------------------------------------------------------------------
    def records(self) -> list[MetadataRecord]:
        """The records that rebuild this image from nothing (a snapshot's content)."""
        out = [
            record("FEATURE_LEVEL_RECORD", name=n, featureLevel=v) for n, v in sorted(self.features.items())
        ]
        for _, b in sorted(self.brokers.items()):
            out.append(
                record(
                    "REGISTER_BROKER_RECORD",
                    1,
                    brokerId=b.node_id,
                    incarnationId=b.incarnation_id,
                    brokerEpoch=b.epoch,
                    endPoints=b.end_points(),
                    features=[],
                    rack=b.rack,
                    fenced=b.fenced,
                )
            )
        for topic in self.topics.values():
            out += topic_records(topic)
        if self.next_producer_id:
            out.append(
                record(
                    "PRODUCER_IDS_RECORD", brokerId=-1, brokerEpoch=-1, nextProducerId=self.next_producer_id
                )
            )
        out += [acl_record(acl_id, binding) for acl_id, binding in self.acl_entries.items()]
        for user, mechanisms in sorted(self.scram.items()):
            out += [scram_record(user, m, text) for m, text in sorted(mechanisms.items())]
        return out


def acl_record(acl_id: uuid.UUID, binding: list[Any]) -> MetadataRecord:
    """An ACL binding (AclBinding.to_json) as Kafka's AccessControlEntryRecord."""
    rtype, name, ptype, principal, host, operation, permission = binding
    return record(
        "ACCESS_CONTROL_ENTRY_RECORD",
        id=acl_id, resourceType=int(rtype), resourceName=str(name), patternType=int(ptype),
        principal=str(principal), host=str(host), operation=int(operation), permissionType=int(permission),
    )  # fmt: skip


def scram_record(user: str, mechanism: str, credential: str) -> MetadataRecord:
    """A SCRAM credential (Kafka's credential string) as Kafka's UserScramCredentialRecord."""
    c = ScramCredential.from_string(credential)
    return record(
        "USER_SCRAM_CREDENTIAL_RECORD",
        name=user, mechanism=SCRAM_MECHANISM_IDS[mechanism], salt=c.salt, storedKey=c.stored_key,
        serverKey=c.server_key, iterations=c.iterations,
    )  # fmt: skip


def remove_scram_record(user: str, mechanism: str) -> MetadataRecord:
    return record("REMOVE_USER_SCRAM_CREDENTIAL_RECORD", name=user, mechanism=SCRAM_MECHANISM_IDS[mechanism])


def topic_records(topic: TopicState) -> list[MetadataRecord]:
    """A topic as Kafka's controller writes it: TopicRecord, its ConfigRecords, PartitionRecords."""
    out = [record("TOPIC_RECORD", name=topic.name, topicId=topic.topic_id)]
    out += [
        record("CONFIG_RECORD", resourceType=TOPIC_RESOURCE, resourceName=topic.name, name=k, value=v)
        for k, v in topic.configs.items()
    ]
    for index, st in enumerate(topic.partitions):
        out.append(
            record(
                "PARTITION_RECORD",
                partitionId=index,
                topicId=topic.topic_id,
                replicas=list(st.replicas),
                isr=list(st.isr),
                leader=st.leader,
                leaderEpoch=st.leader_epoch,
                partitionEpoch=st.partition_epoch,
                addingReplicas=list(st.adding),
                removingReplicas=list(st.removing),
            )
        )
    return out


def partition_change(
    topic: TopicState,
    index: int,
    *,
    leader: int = NO_LEADER_CHANGE,
    isr: list[int] | None = None,
    replicas: list[int] | None = None,
    adding: list[int] | None = None,
    removing: list[int] | None = None,
) -> MetadataRecord:
    """Kafka's PartitionChangeRecord: only what changes (None: unchanged; an empty list clears
    a reassignment's adding/removing replicas); a new leader (even -1) bumps the leader epoch
    on replay, every change bumps the partition epoch."""
    return record(
        "PARTITION_CHANGE_RECORD",
        partitionId=index,
        topicId=topic.topic_id,
        leader=leader,
        isr=None if isr is None else list(isr),
        replicas=None if replicas is None else list(replicas),
        addingReplicas=None if adding is None else list(adding),
        removingReplicas=None if removing is None else list(removing),
    )
