"""The broker's state: cluster identity, the topic catalog and the partitions it serves.

API handlers call into this object; it owns no sockets. Keeping the state here, apart from the
network and the codec, is what lets the same handlers serve one broker today and a replicated
cluster later (the controller will own the catalog; partitions already carry their leadership).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from kcli.server.base.broker_view import BrokerNode
from kcli.server.base.config import BrokerConfig
from kcli.server.base.partition import Partition
from kcli.server.base.replication_quota import ReplicationQuotas
from kcli.server.base.topic_configs import TOPIC_CONFIGS, broker_default
from kcli.server.cluster.controller import SNAPSHOT_BYTES, Controller
from kcli.server.cluster.image import (
    BrokerRegistration,
    MetadataImage,
    PartitionState,
    TopicState,
)
from kcli.server.cluster.link import CALL_TIMEOUT_S
from kcli.server.cluster.local_link import ControllerThread, LocalControllerLink
from kcli.server.cluster.metadata_log import METADATA_DIR
from kcli.server.cluster.replication_control import NewPartitions, NewTopic
from kcli.server.cluster.topic_rules import (
    TopicError,
    topic_name_problem,
)
from kcli.server.state.metadata_publisher import MetadataPublisher
from kcli.server.state.metadata_response_cache import MetadataResponseCache
from kcli.server.state.replica_manager import ReplicaManager
from kcli.server.storage import log_dirs
from kcli.server.storage.catalog import Catalog, TopicRecord
from kcli.server.storage.dir_health import dir_health
from kcli.server.storage.errors import StorageStartupError
from kcli.server.storage.log_config import LogConfig, flush_settings
from kcli.server.storage.log_manager import LogManager

if TYPE_CHECKING:
    from kcli.server.cluster.link import ControllerLink
    from kcli.server.cluster.replica_fetcher import ReplicaFetcherManager
    from kcli.server.security.manager import SecurityManager

SECURITY_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}  # SecurityProtocol ids
log = logging.getLogger("kafka.server.KafkaServer")

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
PRODUCER_ID_BLOCK = 1000


@dataclass
class PartitionView:
    leader: int
    leader_epoch: int
    replicas: list[int]
    isr: list[int]
    offline: list[int]


def _topic_result(data: dict) -> TopicRecord | TopicError:
    """One topic of the controller's CreateTopics answer."""

    if "topic" not in data:
        return TopicError(int(data["code"]), str(data["message"]))
    t = TopicState.from_json(data["topic"])
    return TopicRecord(t.name, t.topic_id, [p.replicas for p in t.partitions], t.configs, t.internal)


class Broker(MetadataPublisher):
    """The broker's state: identity, log dirs, topics and partitions, the metadata image, the
    topic and producer-id calls to the controller; following the metadata log is
    :class:`~kcli.server.state.metadata_publisher.MetadataPublisher`."""

    def __init__(self, config: BrokerConfig):
        self.config = config
        self.node_id = config.node_id
        self.cluster_id = ""
        self.catalog: Catalog
        self.logs = LogManager(
            list(config.log_dirs), self.default_log_config(), flush_check_ms=self._flush_settings()[2]
        )
        self.directory_ids: dict[Path, str] = {}
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.topics_by_id: dict[uuid.UUID, TopicRecord] = {}
        self._next_producer_id = 0
        self._producer_id_limit = 0
        self.coordinator = None  # the group coordinator, attached by the daemon
        self.security: SecurityManager | None = None  # listeners' security and ACLs, attached by the daemon
        self.transaction_coordinator = None  # and the transaction coordinator with its verifier
        self.transaction_verifier = None
        self.replica_manager = ReplicaManager(self)  # the one append-and-wait-for-acks path
        self.metadata_responses = MetadataResponseCache(self)  # Metadata's encoded topics
        # Cluster mode: the controller link, the latest metadata image and the replica fetchers.
        self.cluster: ControllerLink | None = None
        self.image: MetadataImage | None = None
        self._catalog_save: asyncio.Task[None] | None = None
        self._catalog_dirty = False
        self.own_controller: Controller | None = None  # a lone broker's own controller
        self._controller_thread: ControllerThread | None = None
        self._open_failures: dict[tuple[str, int], OSError] = {}
        self.fetchers: ReplicaFetcherManager | None = None
        self.replication_quotas = ReplicationQuotas.from_settings(config.raw)  # KIP-73 throttles
        self.leadership_listeners: list[Callable[[str, int, bool], None]] = []

    # --- start-up ---------------------------------------------------------------------------
    def _flush_settings(self) -> tuple[int, int, int]:
        from kcli.server.base.config import ConfigError

        try:
            return flush_settings(self.config.raw)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def default_log_config(self) -> LogConfig:
        c = self.config
        flush_messages, flush_ms, _ = self._flush_settings()
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
            flush_messages=flush_messages,
            flush_ms=flush_ms,
        )

    def ensure_formatted(self, cluster_id: str | None = None) -> None:
        """Check every log dir's meta.properties (formatting blank ones) and take the cluster id.

        StorageStartupError (one line: the file and what to do) when they cannot be used."""
        dirs = self.config.log_dirs
        hint = cluster_id or next(filter(None, (Catalog.peek_cluster_id(d) for d in dirs)), None)
        identity = log_dirs.ensure_formatted(dirs, self.node_id, self.config.kraft, hint)
        self.cluster_id = identity.cluster_id
        self.directory_ids = identity.directory_ids

    def load(self, cluster_id: str | None = None) -> None:
        """Open the log dirs and, for a lone broker, its own controller and metadata log.

        Topics come from the metadata log - the controller's, fetched, or for a lone broker its
        own ``__cluster_metadata-0`` - and partitions are opened as the broker replays it. Nothing
        on disk is deleted for want of metadata: metadata missing while partition data is present
        refuses the start, and logs of partitions the metadata does not know are renamed
        ``-stray`` and kept once the broker has caught up (``on_caught_up``), as Kafka does."""
        self.ensure_formatted(cluster_id)
        dirs = self.config.log_dirs
        catalog_dir = log_dirs.find_catalog_dir(dirs)
        self.catalog = Catalog.load(catalog_dir or dirs[0])
        # The partition logs first: the metadata log shares their log dir's checkpoint files.
        self.logs.load()
        if self.cluster is None:  # one broker: its own controller; in a cluster, the controller's
            controller = self._open_own_controller(catalog_dir)
            missing = log_dirs.check_catalog_against_disk(
                controller.log.directory,
                [(t.name, i) for t in controller.image.topics.values() for i in range(len(t.partitions))],
                log_dirs.partitions_on_disk(dirs),
                dirs,
                self.catalog.log_dirs,
                self.directory_ids,
            )
            log_dirs.report_missing_partitions(missing, dirs)
        self._remember_log_dirs()

    def _open_own_controller(self, catalog_dir: Path | None) -> Controller:
        """A lone broker's controller: the metadata log in whichever log dir holds it (the first
        one for a new broker). An older kcli's catalog becomes the log's first records; a
        metadata log that was in use and is gone refuses the start (one line, nothing deleted)."""
        dirs = self.config.log_dirs
        found = [d for d in dirs if (d / METADATA_DIR).is_dir()]
        if len(found) > 1:
            raise StorageStartupError(
                f"Found a metadata log ({METADATA_DIR}) in {found[0]} and in {found[1]}: only one of log.dirs "
                "may hold it. Keep the current one and move the other out of the log directory."
            )
        if not found and self.catalog.metadata_log:
            raise StorageStartupError(
                f"No metadata log ({METADATA_DIR}) in any of log.dirs ({', '.join(map(str, dirs))}), although "
                f"the topic catalog {self.catalog.path} says it was in use: it was deleted or log.dirs lists "
                "other directories than before. Add back the log dir that held it, or restore it from a backup."
            )
        if not found and catalog_dir is None:
            on_disk = log_dirs.partitions_on_disk(dirs)
            if on_disk:
                example = ", ".join(str(p) for p in list(on_disk.values())[:3])
                more = f" and {len(on_disk) - 3} more" if len(on_disk) > 3 else ""
                raise StorageStartupError(
                    f"No metadata log ({METADATA_DIR}) and no topic catalog in any of log.dirs "
                    f"({', '.join(map(str, dirs))}), but they hold {len(on_disk)} partition directories "
                    f"({example}{more}): the metadata was deleted or log.dirs lists other directories than "
                    "before. Restore it from a backup, or move the partition directories out of log.dirs "
                    "to start without topics."
                )
        parent = found[0] if found else (catalog_dir or dirs[0])
        controller = Controller(
            parent,
            self.cluster_id,
            node_id=self.node_id,
            snapshot_bytes=int(
                self.config.raw.get("metadata.log.max.record.bytes.between.snapshots", SNAPSHOT_BYTES)
            ),
        )
        if not found and self.catalog.topics:
            controller.bootstrap(list(self.catalog.topics.values()), self.catalog.next_producer_id_block)
            log.info(
                "Moved the %d topic(s) of %s into the metadata log",
                len(self.catalog.topics),
                self.catalog.path,
            )
        if not self.catalog.metadata_log:
            self.catalog.metadata_log = True
            self.catalog.save()
        runner = ControllerThread(controller, grace_s=9.0, rebalance_interval_s=None)
        self.cluster = LocalControllerLink(runner, self.registration(), self)
        self._controller_thread = runner
        self.own_controller = controller
        return controller

    def _remember_log_dirs(self) -> None:
        """Keep the cluster id and the log dirs in use in the catalog, for the start-up checks."""
        known = {i: str(p) for p, i in self.directory_ids.items()}
        if self.catalog.cluster_id == self.cluster_id and self.catalog.log_dirs == known:
            return
        self.catalog.cluster_id, self.catalog.log_dirs = self.cluster_id, known
        try:
            self.catalog.save()
        except OSError as exc:
            log.warning("%s", exc)

    def log_config_for(self, record: TopicRecord) -> LogConfig:
        return LogConfig.from_topic_configs(record.configs, self.default_log_config())

    # --- topics -------------------------------------------------------------------------------
    def live_brokers(self, listener: str | None = None) -> list[BrokerNode]:
        """Live brokers, addressed for clients of ``listener`` (the one a request came in on)."""
        if self.image is not None:
            return [BrokerNode(b.node_id, *b.address(listener), b.rack) for b in self.image.live_brokers]
        return [self.local_node(listener)]

    def registration(self) -> BrokerRegistration:
        """This broker as it registers with the controller: every advertised listener, each
        with its security protocol, so clients are told the endpoint of their own listener."""
        node = self.local_node()
        protocols = self.config.listener_security
        endpoints = [
            {
                "name": ls.name,
                "host": ls.host,
                "port": ls.port,
                "securityProtocol": SECURITY_PROTOCOL_IDS.get(protocols.get(ls.name, "PLAINTEXT"), 0),
            }
            for ls in self.config.advertised()
        ]
        return BrokerRegistration(
            node.node_id, node.host, node.port, node.rack, incarnation_id=uuid.uuid4(), endpoints=endpoints
        )

    def local_node(self, listener: str | None = None) -> BrokerNode:
        """This broker's advertised endpoint on ``listener`` (default: the first advertised)."""
        endpoint = self.config.advertised_endpoint(listener)
        return BrokerNode(self.node_id, endpoint.host, endpoint.port, self.config.broker_rack)

    # --- cluster mode -------------------------------------------------------------------------
    @property
    def controller_id(self) -> int:
        return self.node_id if self.image is None else self.image.controller_id

    def broker_node(self, node_id: int, listener: str | None = None) -> BrokerNode | None:
        """A live broker's address on ``listener`` (a client's request's listener); without one,
        as other brokers reach it: its inter-broker listener (replica fetchers, markers)."""
        if listener is None and self.security is not None and self.security.settings.inter_broker is not None:
            listener = self.security.settings.inter_broker.listener
        return next((b for b in self.live_brokers(listener) if b.node_id == node_id), None)

    def partition_view(self, name: str, index: int) -> PartitionView | None:
        """Leader, epoch, replicas, ISR and offline replicas of any partition of the cluster."""
        if self.image is None:
            p = self.partitions.get((name, index))
            if p is None:
                return None
            return PartitionView(p.leader, p.leader_epoch, p.replicas, p.isr, [])
        topic = self.image.topics.get(name)
        if topic is None or index >= len(topic.partitions):
            return None
        st = topic.partitions[index]
        offline = [r for r in st.replicas if r not in self.image.brokers or self.image.brokers[r].fenced]
        return PartitionView(st.leader, st.leader_epoch, st.replicas, st.isr, offline)

    async def elect_leaders(
        self, election_type: int, partitions: list[tuple[str, int]] | None, timeout_s: float = CALL_TIMEOUT_S
    ) -> list[tuple[str, int, int, str | None]]:
        """(topic, partition, error code, message) per partition, as ElectLeaders answers."""
        answer = await self._call(
            "ctl_elect_leaders",
            timeout_s,
            election_type=election_type,
            partitions=None if partitions is None else [list(p) for p in partitions],
        )
        return [(str(t), int(p), int(c), m) for t, p, c, m in answer["results"]]

    async def alter_partition_reassignments(
        self, wanted: list[tuple[str, int, list[int] | None]], timeout_s: float = CALL_TIMEOUT_S
    ) -> list[TopicError | None]:
        """AlterPartitionReassignments, forwarded to the controller (KIP-455): None or Kafka's
        error per partition; a None target cancels."""
        answer = await self._call(
            "ctl_alter_reassignments", timeout_s, partitions=[[t, p, r] for t, p, r in wanted]
        )
        return [None if x is None else TopicError(int(x[0]), str(x[1])) for x in answer["results"]]

    def ongoing_reassignments(
        self, wanted: list[tuple[str, int]] | None
    ) -> list[tuple[str, int, PartitionState]]:
        """ListPartitionReassignments from this broker's replay of the metadata log (the
        controller's records, so the same answer the controller would give at that offset)."""
        from kcli.server.cluster.reassignment import ongoing_in

        return ongoing_in(self.image or MetadataImage(), wanted)

    async def _call(self, op: str, timeout_s: float = CALL_TIMEOUT_S, **fields: object) -> dict:
        """A controller call from an API handler, answered within ``timeout_s`` (the request's
        timeout); refusals become TopicError with Kafka's code, an unreachable controller
        REQUEST_TIMED_OUT, as Kafka answers a forwarded request that timed out."""
        from kcli.server.cluster.link import ControllerRefused, ControllerUnavailable

        assert self.cluster is not None
        try:
            return await self.cluster.call(op, timeout_s, **fields)
        except ControllerRefused as exc:
            raise TopicError(exc.code, exc.message) from None
        except ControllerUnavailable as exc:
            raise TopicError(ErrorCode.request_timed_out, str(exc)) from None

    def topic(self, name: str) -> TopicRecord | None:
        return self.catalog.topics.get(name)

    def partition(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    def leader_partition(self, topic: str | None, index: int) -> tuple[Partition | None, ErrorCode]:
        """The partition if this broker leads it, else Kafka's error: NOT_LEADER_OR_FOLLOWER for a
        partition led elsewhere (the client refreshes metadata), else UNKNOWN_TOPIC_OR_PARTITION."""
        partition = self.partitions.get((topic, index)) if topic is not None else None
        if partition is not None and partition.is_leader:
            return partition, ErrorCode.none
        record = self.catalog.topics.get(topic) if topic is not None else None
        if record is not None and 0 <= index < record.partitions:
            return None, ErrorCode.not_leader_or_follower
        return None, ErrorCode.unknown_topic_or_partition

    async def create_topics(
        self, requests: list[NewTopic], validate_only: bool = False, timeout_s: float = CALL_TIMEOUT_S
    ) -> list[TopicRecord | TopicError]:
        """CreateTopics: one result per request, the topic or Kafka's error for it. Defaults
        (num.partitions, default.replication.factor) are filled in here, as Kafka's broker does
        before forwarding; the rules are the controller's (:mod:`kcli.server.cluster.topic_rules`)."""
        filled = [
            NewTopic(
                r.name,
                self.config.num_partitions if r.partitions == -1 and not r.assignment else r.partitions,
                self.config.default_replication_factor
                if r.replication_factor == -1 and not r.assignment
                else r.replication_factor,
                r.assignment,
                dict(r.configs),
                r.internal or r.name in INTERNAL_TOPICS,
            )
            for r in requests
        ]
        if not validate_only and isinstance(self.cluster, LocalControllerLink):
            failing = next((d for d in self.config.log_dirs if dir_health().is_failing(d)), None)
            if failing is not None:
                # A lone broker whose log dir cannot be written answers as Kafka does for a replica
                # in an offline log dir, before a topic exists that it cannot store.
                error = TopicError(
                    ErrorCode.kafka_storage_error,
                    f"Log dir {failing} cannot be written: {dir_health().reason(failing)}",
                )
                return [error for _ in requests]
        answer = await self._call(
            "ctl_create_topics",
            timeout_s,
            topics=[
                {
                    "name": r.name,
                    "partitions": r.partitions,
                    "replication_factor": r.replication_factor,
                    "assignment": {str(k): v for k, v in (r.assignment or {}).items()},
                    "configs": r.configs,
                    "internal": r.internal,
                }
                for r in filled
            ],
            validate_only=validate_only,
        )
        results = [_topic_result(x) for x in answer["results"]]
        if not validate_only:
            await self._take_back_unopened(results)
        return results

    async def _take_back_unopened(self, results: list[TopicRecord | TopicError]) -> None:
        """A lone broker that could not create the logs of a topic it was just given (a full
        disk) deletes the topic again and answers the storage error, so that no topic exists
        that the client was told failed (in a cluster the replica is offline, as in Kafka)."""
        if not isinstance(self.cluster, LocalControllerLink):
            return
        for i, result in enumerate(results):
            if not isinstance(result, TopicRecord):
                continue
            failure = next(
                (
                    self._open_failures.pop((result.name, p), None)
                    for p in range(result.partitions)
                    if (result.name, p) in self._open_failures
                ),
                None,
            )
            if failure is None:
                continue
            with contextlib.suppress(TopicError):
                await self._call("ctl_delete_topic", name=result.name)
            for p in range(result.partitions):
                self._open_failures.pop((result.name, p), None)
            results[i] = TopicError(
                getattr(failure, "error_code", ErrorCode.kafka_storage_error),
                f"Could not create the logs of topic '{result.name}': {failure.strerror or failure}",
            )

    async def create_topic(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        assignment: dict[int, list[int]] | None = None,
        configs: dict[str, str] | None = None,
        validate_only: bool = False,
        internal: bool = False,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> TopicRecord:
        """One topic (auto-creation, internal topics); raises its TopicError."""
        request = NewTopic(
            name, num_partitions, replication_factor, assignment, dict(configs or {}), internal
        )
        (result,) = await self.create_topics([request], validate_only, timeout_s)
        if isinstance(result, TopicError):
            raise result
        return result

    async def auto_create(self, name: str) -> TopicRecord | None:
        if not self.config.auto_create_topics_enable or topic_name_problem(name):
            return None
        try:
            return await self.create_topic(name)
        except TopicError:
            return self.topic(name)

    async def delete_topic(self, name: str, timeout_s: float = CALL_TIMEOUT_S) -> None:
        if not self.config.delete_topic_enable:
            raise TopicError(ErrorCode.topic_deletion_disabled, "Topic deletion is disabled.")
        await self._call("ctl_delete_topic", timeout_s, name=name)

    async def create_partitions(
        self, requests: list[NewPartitions], validate_only: bool = False, timeout_s: float = CALL_TIMEOUT_S
    ) -> list[TopicError | None]:
        """CreatePartitions: None or Kafka's error per topic; an explicit assignment is honoured
        or refused with Kafka's error, never ignored."""
        answer = await self._call(
            "ctl_create_partitions",
            timeout_s,
            topics=[{"name": r.name, "count": r.count, "assignment": r.assignment} for r in requests],
            validate_only=validate_only,
        )
        return [None if x is None else TopicError(int(x[0]), str(x[1])) for x in answer["results"]]

    async def alter_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        await self._call("ctl_alter_configs", name=name, configs=configs)

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
    async def allocate_producer_id(self) -> int:
        """Unique across restarts: ids are reserved in persisted blocks, as Kafka's controller does."""
        if self._next_producer_id >= self._producer_id_limit:
            start = int(
                (await self._call("ctl_producer_ids", count=PRODUCER_ID_BLOCK, broker=self.node_id))["start"]
            )
            self._next_producer_id, self._producer_id_limit = start, start + PRODUCER_ID_BLOCK
        pid = self._next_producer_id
        self._next_producer_id += 1
        return pid

    # --- lifecycle ----------------------------------------------------------------------------
    def maintenance(self, now_ms: int) -> None:
        self.logs.run_maintenance(now_ms)

    def close(self) -> None:
        self.logs.close_all()
        if self._catalog_dirty or (self._catalog_save is not None and not self._catalog_save.done()):
            try:  # the last changes of the cache, written now rather than a second later
                self.catalog.save()
            except OSError as exc:
                log.warning("Could not write the metadata cache %s: %s", self.catalog.path, exc)
        if self._controller_thread is not None:
            self._controller_thread.stop()  # no-op once the link has stopped it
