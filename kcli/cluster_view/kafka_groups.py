"""The Kafka source's consumer groups: listing, detail with lag, a topic's groups, offset resets.

Groups are read with kio requests on PLAINTEXT listeners (:mod:`kcli.cluster_view.group_reader`), else
through an AdminClient (:mod:`kcli.cluster_view.admin_groups`); a reset is planned by
:func:`kcli.offset_reset.plan`, the planner ``kafka-consumer-groups`` uses.
"""

from __future__ import annotations

from typing import Any

from kcli import offset_reset
from kcli.cluster_view.admin_groups import AdminGroupReader
from kcli.cluster_view.group_reader import WireGroupReader
from kcli.cluster_view.group_rows import group_partitions, offset_rows
from kcli.cluster_view.kafka_offsets import KafkaOffsets
from kcli.cluster_view.log_offsets import SourceLogOffsets
from kcli.cluster_view.logdirs import plaintext
from kcli.cluster_view.model import (
    GroupDetail,
    GroupList,
    GroupSummary,
    OffsetReset,
    TopicGroupLag,
)
from kcli.cluster_view.source import (
    INACTIVE_GROUP_STATES,
    STATE_UNREAD,
    TP,
    KafkaDataError,
    ResetTo,
    error_text,
)


class KafkaGroups(KafkaOffsets):
    """Consumer groups as the groups view, the group detail and the reset dialog show them."""

    # -- consumer groups -------------------------------------------------------------------

    def _group_reader(self, md: Any) -> WireGroupReader | AdminGroupReader:
        if plaintext(self.conf):
            brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
            return WireGroupReader(brokers, self.timeout_s)
        return AdminGroupReader(self)

    def _listing(
        self, reader: WireGroupReader | AdminGroupReader
    ) -> tuple[list[str], list[str], dict[str, str]]:
        """Group ids to show, problems of the listing, and the groups missing because of them."""
        listing = reader.list_groups()
        ids = set(listing.groups)
        problems = [f"groups not listed by {reason}" for reason in listing.failed.values()]
        missing: dict[str, str] = {}
        if listing.failed:
            # A broker that is down cannot list the groups it coordinates: keep showing the ones
            # seen before, marked, rather than letting them silently vanish from the table.
            for gid in self._known_groups - ids:
                missing[gid] = "not listed (" + "; ".join(listing.failed.values()) + ")"
            ids |= set(missing)
        else:
            self._known_groups = set()
        self._known_groups |= ids
        self._simple = {gid: g.protocol_type == "" for gid, g in listing.groups.items()}
        return sorted(ids), problems, missing

    def groups(self) -> GroupList:
        md = self._metadata()
        with self._group_reader(md) as reader:
            ids, problems, missing = self._listing(reader)
            reads = reader.read(ids) if ids else {}
        marks = self._watermarks(md, group_partitions(reads.values(), md))
        rows: list[GroupSummary] = []
        for gid in ids:
            read = reads[gid]
            offsets = offset_rows(read, marks)
            errors = list(read.errors)
            if gid in missing and not (read.members is not None and read.offsets is not None):
                errors.insert(0, missing[gid])
            lag: int | None = None
            unknown = 0
            if read.offsets is not None:
                lag = sum(o.lag or 0 for o in offsets)
                unknown = sum(o.lag is None for o in offsets)
            rows.append(
                GroupSummary(
                    group_id=gid,
                    state=read.state or STATE_UNREAD,
                    protocol=read.protocol,
                    members=len(read.members) if read.members is not None else 0,
                    lag=lag,
                    simple=self._simple.get(gid, False),
                    topics=tuple(sorted({o.topic for o in offsets})),
                    uncommitted=sum(o.from_start for o in offsets) if read.offsets is not None else 0,
                    unknown=unknown,
                    error="; ".join(errors) or None,
                )
            )
        return GroupList(tuple(rows), tuple(problems))

    def group_detail(self, group_id: str) -> GroupDetail:
        md = self._metadata()
        with self._group_reader(md) as reader:
            read = reader.read([group_id])[group_id]
        if read.members is None and read.offsets is None:
            raise KafkaDataError(f"cannot read group {group_id}: {read.error}")
        marks = self._watermarks(md, group_partitions([read], md))
        return GroupDetail(
            group_id,
            read.state or STATE_UNREAD,
            read.protocol,
            read.coordinator,
            read.members or (),
            tuple(offset_rows(read, marks)),
            tuple(read.errors),
            read.group_type,
            read.group_epoch,
            read.assignment_epoch,
        )

    def _topic_groups(
        self, md: Any, topic: str, marks: dict[TP, tuple[int, int]]
    ) -> tuple[TopicGroupLag, ...]:
        """Every group that consumes ``topic`` or committed offsets on it, with its lag there."""
        partitions = sorted(md.topics[topic].partitions) if topic in md.topics else []
        with self._group_reader(md) as reader:
            ids, _problems, _missing = self._listing(reader)
            reads = reader.read(ids, topics={topic: partitions}) if ids else {}
        out = []
        for gid in ids:
            read = reads[gid]
            rows = [o for o in offset_rows(read, marks) if o.topic == topic]
            if not rows and (read.offsets is not None or read.members is not None):
                continue  # the group has nothing to do with this topic
            owners = {o.member_id for o in rows if o.member_id}
            out.append(
                TopicGroupLag(
                    gid,
                    read.state or STATE_UNREAD,
                    len(owners),
                    sum(o.lag or 0 for o in rows) if read.offsets is not None else None,
                    len(rows),
                    sum(o.from_start for o in rows),
                    read.error,
                    tuple(sorted(m.member_id for m in read.members or ())),
                    tuple((o.partition, o.lag) for o in rows if o.lag is not None),
                )
            )
        return tuple(out)

    def preview_reset(
        self, group_id: str, to: ResetTo, value: int | None = None, topic: str | None = None
    ) -> list[OffsetReset]:
        """What a reset would do, per partition, without doing it (Kafka's ``--dry-run``).

        Refuses while the group has members, with the message Kafka's tool prints: a live
        consumer would overwrite the new offsets with its next commit anyway.
        """
        detail = self.group_detail(group_id)
        if detail.errors:
            raise KafkaDataError(f"cannot read group {group_id}: {'; '.join(detail.errors)}")
        if detail.members or detail.state not in INACTIVE_GROUP_STATES:
            raise KafkaDataError(
                f"Assignments can only be reset if the group '{group_id}' is inactive, "
                f"but the current state is {detail.state}."
            )
        current = {(o.topic, o.partition): o.committed for o in detail.offsets}
        if topic is not None:
            current = {tp: off for tp, off in current.items() if tp[0] == topic}
            if not current:
                md = self._metadata(topic)
                t = md.topics.get(topic)
                current = {(topic, p): None for p in (t.partitions if t else {})}
        if not current:
            raise KafkaDataError(f"group {group_id} has no committed offsets to reset")
        target = offset_reset.ResetTarget(to, int(value or 0))
        targets = offset_reset.plan(target, list(current), {}, SourceLogOffsets(self, list(current)))
        return [OffsetReset(t, p, current[(t, p)], targets[(t, p)]) for t, p in sorted(current)]

    def apply_reset(self, group_id: str, plan: list[OffsetReset]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        request = ConsumerGroupTopicPartitions(
            group_id, [TopicPartition(r.topic, r.partition, r.target) for r in plan]
        )
        try:
            futures = self.admin.alter_consumer_group_offsets([request], request_timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            result = self._wait(fut)
            for tp in result.topic_partitions or []:
                if tp.error is not None:
                    raise KafkaDataError(f"{tp.topic}-{tp.partition}: {error_text(Exception(tp.error))}")
