"""The TUI's only door to Kafka: confluent-kafka clients behind methods returning plain data.

Every method here blocks (librdkafka futures, consumer polls) and is meant to be called from a
Textual thread worker, never from the event loop. Each call has a timeout, and every failure is
raised as :class:`KafkaDataError` carrying one readable line, so a screen can show it in the
status bar instead of crashing. The screens depend on the :class:`DataSource` protocol only, which
is what lets the snapshot tests substitute a fixed source.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import struct
import time
import uuid
from collections.abc import Iterable
from typing import Any, Literal, Protocol

from kcli.tui.logdirs import plaintext, topic_sizes
from kcli.tui.model import (
    BrokerInfo,
    ClusterInfo,
    ConfigValue,
    GroupDetail,
    GroupMemberInfo,
    GroupOffset,
    GroupSummary,
    Message,
    NewTopicSpec,
    OffsetReset,
    PartitionInfo,
    ProduceSpec,
    TopicDetail,
    TopicSummary,
)
from kcli.tui.watermarks import leader_watermarks

StartFrom = Literal["beginning", "end", "offset", "timestamp"]
ResetTo = Literal["earliest", "latest", "offset", "timestamp"]

#: Kafka's states in which a group has no live members, so its offsets may be changed from outside.
INACTIVE_GROUP_STATES = frozenset({"Empty", "Dead", "Unknown"})


class KafkaDataError(Exception):
    """A failed call to the cluster, with a message fit for the status bar."""


class DataSource(Protocol):
    """What the screens need from a cluster. Implemented by :class:`KafkaSource` (real clusters)."""

    bootstrap: str

    def cluster(self) -> ClusterInfo: ...
    def topics(self) -> list[TopicSummary]: ...
    def topic_detail(self, name: str) -> TopicDetail: ...
    def watermarks(self, name: str) -> dict[int, tuple[int, int]]: ...
    def create_topic(self, spec: NewTopicSpec) -> None: ...
    def delete_topic(self, name: str) -> None: ...
    def browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> list[Message]: ...
    def open_tail(self, topic: str, partition: int | None = None) -> Tail: ...
    def produce(self, spec: ProduceSpec) -> tuple[int, int]: ...
    def groups(self) -> list[GroupSummary]: ...
    def group_detail(self, group_id: str) -> GroupDetail: ...
    def preview_reset(
        self, group_id: str, to: ResetTo, value: int | None = None, topic: str | None = None
    ) -> list[OffsetReset]: ...
    def apply_reset(self, group_id: str, plan: list[OffsetReset]) -> None: ...
    def close(self) -> None: ...


class Tail(Protocol):
    """A live cursor at the end of a topic: ``poll`` returns whatever arrived since last time."""

    def poll(self, max_wait_s: float = 0.5) -> list[Message]: ...
    def close(self) -> None: ...


def error_text(exc: BaseException) -> str:
    """One line for a KafkaException/KafkaError/timeout: ``str()`` of those is a repr-like blob."""
    if isinstance(exc, KafkaDataError):
        return str(exc)
    if isinstance(exc, concurrent.futures.TimeoutError | TimeoutError):
        return "timed out waiting for the cluster"
    err = exc.args[0] if exc.args else exc
    if hasattr(err, "str") and callable(err.str):
        text = str(err.str())
        name = err.name() if hasattr(err, "name") else ""
        if name and name not in text and not name.startswith("_"):
            return f"{text} ({name})"
        return text
    return str(exc) or type(exc).__name__


def _state_name(state: Any) -> str:
    """``ConsumerGroupState.STABLE`` -> ``Stable``, the spelling Kafka's tools print."""
    raw = getattr(state, "name", str(state))
    special = {"PREPARING_REBALANCING": "PreparingRebalance", "COMPLETING_REBALANCING": "CompletingRebalance"}
    if raw in special:
        return special[raw]
    return "".join(part.capitalize() for part in raw.split("_"))


def client_conf(bootstrap: str, command_config: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """librdkafka settings (and the Java-only leftovers, e.g. ``schema.registry.url``).

    Uses the tools' translation table in ``kcli.client`` when it is available so that a
    ``--command-config`` file means the same to ``kcli tui`` as to ``kafka-topics``; otherwise
    passes the file's keys through to librdkafka as they are.
    """
    try:
        from kcli.client import client_settings
    except ImportError:  # pragma: no cover - only before the tools helper's module lands
        from kcli.properties import load_properties

        conf: dict[str, Any] = dict(load_properties(command_config)) if command_config else {}
        conf["bootstrap.servers"] = bootstrap
        extra = {k: conf.pop(k) for k in list(conf) if k.startswith(("schema.registry.", "basic.auth."))}
        return conf, extra
    settings = client_settings(bootstrap, command_config, None, "admin")
    return dict(settings.conf), dict(settings.java_only)


class KafkaSource:
    """A :class:`DataSource` over one cluster, using one AdminClient and short-lived consumers.

    The AdminClient is long-lived (it keeps its broker connections and reconnects on its own);
    consumers for browsing are created per request and closed at once, since they are assigned
    partitions directly and never join a group.
    """

    def __init__(
        self,
        bootstrap: str,
        command_config: str | None = None,
        timeout_s: float = 5.0,
        conf: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        if conf is None:
            conf, extra = client_conf(bootstrap, command_config)
        else:
            extra = {}
        self.conf = conf
        self.extra = extra
        self._admin: Any = None
        self._producer: Any = None
        self._sizes_retry_at = 0.0

    # -- clients ---------------------------------------------------------------------------

    @property
    def admin(self) -> Any:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient(self._base_conf())
        return self._admin

    def _base_conf(self) -> dict[str, Any]:
        conf = dict(self.conf)
        conf.setdefault("socket.timeout.ms", int(self.timeout_s * 1000))
        conf.setdefault("reconnect.backoff.max.ms", 2000)
        if "logger" not in conf:
            conf.setdefault("log_level", 0)
        return conf

    def _consumer(self) -> Any:
        from confluent_kafka import Consumer

        conf = self._base_conf()
        conf.update(
            {
                "group.id": f"kcli-tui-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": False,
                "fetch.wait.max.ms": 100,
            }
        )
        return Consumer(conf)

    def _wait(self, future: Any) -> Any:
        try:
            return future.result(timeout=self.timeout_s + 1.0)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc

    def _metadata(self, topic: str | None = None) -> Any:
        try:
            return self.admin.list_topics(topic=topic, timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(f"cannot reach {self.bootstrap}: {error_text(exc)}") from exc

    # -- cluster and topics ----------------------------------------------------------------

    def cluster(self) -> ClusterInfo:
        md = self._metadata()
        brokers: list[BrokerInfo]
        cluster_id, controller_id = md.cluster_id, md.controller_id
        racks: dict[int, str | None] = {}
        try:
            desc = self._wait(self.admin.describe_cluster(request_timeout=self.timeout_s))
            cluster_id = desc.cluster_id or cluster_id
            if desc.controller is not None:
                controller_id = desc.controller.id
            racks = {n.id: n.rack for n in desc.nodes}
        except KafkaDataError:
            pass  # DescribeCluster is newer than Metadata; the metadata answer is enough
        brokers = [
            BrokerInfo(b.id, b.host, b.port, racks.get(b.id), b.id == controller_id)
            for b in sorted(md.brokers.values(), key=lambda b: b.id)
        ]
        internal = sum(1 for name in md.topics if is_internal(name))
        partitions = sum(len(t.partitions) for t in md.topics.values())
        every = [p for t in md.topics.values() for p in t.partitions.values()]
        return ClusterInfo(
            cluster_id,
            controller_id,
            tuple(brokers),
            len(md.topics),
            partitions,
            internal,
            under_replicated_count=sum(len(p.isrs) < len(p.replicas) for p in every),
            offline_count=sum(p.leader < 0 for p in every),
            down_broker_ids=tuple(sorted({r for p in every for r in p.replicas} - set(md.brokers))),
        )

    def _offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """Low and high watermarks of many partitions: two ListOffsets calls in all, not one per partition."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        tps = [TopicPartition(t, p) for t, p in partitions]
        if not tps:
            return {}
        admin = self.admin
        try:
            low_f = admin.list_offsets(
                {tp: OffsetSpec.earliest() for tp in tps}, request_timeout=self.timeout_s
            )
            high_f = admin.list_offsets(
                {tp: OffsetSpec.latest() for tp in tps}, request_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        out: dict[tuple[str, int], tuple[int, int]] = {}
        deadline = time.monotonic() + self.timeout_s + 1.0
        for tp, lf in low_f.items():
            hf = high_f.get(tp)
            try:
                low = lf.result(timeout=max(0.01, deadline - time.monotonic())).offset
                high = hf.result(timeout=max(0.01, deadline - time.monotonic())).offset if hf else low
            except concurrent.futures.TimeoutError as exc:
                raise KafkaDataError("timed out reading offsets") from exc
            except Exception:
                continue  # one partition without a leader must not hide all the others
            out[(tp.topic, tp.partition)] = (low, high)
        return out

    def _stable_offsets(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Last stable offsets: the latest offset as read_committed sees it (ListOffsets with
        isolation level 1). Best effort: a partition without an answer is simply left out."""
        from confluent_kafka import IsolationLevel, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        if not partitions:
            return {}
        try:
            futures = self.admin.list_offsets(
                {TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions},
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=self.timeout_s,
            )
        except Exception:
            return {}
        out: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + self.timeout_s + 1.0
        for tp, fut in futures.items():
            try:
                out[(tp.topic, tp.partition)] = fut.result(
                    timeout=max(0.01, deadline - time.monotonic())
                ).offset
            except Exception:
                continue
        return out

    def _table_offsets(self, md: Any) -> dict[tuple[str, int], tuple[int, int]]:
        """Watermarks of every partition in ``md``, as fast as the listeners allow.

        On PLAINTEXT listeners: one pipelined pair of ListOffsets requests per leader, encoded with
        kio (:func:`kcli.tui.watermarks.leader_watermarks`). With 10,000 partitions that is far less than the
        AdminClient takes about 2 s (it builds 20,000 Python futures, and librdkafka's own
        bookkeeping grows faster than linearly). Partitions the fast path could not answer (no
        leader, an error code, a secured or unreachable listener) go through the AdminClient.
        """
        wanted = [(name, p) for name, t in md.topics.items() for p in t.partitions]
        out: dict[tuple[str, int], tuple[int, int]] = {}
        if plaintext(self.conf):
            by_leader: dict[int, dict[str, list[int]]] = {}
            for name, t in md.topics.items():
                for p, pm in t.partitions.items():
                    if pm.leader in md.brokers:
                        by_leader.setdefault(pm.leader, {}).setdefault(name, []).append(p)
            for leader, topics in by_leader.items():
                b = md.brokers[leader]
                try:
                    out.update(leader_watermarks(b.host, b.port, topics, self.timeout_s))
                except (OSError, ValueError, struct.error, EOFError):
                    continue  # this leader's partitions fall back to the AdminClient below
        missing = [tp for tp in wanted if tp not in out]
        if missing:
            out.update(self._offsets(missing))
        return out

    def topics(self) -> list[TopicSummary]:
        md = self._metadata()
        offsets = self._table_offsets(md)
        sizes = self._log_dir_sizes(md)
        rows: list[TopicSummary] = []
        for name, t in md.topics.items():
            parts = t.partitions
            rf = max((len(p.replicas) for p in parts.values()), default=0)
            records = 0
            known = True
            for pid in parts:
                wm = offsets.get((name, pid))
                if wm is None:
                    known = False
                    continue
                records += max(0, wm[1] - wm[0])
            rows.append(
                TopicSummary(
                    name=name,
                    partitions=len(parts),
                    replication_factor=rf,
                    records=records if known or records else None,
                    size_bytes=sizes.get(name),
                    internal=is_internal(name),
                    under_replicated=sum(len(p.isrs) < len(p.replicas) for p in parts.values()),
                    offline=sum(p.leader < 0 for p in parts.values()),
                )
            )
        rows.sort(key=lambda r: r.name)
        return rows

    def _log_dir_sizes(self, md: Any) -> dict[str, int]:
        """Bytes on disk per topic, or {} when the cluster cannot tell us (the table shows ``-``).

        Uses the client library's DescribeLogDirs when it has one, else kio-encoded requests on
        PLAINTEXT listeners (:mod:`kcli.tui.logdirs`). A failure is not an error for the table:
        sizes are skipped for a minute, then tried again.
        """
        if time.monotonic() < self._sizes_retry_at:
            return {}
        sizes: dict[str, int] = {}
        try:
            describe = getattr(self.admin, "describe_log_dirs", None)
            if describe is not None:
                result = describe(request_timeout=self.timeout_s)
                futures = result.values() if isinstance(result, dict) else [result]
                for fut in futures:
                    for log_dir in _iter_maybe(self._wait(fut)):
                        for topic in getattr(log_dir, "topics", []) or []:
                            name = getattr(topic, "name", None) or getattr(topic, "topic", None)
                            for part in getattr(topic, "partitions", []) or []:
                                if name:
                                    sizes[name] = sizes.get(name, 0) + int(getattr(part, "size", 0) or 0)
            elif plaintext(self.conf):
                for broker in md.brokers.values():
                    for name, size in topic_sizes(broker.host, broker.port, self.timeout_s).items():
                        sizes[name] = sizes.get(name, 0) + size
        except Exception:
            self._sizes_retry_at = time.monotonic() + 60.0
            return {}
        return sizes

    def watermarks(self, name: str) -> dict[int, tuple[int, int]]:
        md = self._metadata(name)
        t = md.topics.get(name)
        if t is None or (t.error is not None and not t.partitions):
            raise KafkaDataError(f"topic {name} does not exist")
        return {p: v for (_, p), v in self._offsets((name, p) for p in t.partitions).items()}

    def topic_detail(self, name: str) -> TopicDetail:
        from confluent_kafka.admin import ConfigResource, ResourceType

        md = self._metadata(name)
        t = md.topics.get(name)
        if t is None or (t.error is not None and not t.partitions):
            raise KafkaDataError(f"topic {name} does not exist")
        offsets = self._offsets((name, p) for p in t.partitions)
        stable = self._stable_offsets([(name, p) for p in t.partitions])
        parts = tuple(
            PartitionInfo(
                partition=pid,
                leader=p.leader,
                replicas=tuple(p.replicas),
                isr=tuple(p.isrs),
                low=offsets.get((name, pid), (None, None))[0],
                high=offsets.get((name, pid), (None, None))[1],
                offline=tuple(r for r in p.replicas if r not in md.brokers),
                stable=stable.get((name, pid)),
            )
            for pid, p in sorted(t.partitions.items())
        )
        configs: list[ConfigValue] = []
        try:
            futures = self.admin.describe_configs(
                [ConfigResource(ResourceType.TOPIC, name)], request_timeout=self.timeout_s
            )
            for fut in futures.values():
                for entry in sorted(self._wait(fut).values(), key=lambda e: e.name):
                    configs.append(
                        ConfigValue(
                            entry.name,
                            entry.value,
                            default=bool(entry.is_default),
                            sensitive=bool(entry.is_sensitive),
                            read_only=bool(entry.is_read_only),
                        )
                    )
        except KafkaDataError:
            pass  # configs are a nice-to-have (authorization may forbid them); partitions still show
        return TopicDetail(name, is_internal(name), parts, tuple(configs))

    def create_topic(self, spec: NewTopicSpec) -> None:
        from confluent_kafka.admin import NewTopic

        topic = NewTopic(
            spec.name,
            num_partitions=spec.partitions,
            replication_factor=spec.replication_factor,
            config=dict(spec.configs),
        )
        try:
            futures = self.admin.create_topics(
                [topic], request_timeout=self.timeout_s, operation_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)

    def delete_topic(self, name: str) -> None:
        try:
            futures = self.admin.delete_topics(
                [name], request_timeout=self.timeout_s, operation_timeout=self.timeout_s
            )
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)

    # -- messages ----------------------------------------------------------------------------

    def _start_offsets(
        self, topic: str, partition: int | None, start: StartFrom, position: int | None, limit: int
    ) -> dict[int, tuple[int, int]]:
        """partition -> (first offset to read, high watermark) for a browse request."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        marks = self.watermarks(topic)
        if partition is not None:
            if partition not in marks:
                raise KafkaDataError(f"{topic} has no partition {partition}")
            marks = {partition: marks[partition]}
        starts: dict[int, tuple[int, int]] = {}
        if start == "timestamp":
            specs = {TopicPartition(topic, p): OffsetSpec.for_timestamp(int(position or 0)) for p in marks}
            try:
                futures = self.admin.list_offsets(specs, request_timeout=self.timeout_s)
            except Exception as exc:
                raise KafkaDataError(error_text(exc)) from exc
            for tp, fut in futures.items():
                found = self._wait(fut).offset
                low, high = marks[tp.partition]
                starts[tp.partition] = (high if found < 0 else max(low, found), high)
            return starts
        per_partition = max(1, limit // max(1, len(marks)))
        for p, (low, high) in marks.items():
            if start == "beginning":
                first = low
            elif start == "end":
                first = max(low, high - per_partition)
            else:
                first = min(max(low, int(position or 0)), high)
            starts[p] = (first, high)
        return starts

    def browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> list[Message]:
        """Up to ``limit`` records from the chosen position to the current end, oldest first."""
        from confluent_kafka import TopicPartition

        starts = self._start_offsets(topic, partition, start, position, limit)
        todo = {p: hi for p, (first, hi) in starts.items() if first < hi}
        if not todo:
            return []
        consumer = self._consumer()
        out: list[Message] = []
        try:
            consumer.assign([TopicPartition(topic, p, starts[p][0]) for p in todo])
            deadline = time.monotonic() + self.timeout_s
            while todo and len(out) < limit * (1 if start != "end" else 2) and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.2):
                    if msg.error() is not None:
                        continue
                    p = msg.partition()
                    if p not in todo:
                        continue
                    out.append(_message(msg))
                    if msg.offset() >= todo[p] - 1:
                        del todo[p]
                        consumer.incremental_unassign([TopicPartition(topic, p)])
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        finally:
            consumer.close()
        if start == "end":
            out.sort(key=lambda m: (m.timestamp_ms or 0, m.partition, m.offset))
            return out[-limit:]
        if partition is None:
            out.sort(key=lambda m: (m.timestamp_ms or 0, m.partition, m.offset))
        return out[:limit]

    def open_tail(self, topic: str, partition: int | None = None) -> KafkaTail:
        marks = self.watermarks(topic)
        if partition is not None:
            marks = {partition: marks[partition]}
        return KafkaTail(self._consumer(), topic, {p: hi for p, (_, hi) in marks.items()})

    def produce(self, spec: ProduceSpec) -> tuple[int, int]:
        """Send one record and wait for its acknowledgement; returns (partition, offset)."""
        from confluent_kafka import Producer

        if self._producer is None:
            conf = self._base_conf()
            conf.setdefault("linger.ms", 0)
            self._producer = Producer(conf)
        result: dict[str, Any] = {}

        def on_delivery(err: Any, msg: Any) -> None:
            result["err"], result["msg"] = err, msg

        kwargs: dict[str, Any] = {
            "key": spec.key.encode() if spec.key is not None else None,
            "value": spec.value.encode() if spec.value is not None else None,
            "headers": [(k, v.encode()) for k, v in spec.headers] or None,
            "on_delivery": on_delivery,
        }
        if spec.partition is not None:
            kwargs["partition"] = spec.partition
        try:
            self._producer.produce(spec.topic, **kwargs)
            self._producer.flush(self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        if "msg" not in result:
            raise KafkaDataError("timed out waiting for the acknowledgement")
        if result["err"] is not None:
            raise KafkaDataError(error_text(Exception(result["err"])))
        msg = result["msg"]
        return msg.partition(), msg.offset()

    # -- consumer groups -------------------------------------------------------------------

    def groups(self) -> list[GroupSummary]:
        listing = self._wait(self.admin.list_consumer_groups(request_timeout=self.timeout_s))
        ids = sorted(g.group_id for g in listing.valid)
        if not ids:
            return []
        descriptions = self._describe_groups(ids)
        committed = self._committed_many(ids)
        ends = self._offsets({tp for offsets in committed.values() for tp in offsets})
        rows: list[GroupSummary] = []
        simple = {g.group_id: bool(g.is_simple_consumer_group) for g in listing.valid}
        for gid in ids:
            d = descriptions.get(gid)
            offs = committed.get(gid)
            lag: int | None = None
            if offs is not None:
                lag = sum(
                    max(0, ends[tp][1] - off)
                    for tp, off in offs.items()
                    if off is not None and off >= 0 and tp in ends
                )
            rows.append(
                GroupSummary(
                    group_id=gid,
                    state=_state_name(d.state) if d else "Unknown",
                    protocol=(d.partition_assignor or "") if d else "",
                    members=len(d.members) if d else 0,
                    lag=lag,
                    simple=simple.get(gid, False),
                )
            )
        return rows

    def _describe_groups(self, ids: list[str]) -> dict[str, Any]:
        try:
            futures = self.admin.describe_consumer_groups(ids, request_timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        out: dict[str, Any] = {}
        for gid, fut in futures.items():
            with contextlib.suppress(KafkaDataError):
                out[gid] = self._wait(fut)
        return out

    def _committed_many(self, ids: list[str]) -> dict[str, dict[tuple[str, int], int | None]]:
        """Committed offsets of many groups; librdkafka takes one group per request, so issue all first."""
        from confluent_kafka import ConsumerGroupTopicPartitions

        futures: dict[str, Any] = {}
        for gid in ids:
            try:
                futures.update(
                    self.admin.list_consumer_group_offsets(
                        [ConsumerGroupTopicPartitions(gid)], request_timeout=self.timeout_s
                    )
                )
            except Exception as exc:
                raise KafkaDataError(error_text(exc)) from exc
        out: dict[str, dict[tuple[str, int], int | None]] = {}
        for gid, fut in futures.items():
            with contextlib.suppress(KafkaDataError):
                res = self._wait(fut)
                out[gid] = {
                    (tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None)
                    for tp in res.topic_partitions or []
                }
        return out

    def group_detail(self, group_id: str) -> GroupDetail:
        desc = self._describe_groups([group_id]).get(group_id)
        if desc is None:
            raise KafkaDataError(f"cannot describe group {group_id}")
        committed = self._committed_many([group_id]).get(group_id, {})
        members = tuple(
            GroupMemberInfo(
                member_id=m.member_id,
                client_id=m.client_id,
                host=m.host,
                assignment=tuple(
                    sorted(
                        (tp.topic, tp.partition)
                        for tp in (m.assignment.topic_partitions if m.assignment else [])
                    )
                ),
            )
            for m in desc.members
        )
        partitions = set(committed) | {tp for m in members for tp in m.assignment}
        ends = self._offsets(partitions)
        offsets = tuple(
            GroupOffset(t, p, committed.get((t, p)), ends.get((t, p), (None, None))[1])
            for t, p in sorted(partitions)
        )
        coordinator = desc.coordinator.id if getattr(desc, "coordinator", None) is not None else None
        return GroupDetail(
            group_id,
            _state_name(desc.state),
            desc.partition_assignor or "",
            coordinator,
            members,
            offsets,
        )

    def preview_reset(
        self, group_id: str, to: ResetTo, value: int | None = None, topic: str | None = None
    ) -> list[OffsetReset]:
        """What a reset would do, per partition, without doing it (Kafka's ``--dry-run``).

        Refuses while the group has members, with the message Kafka's tool prints: a live
        consumer would overwrite the new offsets with its next commit anyway.
        """
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        detail = self.group_detail(group_id)
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
        marks = self._offsets(current)
        targets: dict[tuple[str, int], int] = {}
        if to == "timestamp":
            specs = {TopicPartition(t, p): OffsetSpec.for_timestamp(int(value or 0)) for t, p in current}
            try:
                futures = self.admin.list_offsets(specs, request_timeout=self.timeout_s)
            except Exception as exc:
                raise KafkaDataError(error_text(exc)) from exc
            for tp, fut in futures.items():
                found = self._wait(fut).offset
                key = (tp.topic, tp.partition)
                targets[key] = found if found >= 0 else marks.get(key, (0, 0))[1]
        else:
            for key in current:
                low, high = marks.get(key, (0, 0))
                if to == "earliest":
                    targets[key] = low
                elif to == "latest":
                    targets[key] = high
                else:  # an explicit offset, clamped into the log as Kafka's tool does
                    targets[key] = min(max(int(value or 0), low), high)
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

    def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.flush(1.0)
        self._producer = None
        self._admin = None


class KafkaTail:
    """A consumer assigned at the current end of a topic, for live tail mode."""

    def __init__(self, consumer: Any, topic: str, starts: dict[int, int]) -> None:
        from confluent_kafka import TopicPartition

        self.consumer = consumer
        self.topic = topic
        consumer.assign([TopicPartition(topic, p, off) for p, off in starts.items()])

    def poll(self, max_wait_s: float = 0.5) -> list[Message]:
        try:
            batch = self.consumer.consume(num_messages=500, timeout=max_wait_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        return [_message(m) for m in batch if m.error() is None]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()


def _message(msg: Any) -> Message:
    ts_type, ts = msg.timestamp()
    headers = tuple((k, v) for k, v in (msg.headers() or []))
    return Message(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_ms=ts if ts_type != 0 and ts >= 0 else None,
        key=msg.key(),
        value=msg.value(),
        headers=headers,
    )


def _iter_maybe(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    if isinstance(value, list | tuple):
        return value
    return [value]


def is_internal(name: str) -> bool:
    """Kafka's own internal topics (``__consumer_offsets``, ``__transaction_state``...)."""
    return name.startswith("__")
