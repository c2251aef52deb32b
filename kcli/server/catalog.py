"""The cluster's topic catalog: names, topic ids, partition assignment and config overrides.

In Kafka this lives in the KRaft metadata log (or ZooKeeper). Here it is one small JSON document
per broker in the first log directory, rewritten atomically (temp file, fsync, rename) on every
change. Changes are rare (create/delete/alter), so simplicity wins over a log of deltas; the
topic *data* stays in Kafka's own per-partition layout next to it.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CATALOG_FILE = "__kcli_catalog.json"


@dataclass
class TopicRecord:
    name: str
    topic_id: uuid.UUID
    replicas: list[list[int]]  # per partition: the replica broker ids, preferred leader first
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False

    @property
    def partitions(self) -> int:
        return len(self.replicas)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "topic_id": str(self.topic_id),
            "replicas": self.replicas,
            "configs": self.configs,
            "internal": self.internal,
        }

    @classmethod
    def from_json(cls, data: dict) -> TopicRecord:
        return cls(
            name=data["name"],
            topic_id=uuid.UUID(data["topic_id"]),
            replicas=[list(r) for r in data["replicas"]],
            configs=dict(data.get("configs", {})),
            internal=bool(data.get("internal", False)),
        )


def encode_cluster_id(value: uuid.UUID) -> str:
    """Kafka's cluster ids are a UUID in URL-safe base64 without padding (22 characters)."""
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


@dataclass
class Catalog:
    path: Path
    topics: dict[str, TopicRecord] = field(default_factory=dict)
    broker_configs: dict[str, str] = field(default_factory=dict)
    group_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    next_producer_id_block: int = 0

    @classmethod
    def load(cls, log_dir: Path) -> Catalog:
        path = log_dir / CATALOG_FILE
        catalog = cls(path)
        if path.exists():
            data = json.loads(path.read_text())
            catalog.topics = {t["name"]: TopicRecord.from_json(t) for t in data.get("topics", [])}
            catalog.broker_configs = dict(data.get("broker_configs", {}))
            catalog.group_configs = {g: dict(c) for g, c in data.get("group_configs", {}).items()}
            catalog.next_producer_id_block = int(data.get("next_producer_id_block", 0))
        return catalog

    def save(self) -> None:
        data = {
            "topics": [t.to_json() for t in self.topics.values()],
            "broker_configs": self.broker_configs,
            "group_configs": self.group_configs,
            "next_producer_id_block": self.next_producer_id_block,
        }
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
