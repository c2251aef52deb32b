"""The cluster metadata image: brokers, topics, and each partition's replicas, leader and ISR.

The controller owns the one true image and publishes it whole to every broker whenever it changes
(``version`` grows by one per change). Whole images keep brokers simple - apply, compare, act - and
a laptop cluster's metadata is small; Kafka ships deltas of its metadata log for the same effect.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

NO_LEADER = -1


@dataclass
class BrokerRegistration:
    node_id: int
    host: str
    port: int
    rack: str | None = None
    fenced: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.node_id,
            "host": self.host,
            "port": self.port,
            "rack": self.rack,
            "fenced": self.fenced,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrokerRegistration:
        return cls(
            int(data["id"]), str(data["host"]), int(data["port"]), data.get("rack"), bool(data["fenced"])
        )


@dataclass
class PartitionState:
    replicas: list[int]
    isr: list[int]
    leader: int
    leader_epoch: int = 0
    partition_epoch: int = 0

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
class MetadataImage:
    version: int = 0
    cluster_id: str = ""
    brokers: dict[int, BrokerRegistration] = field(default_factory=dict)
    topics: dict[str, TopicState] = field(default_factory=dict)
    #: ACL bindings as kcli.server.security.acls.AclBinding.to_json lists, and SCRAM credentials
    #: (user -> mechanism -> Kafka's credential string): Kafka's AccessControlEntryRecord and
    #: UserScramCredentialRecord. None in an image from a controller that does not keep them.
    acls: list[list[Any]] | None = None
    scram: dict[str, dict[str, str]] | None = None

    @property
    def live_brokers(self) -> list[BrokerRegistration]:
        return [b for _, b in sorted(self.brokers.items()) if not b.fenced]

    @property
    def controller_id(self) -> int:
        """What clients are told: Kafka hides KRaft controllers behind a live broker's id, and in
        ZooKeeper mode the controller is a broker; here the lowest live broker id plays it."""
        live = self.live_brokers
        return live[0].node_id if live else -1

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cluster_id": self.cluster_id,
            "brokers": [b.to_json() for _, b in sorted(self.brokers.items())],
            "topics": [t.to_json() for t in self.topics.values()],
            "acls": self.acls or [],
            "scram": self.scram or {},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetadataImage:
        return cls(
            int(data["version"]),
            str(data.get("cluster_id", "")),
            {b["id"]: BrokerRegistration.from_json(b) for b in data.get("brokers", [])},
            {t["name"]: TopicState.from_json(t) for t in data.get("topics", [])},
            data.get("acls"),
            data.get("scram"),
        )
