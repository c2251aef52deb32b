"""The group coordinator's entry points: the classic group and offset APIs of this broker.

Kafka's GroupCoordinatorService for classic groups. It decides which groups this broker
coordinates (in a cluster, those whose ``__consumer_offsets`` partition it leads), loads and
drops them as that leadership moves, runs the offset-retention timer, and hands each request to
the module that does the work: membership to :mod:`classic_group_protocol`, offsets to
:mod:`offset_metadata_manager`, the groups' cache and records to :mod:`group_metadata_manager`.
KIP-848 consumer groups are :mod:`consumer_coordinator`, attached as :attr:`GroupCoordinator.consumer`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from kcli.server.coordinator.classic_group_protocol import ClassicGroupProtocol
from kcli.server.coordinator.coordinator_timers import CoordinatorTimers
from kcli.server.coordinator.group import Group, now_ms
from kcli.server.coordinator.group_metadata_manager import GroupMetadataManager
from kcli.server.coordinator.group_requests import Settings
from kcli.server.coordinator.offset_metadata_manager import OffsetMetadataManager
from kcli.server.coordinator.store import OFFSETS_TOPIC, OffsetsTopicStore, Store
from kcli.server.coordinator.transactional_offsets import PendingTransactionalOffsets

if TYPE_CHECKING:
    from kcli.server.state.broker import Broker


class GroupCoordinator:
    """All classic groups of this broker; the API handlers call its methods."""

    def __init__(self, broker: Broker | None, store: Store | None = None, settings: Settings | None = None):
        self.broker = broker
        if store is None:
            assert broker is not None
            store = OffsetsTopicStore(broker)
        self.store = store
        self.settings = settings or Settings.from_config(broker.config)  # type: ignore[union-attr]
        self.timers = CoordinatorTimers()
        self.metadata = GroupMetadataManager(store, self.timers)
        self.membership = ClassicGroupProtocol(self.metadata, self.settings, self.timers, self.start)
        self.offsets = OffsetMetadataManager(
            self.metadata, self.settings, self.membership.schedule_session, self._has_live_members, self.start
        )
        # The API handlers' entry points, each served by the module that does the work (as
        # Kafka's GroupCoordinatorService hands requests to its shards).
        self.join_group = self.membership.join_group
        self.sync_group = self.membership.sync_group
        self.heartbeat = self.membership.heartbeat
        self.leave_group = self.membership.leave_group
        self.commit_offsets = self.offsets.commit_offsets
        self.commit_transactional_offsets = self.offsets.commit_transactional_offsets
        self.complete_transaction = self.offsets.complete_transaction
        self.fetch_offsets = self.offsets.fetch_offsets
        self.delete_offsets = self.offsets.delete_offsets
        self.expire_offsets = self.offsets.expire_offsets
        self.list_groups = self.metadata.list_groups
        self.describe_group = self.metadata.describe_group
        self.delete_groups = self.metadata.delete_groups
        self._retention_timer: asyncio.TimerHandle | None = None
        # KIP-848 consumer groups (consumer_coordinator.py), attached by the daemon; a consumer
        # group's committed offsets stay in this coordinator's (member-less) group of the same id.
        self.consumer: Any = None
        if not self.clustered:
            self.load()  # in a cluster, groups load as this broker gains offsets partitions

    @property
    def groups(self) -> dict[str, Group]:
        return self.metadata.groups

    @property
    def txn_offsets(self) -> PendingTransactionalOffsets:
        return self.metadata.txn_offsets

    def _has_live_members(self, group_id: str) -> bool:
        return self.consumer is not None and self.consumer.has_members(group_id)

    # --- cluster: the coordinator of a group leads its __consumer_offsets partition -----------
    @property
    def clustered(self) -> bool:
        return self.broker is not None and self.broker.cluster is not None

    def owns(self, group_id: str) -> bool:
        if not self.clustered:
            return True
        assert self.broker is not None
        partition, _ = self.broker.leader_partition(OFFSETS_TOPIC, self.partition_for(group_id))
        return partition is not None

    def coordinator_node(self, group_id: str, listener: str | None = None) -> Any:
        """In a cluster, the broker FindCoordinator names: the offsets partition's leader, on
        the listener the request came in on."""
        assert self.broker is not None
        view = self.broker.partition_view(OFFSETS_TOPIC, self.partition_for(group_id))
        return None if view is None or view.leader < 0 else self.broker.broker_node(view.leader, listener)

    def on_leadership(self, topic: str, partition: int, is_leader: bool) -> None:
        """Load the groups of an offsets partition this broker now leads; drop those it lost."""
        if topic != OFFSETS_TOPIC or self.timers.closed:
            return
        self.metadata.unload(partition)
        if is_leader:
            self.load({partition})

    def partition_for(self, group_id: str) -> int:
        return self.metadata.partition_for(group_id)

    async def ensure_offsets_topic(self) -> bool:
        return await self.store.ensure()

    def load(self, partitions: set[int] | None = None) -> None:
        """Rebuild groups and committed offsets from ``__consumer_offsets`` (every partition or
        only ``partitions``), then start the members' sessions and the retention timer."""
        self.metadata.load(partitions)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        for group in self.groups.values():
            for member in group.members.values():
                self.membership.schedule_session(group, member)
        self.start()  # offsets of groups nobody touches after a restart still expire

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the offset-retention timer (needs a running loop; called on first request)."""
        if self._retention_timer is None and not self.timers.closed:
            self._retention_timer = self.timers.later(
                self.settings.offsets_retention_check_ms, self._retention_tick
            )

    async def close(self) -> None:
        """Cancel every timer and answer pending joins/syncs, so shutdown never hangs."""
        self.timers.closed = True
        if self._retention_timer is not None:
            self._retention_timer.cancel()
        for group in self.groups.values():
            self.metadata.release(group)

    def _retention_tick(self) -> None:
        self._retention_timer = None
        try:
            self.expire_offsets(now_ms())
        finally:
            if not self.timers.closed:
                self._retention_timer = self.timers.later(
                    self.settings.offsets_retention_check_ms, self._retention_tick
                )
