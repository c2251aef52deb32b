"""The TUI's Kafka source: :class:`kcli.cluster_view.source.DataSource` over confluent-kafka clients and kio requests.

One long-lived AdminClient, short-lived consumers for browsing, a producer for the produce
dialog, and on PLAINTEXT listeners a few requests of its own over :mod:`kcli.protocol` (the topic
table's watermarks, topic sizes, consumer groups: :mod:`kcli.cluster_view.watermarks`,
:mod:`kcli.cluster_view.logdirs`, :mod:`kcli.cluster_view.group_reader`). What the methods promise (blocking,
timeouts, one-line :class:`kcli.cluster_view.source.KafkaDataError`) is written in :mod:`kcli.cluster_view.source`.

The source is built in layers, one job per module: the clients and the metadata
(:mod:`kcli.cluster_view.kafka_clients`), offsets (:mod:`kcli.cluster_view.kafka_offsets`), consumer groups
(:mod:`kcli.cluster_view.kafka_groups`), the cluster and topics (:mod:`kcli.cluster_view.kafka_topics`), records
(:mod:`kcli.cluster_view.kafka_records`); this module adds the teaching views and puts them together.
"""

from __future__ import annotations

from kcli.cluster_view.kafka_records import KafkaRecords
from kcli.cluster_view.kafka_topics import KafkaTopics
from kcli.cluster_view.log_model import PartitionLog, XRayInput
from kcli.cluster_view.log_reader import PartitionLogReader
from kcli.cluster_view.model import (
    PartitionState,
    ReplicationState,
)


class KafkaSource(KafkaTopics, KafkaRecords):
    """A :class:`~kcli.cluster_view.source.DataSource` over one cluster, using one AdminClient and short-lived consumers.

    The AdminClient is long-lived (it keeps its broker connections and reconnects on its own);
    consumers for browsing are created per request and closed at once, since they are assigned
    partitions directly and never join a group. Consumer groups are read with kio requests on
    PLAINTEXT listeners (:mod:`kcli.cluster_view.group_reader` says why), else with a second AdminClient
    that is replaced whenever a group's coordinator fails it.
    """

    _log_reader: PartitionLogReader | None = None

    # -- the teaching views: the log drawn, the X-ray, the failure lab -------------------------

    @property
    def log_reader(self) -> PartitionLogReader:
        if self._log_reader is None:
            self._log_reader = PartitionLogReader(self)
        return self._log_reader

    def partition_log(
        self,
        topic: str,
        partition: int,
        first: int | None = None,
        count: int = 200,
        with_groups: bool = True,
        with_configs: bool = False,
    ) -> PartitionLog:
        """The partition with the records of ``count`` offsets from ``first`` (None: the newest),
        its markers and replicas (see :mod:`kcli.cluster_view.log_reader`)."""
        return self.log_reader.read(topic, partition, first, count, with_groups, with_configs)

    def record_batch(self, topic: str, partition: int, offset: int) -> XRayInput:
        """The batch holding one record, as its leader stores it (for the X-ray)."""
        return self.log_reader.batch_for(topic, partition, offset)

    def replication(self) -> ReplicationState:
        """Every partition's leader, replicas and ISR, and which brokers are up: what the failure
        lab compares from one refresh to the next to tell elections, ISR changes and URPs."""
        md = self._metadata()
        parts = {
            (name, pid): PartitionState(p.leader, tuple(p.replicas), tuple(p.isrs))
            for name, t in md.topics.items()
            for pid, p in t.partitions.items()
        }
        local = {}
        try:
            from kcli.cluster_view.local_lab import local_brokers

            local = {b: lb.pid is not None for b, lb in local_brokers(md).items()}
        except Exception:
            local = {}
        return ReplicationState(
            live=tuple(sorted(md.brokers)),
            down=self._connection.down,
            controller=md.controller_id if md.controller_id is not None and md.controller_id >= 0 else None,
            partitions=parts,
            local=local,
            addresses={b.id: f"{b.host}:{b.port}" for b in md.brokers.values()},
        )
