"""The broker's state: cluster identity, the topic catalog and the partitions it serves.

API handlers call into this object; it owns no sockets. Keeping the state here, apart from the
network and the codec, is what lets the same handlers serve one broker today and a replicated
cluster later (the controller will own the catalog; partitions already carry their leadership).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kcli.properties import load_properties
from kcli.server.catalog import Catalog, TopicRecord, encode_cluster_id
from kcli.server.config import BrokerConfig
from kcli.server.partition import Partition
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_manager import LogManager
from kcli.server.topic_configs import TOPIC_CONFIGS, broker_default, validate_topic_config

log = logging.getLogger("kafka.server.KafkaServer")

LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_NAME = 249
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
PRODUCER_ID_BLOCK = 1000


class TopicError(Exception):
    """A topic operation Kafka would refuse; carries the protocol error code and Kafka's message."""

    def __init__(self, error_code: int, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def topic_name_problem(name: str) -> str | None:
    """Kafka's topic name rules; None when the name is legal."""
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return 'Topic name cannot be "." or ".."'
    if len(name) > MAX_TOPIC_NAME:
        return (
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME} characters, topic name: {name}"
        )
    if not LEGAL_TOPIC.match(name):
        return (
            f"Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, "
            "'.', '_' and '-'"
        )
    return None


def read_meta(log_dir: Path) -> dict[str, str] | None:
    meta = log_dir / "meta.properties"
    return load_properties(meta) if meta.exists() else None


def write_meta(log_dir: Path, cluster_id: str, node_id: int, kraft: bool) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    id_key = "node.id" if kraft else "broker.id"
    lines = [
        "#",
        f"#{time.strftime('%a %b %d %H:%M:%S %Z %Y')}",
        f"{id_key}={node_id}",
        "version=1" if kraft else "version=0",
        f"cluster.id={cluster_id}",
    ]
    if kraft:
        lines.append(f"directory.id={encode_cluster_id(uuid.uuid4())}")
    (log_dir / "meta.properties").write_text("\n".join(lines) + "\n")


@dataclass
class BrokerNode:
    node_id: int
    host: str
    port: int
    rack: str | None = None


class Broker:
    def __init__(self, config: BrokerConfig):
        self.config = config
        self.node_id = config.node_id
        self.cluster_id = ""
        self.catalog: Catalog
        self.logs = LogManager(list(config.log_dirs), self.default_log_config())
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.topics_by_id: dict[uuid.UUID, TopicRecord] = {}
        self._next_producer_id = 0
        self._producer_id_limit = 0
        self.coordinator = None  # the group coordinator, attached by the daemon

    # --- start-up ---------------------------------------------------------------------------
    def default_log_config(self) -> LogConfig:
        c = self.config
        return LogConfig(
            segment_bytes=c.log_segment_bytes,
            segment_ms=c.log_roll_ms,
            retention_ms=c.log_retention_ms,
            retention_bytes=c.log_retention_bytes,
            cleanup_policy=c.log_cleanup_policy,
            max_message_bytes=c.message_max_bytes,
            index_interval_bytes=c.log_index_interval_bytes,
            message_timestamp_type=c.log_message_timestamp_type,
            delete_retention_ms=c.log_cleaner_delete_retention_ms,
        )

    def ensure_formatted(self, cluster_id: str | None = None) -> None:
        """Read the cluster id from meta.properties, formatting unformatted log dirs first."""
        found = None
        for d in self.config.log_dirs:
            meta = read_meta(d)
            if meta and meta.get("cluster.id"):
                found = meta["cluster.id"]
                break
        if found is None:
            found = cluster_id or encode_cluster_id(uuid.uuid4())
            log.info(
                "Formatting %s with cluster.id %s (the log directory was not formatted; "
                "kafka-storage format does this explicitly)",
                ",".join(str(d) for d in self.config.log_dirs),
                found,
            )
        for d in self.config.log_dirs:
            if read_meta(d) is None:
                write_meta(d, found, self.node_id, self.config.kraft)
        self.cluster_id = found

    def load(self, cluster_id: str | None = None) -> None:
        """Open the catalog and every partition log; ``cluster_id`` comes from ZooKeeper mode."""
        self.ensure_formatted(cluster_id)
        self.catalog = Catalog.load(self.config.log_dirs[0])
        self._producer_id_limit = self.catalog.next_producer_id_block
        self._next_producer_id = self._producer_id_limit
        existing = self.logs.load()
        for record in self.catalog.topics.values():
            self._attach(record)
        # Partition directories whose topic is no longer in the catalog (a delete interrupted by
        # a crash) are removed, as Kafka deletes logs of topics missing from its metadata.
        for topic, index in list(existing):
            if topic not in self.catalog.topics or index >= self.catalog.topics[topic].partitions:
                self.logs.delete(topic, index)

    def _attach(self, record: TopicRecord) -> None:
        self.topics_by_id[record.topic_id] = record
        log_config = self.log_config_for(record)
        for index, replicas in enumerate(record.replicas):
            key = (record.name, index)
            if key in self.partitions:
                continue
            # create() returns an already-loaded log with this topic's config applied (loading
            # opens every log with the broker defaults).
            plog = self.logs.create(record.name, index, log_config)
            partition = Partition(
                topic=record.name,
                index=index,
                topic_id=record.topic_id,
                log=plog,
                leader=self.node_id,
                replicas=list(replicas),
                isr=list(replicas),
            )
            # A leader whose ISR is itself owns everything in its log: after a crash the
            # checkpointed high watermark may be older than what was acknowledged.
            partition.advance_high_watermark()
            self.partitions[key] = partition

    def log_config_for(self, record: TopicRecord) -> LogConfig:
        return LogConfig.from_topic_configs(record.configs, self.default_log_config())

    # --- topics -------------------------------------------------------------------------------
    def live_brokers(self) -> list[BrokerNode]:
        listener = self.config.advertised()[0]
        return [BrokerNode(self.node_id, listener.host, listener.port, self.config.broker_rack)]

    def topic(self, name: str) -> TopicRecord | None:
        return self.catalog.topics.get(name)

    def partition(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    def create_topic(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        assignment: dict[int, list[int]] | None = None,
        configs: dict[str, str] | None = None,
        validate_only: bool = False,
        internal: bool = False,
    ) -> TopicRecord:
        """Create a topic as CreateTopics does; raises TopicError with Kafka's code and message."""
        problem = topic_name_problem(name)
        if problem:
            raise TopicError(17, problem)
        if name in self.catalog.topics:
            raise TopicError(36, f"Topic '{name}' already exists.")
        configs = dict(configs or {})
        for key, value in configs.items():
            try:
                validate_topic_config(key, value)
            except ValueError as exc:
                raise TopicError(40, str(exc)) from None
        brokers = [b.node_id for b in self.live_brokers()]
        if assignment:
            replicas = [assignment[p] for p in sorted(assignment)]
            if sorted(assignment) != list(range(len(assignment))):
                raise TopicError(39, "Replica assignment partitions must be consecutive from 0")
            for reps in replicas:
                unknown = [r for r in reps if r not in brokers]
                if unknown:
                    raise TopicError(39, f"Unknown broker(s) {unknown} in replica assignment")
                if len(set(reps)) != len(reps):
                    raise TopicError(39, f"Duplicate brokers in replica assignment {reps}")
        else:
            partitions = self.config.num_partitions if num_partitions == -1 else num_partitions
            rf = self.config.default_replication_factor if replication_factor == -1 else replication_factor
            if partitions <= 0:
                raise TopicError(37, "Number of partitions must be larger than 0.")
            if rf <= 0:
                raise TopicError(38, "Replication factor must be larger than 0.")
            if rf > len(brokers):
                raise TopicError(
                    38, f"Replication factor: {rf} larger than available brokers: {len(brokers)}."
                )
            replicas = [[brokers[(p + i) % len(brokers)] for i in range(rf)] for p in range(partitions)]
        record = TopicRecord(name, uuid.uuid4(), replicas, configs, internal or name in INTERNAL_TOPICS)
        if validate_only:
            return record
        self.catalog.topics[name] = record
        try:
            self._attach(record)
        except OSError as exc:
            # Out of file descriptors or disk: undo what was opened and answer with an error code
            # rather than letting the request close the client's connection.
            log.error("Could not create topic %s: %s", name, exc)
            del self.catalog.topics[name]
            self.topics_by_id.pop(record.topic_id, None)
            for index in range(record.partitions):
                self.partitions.pop((name, index), None)
                self.logs.delete(name, index)
            raise TopicError(
                -1, f"Could not create the logs of topic '{name}': {exc.strerror or exc}"
            ) from None
        self.catalog.save()
        log.info("Created topic %s with %d partitions", name, record.partitions)
        return record

    def auto_create(self, name: str) -> TopicRecord | None:
        if not self.config.auto_create_topics_enable or topic_name_problem(name):
            return None
        try:
            return self.create_topic(name)
        except TopicError:
            return self.topic(name)

    def delete_topic(self, name: str) -> None:
        record = self.catalog.topics.get(name)
        if record is None:
            raise TopicError(3, "This server does not host this topic-partition.")
        if not self.config.delete_topic_enable:
            raise TopicError(73, "Topic deletion is disabled.")
        del self.catalog.topics[name]
        self.catalog.save()
        self.topics_by_id.pop(record.topic_id, None)
        for index in range(record.partitions):
            partition = self.partitions.pop((name, index), None)
            if partition is not None:
                partition.wake_fetchers()
            self.logs.delete(name, index)
        log.info("Deleted topic %s", name)

    def create_partitions(self, name: str, count: int, validate_only: bool = False) -> None:
        record = self.catalog.topics.get(name)
        if record is None:
            raise TopicError(3, f"The topic '{name}' does not exist.")
        if count < record.partitions:
            raise TopicError(
                37,
                f"Topic currently has {record.partitions} partitions, which is higher "
                f"than the requested {count}.",
            )
        if count == record.partitions:
            raise TopicError(37, f"Topic already has {record.partitions} partitions.")
        if validate_only:
            return
        rf = len(record.replicas[0]) if record.replicas else 1
        brokers = [b.node_id for b in self.live_brokers()]
        for p in range(record.partitions, count):
            record.replicas.append([brokers[(p + i) % len(brokers)] for i in range(rf)])
        self.catalog.save()
        self._attach(record)

    def alter_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        record = self.catalog.topics[name]
        record.configs = configs
        self.catalog.save()
        cfg = self.log_config_for(record)
        for index in range(record.partitions):
            partition = self.partitions.get((name, index))
            if partition is not None:
                partition.log.update_config(cfg)

    def topic_config_entries(self, record: TopicRecord) -> list[tuple[str, str, str]]:
        """(name, value, source) for every topic config: 'topic', 'broker' or 'default'."""
        entries = []
        for definition in TOPIC_CONFIGS.values():
            if definition.name in record.configs:
                entries.append((definition.name, record.configs[definition.name], "topic"))
            else:
                value, from_broker = broker_default(definition, self.config)
                entries.append((definition.name, value, "broker" if from_broker else "default"))
        return entries

    # --- producer ids -------------------------------------------------------------------------
    def allocate_producer_id(self) -> int:
        """Unique across restarts: ids are reserved in persisted blocks, as Kafka's controller does."""
        if self._next_producer_id >= self._producer_id_limit:
            self._producer_id_limit = self._next_producer_id + PRODUCER_ID_BLOCK
            self.catalog.next_producer_id_block = self._producer_id_limit
            self.catalog.save()
        pid = self._next_producer_id
        self._next_producer_id += 1
        return pid

    # --- lifecycle ----------------------------------------------------------------------------
    def maintenance(self, now_ms: int) -> None:
        self.logs.run_maintenance(now_ms)

    def close(self) -> None:
        self.logs.close_all()
