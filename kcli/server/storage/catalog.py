"""The cluster's topic catalog: names, topic ids, partition assignment and config overrides.

In Kafka this lives in the KRaft metadata log (or ZooKeeper). Here it is one small JSON document
per broker in one of its log directories (found wherever it is, see ``storage/log_dirs.py``),
rewritten atomically (temp file, fsync, rename, directory fsync) on every change. Changes are rare (create/delete/alter), so simplicity wins over a log of
deltas; the topic *data* stays in Kafka's own per-partition layout next to it. A request that makes
many changes (CreateTopics with 1,000 topics) wraps them in :meth:`Catalog.batched` so the document
is written and fsynced once per request, before the answer, instead of once per topic.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from kcli.server.storage.dir_health import dir_health
from kcli.server.storage.errors import KafkaStorageError, StorageStartupError

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


_WRITE_LOCK = threading.Lock()


@dataclass
class Catalog:
    path: Path
    topics: dict[str, TopicRecord] = field(default_factory=dict)
    broker_configs: dict[str, str] = field(default_factory=dict)
    group_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    next_producer_id_block: int = 0
    cluster_id: str | None = None  # kept so a lost meta.properties can be written again
    # directory.id -> path of every log directory in use: a partition missing at start-up can then
    # be told apart from a log directory missing from log.dirs.
    log_dirs: dict[str, str] = field(default_factory=dict)
    # True once the metadata log (__cluster_metadata-0) holds the topics and this file is only the
    # broker's cache of them: a metadata log missing then is lost metadata, not an older kcli.
    metadata_log: bool = False
    _batch_depth: int = field(default=0, repr=False, compare=False)
    _pending: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def load(cls, log_dir: Path) -> Catalog:
        """The catalog in ``log_dir`` (empty when there is none); StorageStartupError, naming the
        file, when it cannot be read: reading it as empty would orphan every topic's data."""
        path = log_dir / CATALOG_FILE
        catalog = cls(path)
        if path.exists():
            try:
                data = json.loads(path.read_bytes())
                catalog.topics = {t["name"]: TopicRecord.from_json(t) for t in data.get("topics", [])}
                catalog.broker_configs = dict(data.get("broker_configs", {}))
                catalog.group_configs = {g: dict(c) for g, c in data.get("group_configs", {}).items()}
                catalog.next_producer_id_block = int(data.get("next_producer_id_block", 0))
                catalog.cluster_id = data.get("cluster_id") or None
                catalog.log_dirs = {str(k): str(v) for k, v in data.get("log_dirs", {}).items()}
                catalog.metadata_log = bool(data.get("metadata_log", False))
            except OSError as exc:
                raise StorageStartupError(
                    f"Error while reading the topic catalog {path}: {exc.strerror or exc}",
                    f"cannot be read ({exc.strerror or exc})",
                ) from None
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                what = (
                    "it is not valid JSON" if isinstance(exc, ValueError) else f"unexpected content ({exc!r})"
                )
                raise StorageStartupError(
                    f"The topic catalog {path} is damaged ({what}): restore it from a backup, or move the "
                    "partition directories out of log.dirs and the file away to start without topics",
                    f"is damaged ({what})",
                ) from None
        return catalog

    @staticmethod
    def peek_cluster_id(log_dir: Path) -> str | None:
        """The cluster id recorded in the catalog of ``log_dir``, None when it cannot be told."""
        try:
            value = json.loads((log_dir / CATALOG_FILE).read_bytes()).get("cluster_id")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) and value else None

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Defer :meth:`save` calls made inside the block to one write when it ends.

        The write happens before the block returns, so a request handler that answers after the
        block has made every change durable first, at the cost of one fsync instead of one per topic.
        """
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._pending:
                self._write()

    def save(self) -> None:
        """Persist the catalog now, or at the end of the enclosing :meth:`batched` block."""
        if self._batch_depth:
            self._pending = True
            return
        self._write()

    def _write(self) -> None:
        with _WRITE_LOCK:  # a background save of the broker's cache may be writing too
            self._write_now()

    def _write_now(self) -> None:
        self._pending = False
        data = {
            "topics": [t.to_json() for t in self.topics.values()],
            "broker_configs": self.broker_configs,
            "group_configs": self.group_configs,
            "next_producer_id_block": self.next_producer_id_block,
            "cluster_id": self.cluster_id,
            "log_dirs": self.log_dirs,
            "metadata_log": self.metadata_log,
        }
        tmp = self.path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            fsync_directory(self.path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            # The previous version is intact (the rename is the commit): the caller answers
            # KAFKA_STORAGE_ERROR instead of closing the client's connection.
            dir_health().failed(self.path.parent, "writing the topic catalog", exc)
            raise KafkaStorageError(
                f"Could not write the topic catalog {self.path}: {exc.strerror or exc}"
            ) from exc


def fsync_directory(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (the file's own fsync does not cover it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
