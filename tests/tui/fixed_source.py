"""A DataSource with fixed content, for the snapshot tests only.

Snapshots must not change from run to run, and a real broker has volatile cluster ids,
timestamps and throughput. Every functional test uses the real broker instead.
"""

from __future__ import annotations

import struct

from kcli.cluster_view.model import (
    BrokerInfo,
    BrowsePlan,
    ClusterInfo,
    ConfigValue,
    ConnectionInfo,
    GroupDetail,
    GroupList,
    GroupMemberInfo,
    GroupOffset,
    GroupSummary,
    Message,
    NewTopicSpec,
    OffsetReset,
    PartitionInfo,
    ProduceSpec,
    TopicDefaults,
    TopicDetail,
    TopicGroupLag,
    TopicSummary,
)
from kcli.cluster_view.source import KafkaDataError

BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class FixedTail:
    def poll(self, max_wait_s: float = 0.5) -> list[Message]:
        return []

    # -- the teaching views ------------------------------------------------------------------

    def partition_log(self, topic, partition, first=None, count=200, with_groups=True, with_configs=False):
        """orders-1 as a lab leaves it: broker 1 down and behind, a compacted hole, two groups."""
        from kcli.cluster_view.log_model import (
            BatchInfo,
            GroupMark,
            PartitionLog,
            RecordCell,
            ReplicaEnd,
            Segment,
        )

        def batch(base: int, last: int, offsets: tuple[int, ...], compression: str = "none") -> BatchInfo:
            return BatchInfo(
                base,
                last,
                last - base + 1,
                120,
                3,
                0x1234ABCD,
                True,
                compression,
                "CreateTime",
                False,
                False,
                4000,
                0,
                base,
                BASE_TS,
                BASE_TS + 10,
                offsets,
            )

        present = [o for o in range(10, 30) if o != 14]
        batches = (
            batch(10, 12, (10, 11, 12)),
            batch(13, 17, (13, 15, 16, 17), "lz4"),
            batch(18, 29, tuple(range(18, 30))),
        )
        records = tuple(
            RecordCell(o, BASE_TS + o, f"user-{o % 4}".encode(), f'{{"n": {o}}}'.encode(), (), None)
            for o in present
        )
        return PartitionLog(
            topic,
            partition,
            0,
            (0, 1, 2),
            (0, 2),
            10,
            30,
            30,
            10,
            30,
            batches,
            records,
            (
                ReplicaEnd(0, 32, "its log dir /tmp/kafka-0", True, True, True),
                ReplicaEnd(2, 30, "its log dir /tmp/kafka-2", True, True),
                ReplicaEnd(1, 22, "its log dir /tmp/kafka-1", False, False),
            ),
            (Segment(0, 4096), Segment(18, 1024)),
            0,
            (GroupMark("billing", 25, "Stable", "billing-1", "/10.0.0.1"), GroupMark("audit", 12, "Empty")),
            None,
            (),
            True,
            0,
            {"min.insync.replicas": "2", "cleanup.policy": "delete", "retention.ms": "604800000"},
        )

    def record_batch(self, topic, partition, offset):
        from kcli.cluster_view.log_model import XRayInput
        from kcli.protocol.records import build_batch

        raw = build_batch(
            [(b"user-1", b"\x00\x00\x00\x00\x07\x02\x06Ann\x00", [("source", b"web")])],
            base_offset=offset,
            timestamp=BASE_TS,
        )
        log = self.partition_log(topic, partition)
        return XRayInput(topic, partition, offset, log.batches[-1], raw, log.records[-1])

    def replication(self):
        from kcli.cluster_view.model import PartitionState, ReplicationState

        return ReplicationState(
            live=(0,),
            down=(1,),
            controller=0,
            partitions={
                ("orders", 0): PartitionState(0, (0, 1), (0,)),
                ("orders", 1): PartitionState(0, (1, 0), (0,)),
                ("orders", 2): PartitionState(-1, (1,), (1,)),
            },
        )

    def close(self) -> None:
        pass


class FixedSource:
    bootstrap = "localhost:9092"

    def connection(self) -> ConnectionInfo:
        # Broker 1 is down (see topic_detail): the status bar says so.
        return ConnectionInfo("broker 0 at localhost:9092", "kcli-fixed-cluster-id", (0,), (1,))

    def probe(self) -> str | None:
        return self.bootstrap

    def cluster(self) -> ClusterInfo:
        return ClusterInfo(
            "kcli-fixed-cluster-id",
            0,
            (BrokerInfo(0, "localhost", 9092, "rack-a", True), BrokerInfo(1, "localhost", 9093, None, False)),
            4,
            16,
            1,
        )

    def topics(self) -> list[TopicSummary]:
        return [
            TopicSummary("__consumer_offsets", 50, 1, 1204, None, True),
            TopicSummary("clicks", 6, 2, 98_765, 12_582_912, False, under_replicated=3),
            TopicSummary("orders", 3, 1, 1500, 409_600, False),
            TopicSummary("payments", 1, 1, 0, 0, False),
        ]

    def topic_detail(self, name: str, with_groups: bool = False) -> TopicDetail:
        # Broker 1 is down: partition 1 lost an in-sync replica, partition 2 its only one.
        parts = (
            PartitionInfo(0, 0, (0, 1), (0,), 0, 500, offline=(1,)),
            PartitionInfo(1, 0, (1, 0), (0,), 10, 510, offline=(1,)),
            PartitionInfo(2, -1, (1,), (1,), 20, 520, offline=(1,)),
        )
        configs = (
            ConfigValue("cleanup.policy", "delete"),
            ConfigValue("retention.ms", "86400000", default=False),
            ConfigValue("segment.bytes", "1073741824"),
        )
        groups = (
            TopicGroupLag("billing", "Empty", 0, 1500, 3),
            TopicGroupLag("dashboard", "Stable", 2, 540, 3, uncommitted=1),
        )
        return TopicDetail(name, False, parts, configs, groups)

    def topic_defaults(self) -> TopicDefaults:
        return TopicDefaults(3, 2, 2)

    def alter_topic_config(self, topic: str, name: str, value: str | None) -> None:
        pass

    def watermarks(self, name: str) -> dict[int, tuple[int, int]]:
        return {p.partition: (p.low or 0, p.high or 0) for p in self.topic_detail(name).partitions}

    def create_topic(self, spec: NewTopicSpec) -> None:
        pass

    def delete_topic(self, name: str) -> None:
        pass

    def plan_browse(self, topic, partition=None, start="beginning", position=None, limit=200) -> BrowsePlan:
        marks = {p: (0, 2) for p in (0, 1)} | {2: (0, 1)}
        if partition is not None:
            marks = {partition: marks[partition]}
        return BrowsePlan(dict(marks), marks)

    def read_ranges(self, topic, ranges, limit, newest=False) -> list[Message]:
        return [
            m
            for m in self._rows(topic)
            if m.partition in ranges and ranges[m.partition][0] <= m.offset < ranges[m.partition][1]
        ]

    def browse(self, topic, partition=None, start="beginning", position=None, limit=200) -> list[Message]:
        return [m for m in self._rows(topic) if partition is None or m.partition == partition]

    def _rows(self, topic: str) -> list[Message]:
        return [
            Message(
                topic,
                0,
                0,
                BASE_TS,
                b"order-1",
                b'{"id": 1, "amount": 12.5, "currency": "EUR"}',
                (("source", b"web"), ("trace", b"abc123")),
            ),
            Message(topic, 1, 0, BASE_TS + 1500, b"order-2", b"plain text value"),
            Message(topic, 2, 0, BASE_TS + 3000, struct.pack(">i", 42), struct.pack(">q", 123456789)),
            Message(topic, 0, 1, BASE_TS + 4500, None, b"\x00\x00\x00\x00\x07\x02\x06abc"),
            Message(topic, 1, 1, BASE_TS + 6000, b"order-3", None),
        ]

    def open_tail(self, topic: str, partition: int | None = None) -> FixedTail:
        return FixedTail()

    def produce(self, spec: ProduceSpec) -> tuple[int, int]:
        return 0, 2

    def groups(self) -> GroupList:
        return GroupList(
            (
                GroupSummary("billing", "Empty", "", 0, 1500, False, ("orders",)),
                GroupSummary("dashboard", "Stable", "range", 2, 540, False, ("orders",), uncommitted=1),
                GroupSummary(
                    "reports",
                    "-",
                    "",
                    0,
                    None,
                    False,
                    error="coordinator: broker 1 at localhost:9093: connection refused",
                ),
            )
        )

    def group_detail(self, group_id: str) -> GroupDetail:
        members = (
            GroupMemberInfo("consumer-1-aaaa", "dashboard-1", "/10.0.0.1", (("orders", 0), ("orders", 1))),
            GroupMemberInfo("consumer-2-bbbb", "dashboard-2", "/10.0.0.2", (("orders", 2),)),
        )
        m1, m2 = members
        offsets = (
            GroupOffset("orders", 0, 480, 500, 0, m1.client_id, m1.member_id, m1.host),
            GroupOffset("orders", 1, 500, 510, 10, m1.client_id, m1.member_id, m1.host),
            GroupOffset("orders", 2, None, 520, 20, m2.client_id, m2.member_id, m2.host),
        )
        return GroupDetail(group_id, "Stable", "range", 0, members, offsets)

    def preview_reset(self, group_id, to, value=None, topic=None) -> list[OffsetReset]:
        raise KafkaDataError("Assignments can only be reset if the group is inactive")

    def apply_reset(self, group_id: str, plan: list[OffsetReset]) -> None:
        pass

    # -- the teaching views ------------------------------------------------------------------

    def partition_log(self, topic, partition, first=None, count=200, with_groups=True, with_configs=False):
        """orders-1 as a lab leaves it: broker 1 down and behind, a compacted hole, two groups."""
        from kcli.cluster_view.log_model import (
            BatchInfo,
            GroupMark,
            PartitionLog,
            RecordCell,
            ReplicaEnd,
            Segment,
        )

        def batch(base: int, last: int, offsets: tuple[int, ...], compression: str = "none") -> BatchInfo:
            return BatchInfo(
                base,
                last,
                last - base + 1,
                120,
                3,
                0x1234ABCD,
                True,
                compression,
                "CreateTime",
                False,
                False,
                4000,
                0,
                base,
                BASE_TS,
                BASE_TS + 10,
                offsets,
            )

        present = [o for o in range(10, 30) if o != 14]
        batches = (
            batch(10, 12, (10, 11, 12)),
            batch(13, 17, (13, 15, 16, 17), "lz4"),
            batch(18, 29, tuple(range(18, 30))),
        )
        records = tuple(
            RecordCell(o, BASE_TS + o, f"user-{o % 4}".encode(), f'{{"n": {o}}}'.encode(), (), None)
            for o in present
        )
        return PartitionLog(
            topic,
            partition,
            0,
            (0, 1, 2),
            (0, 2),
            10,
            30,
            30,
            10,
            30,
            batches,
            records,
            (
                ReplicaEnd(0, 32, "its log dir /tmp/kafka-0", True, True, True),
                ReplicaEnd(2, 30, "its log dir /tmp/kafka-2", True, True),
                ReplicaEnd(1, 22, "its log dir /tmp/kafka-1", False, False),
            ),
            (Segment(0, 4096), Segment(18, 1024)),
            0,
            (GroupMark("billing", 25, "Stable", "billing-1", "/10.0.0.1"), GroupMark("audit", 12, "Empty")),
            None,
            (),
            True,
            0,
            {"min.insync.replicas": "2", "cleanup.policy": "delete", "retention.ms": "604800000"},
        )

    def record_batch(self, topic, partition, offset):
        from kcli.cluster_view.log_model import XRayInput
        from kcli.protocol.records import build_batch

        raw = build_batch(
            [(b"user-1", b"\x00\x00\x00\x00\x07\x02\x06Ann\x00", [("source", b"web")])],
            base_offset=offset,
            timestamp=BASE_TS,
        )
        log = self.partition_log(topic, partition)
        return XRayInput(topic, partition, offset, log.batches[-1], raw, log.records[-1])

    def replication(self):
        from kcli.cluster_view.model import PartitionState, ReplicationState

        return ReplicationState(
            live=(0,),
            down=(1,),
            controller=0,
            partitions={
                ("orders", 0): PartitionState(0, (0, 1), (0,)),
                ("orders", 1): PartitionState(0, (1, 0), (0,)),
                ("orders", 2): PartitionState(-1, (1,), (1,)),
            },
        )

    def close(self) -> None:
        pass
