"""The TUI's consumer-group reader for secured listeners, through librdkafka's AdminClient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from kcli.cluster_view.group_reader import GroupListing, GroupRead, ListedGroup
from kcli.cluster_view.model import GroupMemberInfo
from kcli.cluster_view.source import error_text


class GroupAdminSource(Protocol):
    """What the reader needs of :class:`kcli.cluster_view.kafka.KafkaSource`: its group AdminClient."""

    timeout_s: float

    @property
    def group_admin(self) -> Any: ...
    def reset_group_admin(self) -> None: ...


def state_name(state: Any) -> str:
    """``ConsumerGroupState.STABLE`` -> ``Stable``, the spelling Kafka's tools print."""
    raw = getattr(state, "name", str(state))
    special = {"PREPARING_REBALANCING": "PreparingRebalance", "COMPLETING_REBALANCING": "CompletingRebalance"}
    if raw in special:
        return special[raw]
    return "".join(part.capitalize() for part in raw.split("_"))


class AdminGroupReader:
    """The group reader for secured listeners, through librdkafka's AdminClient.

    Same answers as :class:`~kcli.cluster_view.group_reader.WireGroupReader`. librdkafka's coordinator
    bugs (see :mod:`kcli.cluster_view.group_reader`) cannot all be avoided here: after any error that
    means "ask another coordinator" the source's group AdminClient is replaced, so the next
    refresh looks the coordinator up afresh instead of failing forever.
    """

    _MOVED = ("NOT_COORDINATOR", "COORDINATOR", "Timed out", "Transport", "Broker transport")

    def __init__(self, source: GroupAdminSource) -> None:
        self.source = source
        self.admin = source.group_admin

    def __enter__(self) -> AdminGroupReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def _result(self, future: Any) -> tuple[Any, str | None]:
        try:
            return future.result(timeout=self.source.timeout_s + 1.0), None
        except Exception as exc:
            text = error_text(exc)
            if any(word.lower() in text.lower() for word in self._MOVED):
                self.source.reset_group_admin()
            return None, text

    def list_groups(self) -> GroupListing:
        listing = GroupListing()
        result, error = self._result(self.admin.list_consumer_groups(request_timeout=self.source.timeout_s))
        if error is not None:
            listing.failed[-1] = f"the cluster ({error})"
            return listing
        for g in result.valid:
            protocol = "" if g.is_simple_consumer_group else "consumer"
            listing.groups[g.group_id] = ListedGroup(g.group_id, protocol, state_name(g.state))
        for i, err in enumerate(result.errors or []):
            listing.failed[-1 - i] = f"a broker ({error_text(Exception(err))})"
        return listing

    def read(
        self,
        group_ids: Iterable[str],
        describe: bool = True,
        offsets: bool = True,
        topics: dict[str, list[int]] | None = None,
    ) -> dict[str, GroupRead]:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        ids = list(dict.fromkeys(group_ids))
        reads = {gid: GroupRead(gid) for gid in ids}
        timeout = self.source.timeout_s
        if describe and ids:
            for gid, fut in self.admin.describe_consumer_groups(ids, request_timeout=timeout).items():
                d, error = self._result(fut)
                if error is not None:
                    reads[gid].errors.append(f"describe: {error}")
                    continue
                reads[gid].state = state_name(d.state)
                reads[gid].protocol = d.partition_assignor or ""
                reads[gid].coordinator = d.coordinator.id if getattr(d, "coordinator", None) else None
                reads[gid].members = tuple(
                    GroupMemberInfo(
                        m.member_id,
                        m.client_id,
                        m.host,
                        tuple(
                            sorted(
                                (tp.topic, tp.partition)
                                for tp in (m.assignment.topic_partitions if m.assignment else [])
                            )
                        ),
                    )
                    for m in d.members
                )
        if offsets:
            wanted = None
            if topics is not None:
                wanted = [TopicPartition(t, p) for t, ps in topics.items() for p in ps]
            for gid in ids:
                request = ConsumerGroupTopicPartitions(gid, wanted)
                futures = self.admin.list_consumer_group_offsets([request], request_timeout=timeout)
                res, error = self._result(futures[gid])
                if error is not None:
                    reads[gid].errors.append(f"committed offsets: {error}")
                    continue
                reads[gid].offsets = {
                    (tp.topic, tp.partition): tp.offset
                    for tp in res.topic_partitions or []
                    if tp.error is None and tp.offset >= 0
                }
        return reads
