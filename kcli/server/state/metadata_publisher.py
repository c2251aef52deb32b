"""The broker's side of the metadata log (Kafka's BrokerMetadataPublisher): replay the
controller's records into the image, then create, lead, follow or drop exactly the local
replicas they changed; and the ISR changes a leader proposes back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from kcli.protocol.metadata_records import MetadataRecord
from kcli.server.base.partition import Partition
from kcli.server.cluster.image import (
    NO_LEADER,
    MetadataDelta,
    MetadataImage,
)
from kcli.server.storage.catalog import TopicRecord
from kcli.server.storage.partition_log import PartitionLog

log = logging.getLogger("kafka.server.KafkaServer")

CATALOG_SAVE_DELAY_S = 5.0
YIELD_EVERY = 500  # records or partitions applied between two turns of the event loop


class MetadataPublisher:
    """How :class:`~kcli.server.state.broker.Broker` follows the metadata log (a part of the broker:
    it works on the broker's image, catalog, partitions and links)."""

    # --- cluster mode: following the metadata log ----------------------------------------------
    def known_topics(self) -> list[dict]:
        """What this broker remembers, offered to a controller that may have lost its metadata."""
        return [t.to_json() for t in self.catalog.topics.values()]

    async def on_records(self, records: list[tuple[int, MetadataRecord]]) -> None:
        """Replay the controller's new records and reconcile only what they changed."""
        if self.image is None:
            self.image = MetadataImage()
        delta = MetadataDelta()
        for i, (offset, rec) in enumerate(records, 1):
            self.image.replay(rec, delta)
            self.image.version = offset
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a big change never holds the other clients up for long
        if delta.security:
            self._apply_security()
        if not delta.empty:
            try:
                await self._reconcile(delta)
            finally:
                self.metadata_responses.invalidate(delta)

    async def on_snapshot(self, image: MetadataImage) -> None:
        """A whole image replaces ours (we were behind the controller's snapshot)."""
        self.image = image
        self._apply_security()
        try:
            await self.reconcile_all()
        finally:
            self.metadata_responses.clear()

    async def on_caught_up(self) -> None:
        """Registered and caught up: every local log matches the metadata."""
        if self.image is None:
            self.image = MetadataImage()
        self._apply_security()
        try:
            await self.reconcile_all()
        finally:
            self.metadata_responses.clear()

    def _apply_security(self) -> None:
        """The ACLs and SCRAM credentials of the image to the authorizer and authenticator."""
        if self.security is not None and self.image is not None:
            self.security.apply_image(self.image)

    async def reconcile_all(self) -> None:
        """Make every local replica match the whole image (start-up, or after a snapshot). A log
        the metadata does not account for is kept aside as a stray, never deleted: only a
        topic's deletion, seen as it happens, deletes its logs."""
        assert self.image is not None
        for name, record in list(self.catalog.topics.items()):
            topic = self.image.topics.get(name)
            if topic is None or topic.topic_id != record.topic_id:
                del self.catalog.topics[name]
                self.topics_by_id.pop(record.topic_id, None)
        delta = MetadataDelta(configs=set(self.image.topics))
        delta.partitions = {(t.name, i) for t in self.image.topics.values() for i in range(len(t.partitions))}
        await self._reconcile(delta)
        unknown = [key for key in list(self.logs.logs) if not self._hosts(key)]
        for key in unknown:
            partition = self.partitions.pop(key, None)
            if partition is not None:
                partition.leader = NO_LEADER
                partition.wake_fetchers()
        if unknown:

            def mark_all() -> None:
                for topic, index in unknown:
                    self.logs.mark_stray(topic, index)

            await asyncio.to_thread(mark_all)

    async def _reconcile(self, delta: MetadataDelta) -> None:
        """Create, lead, follow or drop the local replicas ``delta`` touches. Log files are
        created and deleted in a worker thread: thousands of partitions never stall clients."""
        assert self.image is not None
        for gone in delta.removed:
            record = self.catalog.topics.get(gone.name)
            if record is not None and record.topic_id == gone.topic_id:
                del self.catalog.topics[gone.name]
                self.topics_by_id.pop(record.topic_id, None)
                await self._drop_partitions([(gone.name, i) for i in range(record.partitions)])
        touched = {name for name, _ in delta.partitions} | delta.configs
        configs_changed: set[str] = set()
        fresh: dict[str, TopicRecord] = {}
        for name in touched:
            topic = self.image.topics.get(name)
            if topic is None:
                continue
            previous = self.catalog.topics.get(name)
            if previous is not None and previous.topic_id != topic.topic_id:
                # The same name, another topic: the old one's replicas go first.
                del self.catalog.topics[name]
                self.topics_by_id.pop(previous.topic_id, None)
                await self._drop_partitions([(name, i) for i in range(previous.partitions)])
                previous = None
            fresh[name] = TopicRecord(
                name,
                topic.topic_id,
                [p.replicas for p in topic.partitions],
                dict(topic.configs),
                topic.internal,
            )
            if previous is None or previous.configs != fresh[name].configs:
                configs_changed.add(name)
        keys = set(delta.partitions) | {
            (name, i) for name in configs_changed for i in range(len(self.image.topics[name].partitions))
        }
        stale = [k for k in keys if k in self.partitions and not self._hosts(k)]
        await self._drop_partitions(stale)
        missing = sorted(k for k in keys if k not in self.partitions and self._hosts(k))
        if missing:
            await self._open_partitions(missing, fresh)
        # Only now do requests see the change: a topic is never listed (nor a group coordinator
        # named) while the logs of its partitions here are still being opened.
        for name, record in fresh.items():
            self.catalog.topics[name] = record
            self.topics_by_id[record.topic_id] = record
        await self._start_leader_epochs(keys)
        changes: list[tuple[str, int, bool]] = []
        followers_changed = bool(stale or missing)
        for i, key in enumerate(keys, 1):
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            partition = self.partitions.get(key)
            if partition is None:
                continue
            name, index = key
            record = self.catalog.topics[name]
            if name in configs_changed:
                partition.log.update_config(self.log_config_for(record))
                partition.min_isr = int(
                    record.configs.get("min.insync.replicas", self.config.min_insync_replicas)
                )
            st = self.image.topics[name].partitions[index]
            was_leader, old_leader = partition.is_leader, partition.leader
            partition.apply_state(st.leader, st.leader_epoch, st.partition_epoch, st.replicas, st.isr)
            followers_changed |= partition.leader != old_leader
            if partition.is_leader != was_leader:
                changes.append((name, index, partition.is_leader))
        if self.fetchers is not None and (followers_changed or changes):
            self.fetchers.update()
        for change in changes:
            for listener in self.leadership_listeners:
                listener(*change)
        self._save_catalog_soon()

    async def _start_leader_epochs(self, keys: set[tuple[str, int]]) -> None:
        """A replica about to lead under a new epoch records where the epoch starts in its
        leader-epoch-checkpoint file: for the partitions not leading yet (nothing is appended to
        them meanwhile) the files are written in a worker thread, so a restart that gives this
        broker thousands of leaderships back does not stall the event loop."""
        assert self.image is not None
        starting = []
        for name, index in keys:
            partition = self.partitions.get((name, index))
            if partition is None or partition.is_leader:
                continue
            st = self.image.topics[name].partitions[index]
            plog = partition.log
            if (
                st.leader == self.node_id
                and plog.epoch_cache.latest_epoch < st.leader_epoch
                and plog.log_end_offset > plog.log_start_offset  # an empty log records it on append
            ):
                starting.append((partition.log, st.leader_epoch))
        if starting:

            def assign_all() -> None:
                for started, epoch in starting:
                    started.epoch_cache.assign(epoch, started.log_end_offset)

            await asyncio.to_thread(assign_all)

    def _hosts(self, key: tuple[str, int]) -> bool:
        assert self.image is not None
        topic = self.image.topics.get(key[0])
        return (
            topic is not None
            and key[1] < len(topic.partitions)
            and self.node_id in topic.partitions[key[1]].replicas
        )

    async def _open_partitions(self, keys: list[tuple[str, int]], records: dict[str, TopicRecord]) -> None:
        """Open (or create) the logs of ``keys`` in a worker thread, then attach them here."""
        wanted = [(records.get(name) or self.catalog.topics[name], index) for name, index in keys]
        configs = {record.name: self.log_config_for(record) for record, _ in wanted}

        def open_all() -> list[PartitionLog | OSError]:
            opened: list[PartitionLog | OSError] = []
            for record, index in wanted:
                try:
                    opened.append(self.logs.create(record.name, index, configs[record.name]))
                except OSError as exc:  # a full disk: this replica stays offline, the others go on
                    opened.append(exc)
            return opened

        logs = await asyncio.to_thread(open_all)
        for (record, index), plog in zip(wanted, logs, strict=True):
            if isinstance(plog, OSError):
                self._open_failures[(record.name, index)] = plog
                log.warning("Cannot open the log of %s-%d: %s", record.name, index, plog)
                continue
            if (record.name, index) in self.partitions:
                continue
            self.partitions[(record.name, index)] = Partition(
                topic=record.name,
                index=index,
                topic_id=record.topic_id,
                log=plog,
                leader=NO_LEADER,
                replicas=list(record.replicas[index]),
                isr=[],
                local_id=self.node_id,
                propose_isr=self._propose_isr,
                min_isr=int(record.configs.get("min.insync.replicas", self.config.min_insync_replicas)),
            )

    async def _drop_partitions(self, keys: list[tuple[str, int]]) -> None:
        """Stop serving ``keys`` now; delete their logs in a worker thread (a big topic's files
        take a while to remove)."""
        if not keys:
            return
        for key in keys:
            partition = self.partitions.pop(key, None)
            if partition is not None:
                partition.leader = NO_LEADER
                partition.wake_fetchers()

        def delete_all() -> None:
            for name, index in keys:
                self.logs.delete(name, index)

        await asyncio.to_thread(delete_all)

    def _save_catalog_soon(self) -> None:
        """The cluster-mode catalog is only this broker's cache of the metadata (offered for
        adoption): written at most every CATALOG_SAVE_DELAY_S, off the event loop, never once per change."""
        if self._catalog_save is not None and not self._catalog_save.done():
            self._catalog_dirty = True
            return
        self._catalog_dirty = False

        async def save() -> None:
            await asyncio.sleep(CATALOG_SAVE_DELAY_S)
            snapshot = dataclasses.replace(self.catalog, topics=dict(self.catalog.topics))
            try:
                await asyncio.to_thread(snapshot.save)
            except Exception as exc:
                log.warning("Could not write the metadata cache %s: %s", self.catalog.path, exc)
            if self._catalog_dirty:
                self._catalog_save = None
                self._save_catalog_soon()

        self._catalog_save = asyncio.get_running_loop().create_task(save())

    def _propose_isr(self, partition: Partition, isr: list[int]) -> None:
        """Send an ISR change to the controller without blocking the event loop."""
        link = self.cluster
        if link is None:
            return

        async def send() -> None:
            try:
                await link.call(
                    "ctl_alter_partition",
                    topic=partition.topic,
                    partition=partition.index,
                    leader=self.node_id,
                    leader_epoch=partition.leader_epoch,
                    partition_epoch=partition.partition_epoch,
                    isr=isr,
                )
            except Exception as exc:  # refused (stale epochs) or unreachable: the next image decides
                log.info(
                    "ISR change of %s-%d to %s not applied: %s", partition.topic, partition.index, isr, exc
                )
            finally:
                partition.pending_isr = None

        asyncio.get_running_loop().create_task(send())
