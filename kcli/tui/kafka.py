"""The TUI's Kafka source: :class:`kcli.tui.source.DataSource` over confluent-kafka clients and kio requests.

One long-lived AdminClient, short-lived consumers for browsing, a producer for the produce
dialog, and on PLAINTEXT listeners a few requests of its own over :mod:`kcli.protocol` (the topic
table's watermarks, topic sizes, consumer groups: :mod:`kcli.tui.watermarks`,
:mod:`kcli.tui.logdirs`, :mod:`kcli.tui.group_reader`). What the methods promise (blocking,
timeouts, one-line :class:`kcli.tui.source.KafkaDataError`) is written in :mod:`kcli.tui.source`.
"""

from __future__ import annotations

import contextlib
import struct
import time
import uuid
from collections.abc import Iterable
from typing import Any

from kcli import offset_reset
from kcli.logview.model import PartitionLog, XRayInput
from kcli.logview.reader import PartitionLogReader
from kcli.protocol.connection import WireError
from kcli.tui.admin_groups import AdminGroupReader
from kcli.tui.bootstrap import bootstrap_addresses, client_conf, same_address, tcp_answers
from kcli.tui.group_reader import WireGroupReader
from kcli.tui.group_rows import group_partitions, offset_rows
from kcli.tui.log_offsets import SourceLogOffsets
from kcli.tui.logdirs import plaintext, topic_sizes
from kcli.tui.model import (
    BrokerInfo,
    BrowsePlan,
    ClusterInfo,
    ConfigValue,
    ConnectionInfo,
    GroupDetail,
    GroupList,
    GroupSummary,
    Message,
    NewTopicSpec,
    OffsetReset,
    PartitionInfo,
    PartitionState,
    ProduceSpec,
    ReplicationState,
    TopicDefaults,
    TopicDetail,
    TopicGroupLag,
    TopicSummary,
)
from kcli.tui.source import (
    INACTIVE_GROUP_STATES,
    STATE_UNREAD,
    TP,
    KafkaDataError,
    ResetTo,
    StartFrom,
    error_text,
    is_internal,
)
from kcli.tui.tail import KafkaTail, to_message
from kcli.tui.watermarks import leader_watermarks


class KafkaSource:
    """A :class:`~kcli.tui.source.DataSource` over one cluster, using one AdminClient and short-lived consumers.

    The AdminClient is long-lived (it keeps its broker connections and reconnects on its own);
    consumers for browsing are created per request and closed at once, since they are assigned
    partitions directly and never join a group. Consumer groups are read with kio requests on
    PLAINTEXT listeners (:mod:`kcli.tui.group_reader` says why), else with a second AdminClient
    that is replaced whenever a group's coordinator fails it.
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
        self._group_admin: Any = None
        self._producer: Any = None
        self._sizes_retry_at = 0.0
        self._brokers: dict[int, tuple[str, int]] = {}
        self._connection = ConnectionInfo()
        self._bootstrap_checked: dict[tuple[str, int], tuple[float, bool]] = {}
        #: groups seen in an earlier listing: kept (with an error) while a broker cannot list its own
        self._known_groups: set[str] = set()
        self._simple: dict[str, bool] = {}
        self._log_reader: PartitionLogReader | None = None

    # -- clients ---------------------------------------------------------------------------

    @property
    def admin(self) -> Any:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient(self._base_conf())
        return self._admin

    @property
    def group_admin(self) -> Any:
        """The AdminClient for group calls on secured listeners (see :meth:`reset_group_admin`)."""
        if self._group_admin is None:
            from confluent_kafka.admin import AdminClient

            self._group_admin = AdminClient(self._base_conf())
        return self._group_admin

    def reset_group_admin(self) -> None:
        """Forget the group AdminClient: librdkafka keeps a coordinator it was told is wrong for as
        long as it is used, so after such an answer only a new client asks again."""
        self._group_admin = None

    def _base_conf(self) -> dict[str, Any]:
        conf = dict(self.conf)
        conf.setdefault("socket.timeout.ms", int(self.timeout_s * 1000))
        # librdkafka retries a lost broker after 100 ms doubling up to this: keep it short, so a
        # broker that comes back is used within a second (the default maximum is 10 s).
        conf.setdefault("reconnect.backoff.max.ms", 1000)
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

    # -- reaching the cluster ----------------------------------------------------------------

    def _metadata(self, topic: str | None = None) -> Any:
        try:
            md = self.admin.list_topics(topic=topic, timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(f"no broker answers ({self.bootstrap}): {error_text(exc)}", True) from exc
        self._learn(md, full=topic is None)
        return md

    def _learn(self, md: Any, full: bool) -> None:
        """Remember the live brokers and who answered, for the status bar and the group reader."""
        self._brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
        name = str(getattr(md, "orig_broker_name", "") or "")
        answered = None
        if name:
            address, _, broker = name.rpartition("/")
            answered = f"broker {broker} at {address}" if broker.isdigit() else name
        replicas = {r for t in md.topics.values() for p in t.partitions.values() for r in p.replicas}
        if full:
            down = set(replicas - set(md.brokers))
        else:  # one topic's metadata: keep what the last full one said, less brokers back since
            down = (set(self._connection.down) | replicas) - set(md.brokers)
        self._connection = ConnectionInfo(
            answered_by=answered,
            cluster_id=getattr(md, "cluster_id", None),
            live=tuple(sorted(md.brokers)),
            down=tuple(sorted(down)),
            bootstrap_down=self._bootstrap_down(),
        )

    def _bootstrap_down(self) -> tuple[str, ...]:
        """Bootstrap addresses that are not a live broker and do not accept a connection."""
        out = []
        now = time.monotonic()
        for address in bootstrap_addresses(self.bootstrap):
            if any(same_address(address, live) for live in self._brokers.values()):
                continue
            checked = self._bootstrap_checked.get(address)
            if checked is None or now - checked[0] > 5.0:
                checked = (now, tcp_answers(*address, min(0.5, self.timeout_s)))
                self._bootstrap_checked[address] = checked
            if not checked[1]:
                out.append(f"{address[0]}:{address[1]}")
        return tuple(out)

    def connection(self) -> ConnectionInfo:
        return self._connection

    def probe(self) -> str | None:
        """The first known broker address that accepts a TCP connection now, or None.

        Used while the cluster is unreachable: a connect costs nothing next to a metadata request
        that waits for its timeout, so the app can retry as soon as any broker is back.
        """
        addresses = list(bootstrap_addresses(self.bootstrap))
        addresses += [a for a in self._brokers.values() if not any(same_address(a, b) for b in addresses)]
        for host, port in addresses:
            if tcp_answers(host, port, 0.5):
                return f"{host}:{port}"
        return None

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
            down_broker_ids=self._connection.down,
        )

    def _offsets(self, partitions: Iterable[TP]) -> dict[TP, tuple[int, int]]:
        """Low and high watermarks of many partitions: two ListOffsets calls in all, not one per partition.

        librdkafka answers -1001 (its "invalid offset") without an error for the partitions of a
        leader it could not ask (seen after ``kill -9`` of a leader): those are left out, as
        unknown, like the partitions answered with an error.
        """
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
        out: dict[TP, tuple[int, int]] = {}
        deadline = time.monotonic() + self.timeout_s + 1.0
        for tp, lf in low_f.items():
            hf = high_f.get(tp)
            try:
                low = lf.result(timeout=max(0.01, deadline - time.monotonic())).offset
                high = hf.result(timeout=max(0.01, deadline - time.monotonic())).offset if hf else low
            except Exception:
                # No answer in time (its leader just died) or an error: this partition stays
                # unknown ("-"), and must not hide all the others.
                continue
            if low >= 0 and high >= 0:
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

    def _watermarks(self, md: Any, wanted: Iterable[TP]) -> dict[TP, tuple[int, int]]:
        """Watermarks of ``wanted`` partitions of ``md``, as fast as the listeners allow.

        On PLAINTEXT listeners: one pipelined pair of ListOffsets requests per leader, encoded with
        kio (:func:`kcli.tui.watermarks.leader_watermarks`). With 10,000 partitions that is far less than the
        AdminClient takes about 2 s (it builds 20,000 Python futures, and librdkafka's own
        bookkeeping grows faster than linearly). Partitions the fast path could not answer (no
        leader, an error code, a secured or unreachable listener) go through the AdminClient.
        """
        wanted = list(dict.fromkeys(wanted))
        out: dict[TP, tuple[int, int]] = {}
        if plaintext(self.conf):
            by_leader: dict[int, dict[str, list[int]]] = {}
            for name, p in wanted:
                t = md.topics.get(name)
                pm = t.partitions.get(p) if t is not None else None
                if pm is not None and pm.leader in md.brokers:
                    by_leader.setdefault(pm.leader, {}).setdefault(name, []).append(p)
            for leader, topics in by_leader.items():
                b = md.brokers[leader]
                try:
                    out.update(leader_watermarks(b.host, b.port, topics, self.timeout_s))
                except (WireError, OSError, ValueError, struct.error, EOFError):
                    continue  # this leader's partitions fall back to the AdminClient below
        missing = [tp for tp in wanted if tp not in out]
        if missing:
            out.update(self._offsets(missing))
        return out

    def _table_offsets(self, md: Any) -> dict[TP, tuple[int, int]]:
        return self._watermarks(md, ((name, p) for name, t in md.topics.items() for p in t.partitions))

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

    def _topic_metadata(self, name: str) -> tuple[Any, Any]:
        md = self._metadata(name)
        t = md.topics.get(name)
        if t is None or (t.error is not None and not t.partitions):
            raise KafkaDataError(f"topic {name} does not exist")
        return md, t

    def watermarks(self, name: str) -> dict[int, tuple[int, int]]:
        md, t = self._topic_metadata(name)
        return {p: v for (_, p), v in self._watermarks(md, ((name, p) for p in t.partitions)).items()}

    def topic_detail(self, name: str, with_groups: bool = False) -> TopicDetail:
        from confluent_kafka.admin import ConfigResource, ResourceType

        md, t = self._topic_metadata(name)
        offsets = self._watermarks(md, ((name, p) for p in t.partitions))
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
        groups: tuple[TopicGroupLag, ...] | None = None
        groups_error = None
        if with_groups:
            try:
                groups = self._topic_groups(md, name, offsets)
            except KafkaDataError as exc:
                groups_error = str(exc)
        return TopicDetail(name, is_internal(name), parts, tuple(configs), groups, groups_error)

    def topic_defaults(self) -> TopicDefaults:
        """``num.partitions`` and ``default.replication.factor`` of a live broker (the controller's
        when it is known): what the broker itself would use for a topic created without them."""
        from confluent_kafka.admin import ConfigResource, ResourceType

        md = self._metadata()
        live = sorted(md.brokers)
        if not live:
            return TopicDefaults(None, None, 0)
        broker = md.controller_id if md.controller_id in md.brokers else live[0]
        futures = self.admin.describe_configs(
            [ConfigResource(ResourceType.BROKER, str(broker))], request_timeout=self.timeout_s
        )
        entries: dict[str, Any] = {}
        for fut in futures.values():
            entries.update(self._wait(fut))

        def number(key: str) -> int | None:
            entry = entries.get(key)
            try:
                return int(entry.value) if entry is not None and entry.value is not None else None
            except ValueError:
                return None

        return TopicDefaults(number("num.partitions"), number("default.replication.factor"), len(live))

    def alter_topic_config(self, topic: str, name: str, value: str | None) -> None:
        """Set one topic config (IncrementalAlterConfigs SET), or remove the override (DELETE) when
        ``value`` is None; the broker validates, and its refusal is raised as it says it."""
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

        op = AlterConfigOpType.DELETE if value is None else AlterConfigOpType.SET
        resource = ConfigResource(
            ResourceType.TOPIC,
            topic,
            incremental_configs=[ConfigEntry(name, value, incremental_operation=op)],
        )
        try:
            futures = self.admin.incremental_alter_configs([resource], request_timeout=self.timeout_s)
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        for fut in futures.values():
            self._wait(fut)

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
        self,
        topic: str,
        partition: int | None,
        start: StartFrom,
        position: int | None,
        limit: int,
        marks: dict[int, tuple[int, int]],
    ) -> dict[int, tuple[int, int]]:
        """partition -> (first offset to read, offset to stop before) for a browse request."""
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

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
                first = high if found < 0 else max(low, found)
                starts[tp.partition] = (first, min(high, first + limit))
            return starts
        for p, (low, high) in marks.items():
            if start == "beginning":
                first = low
            elif start == "end":
                first = max(low, high - limit)
            else:
                first = min(max(low, int(position or 0)), high)
            starts[p] = (first, min(high, first + limit))
        return starts

    def plan_browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> BrowsePlan:
        """The offsets a browse from ``start`` reads in each partition, and the watermarks."""
        marks = self.watermarks(topic)
        ranges = self._start_offsets(topic, partition, start, position, limit, marks)
        return BrowsePlan(ranges, marks)

    def browse(
        self,
        topic: str,
        partition: int | None = None,
        start: StartFrom = "beginning",
        position: int | None = None,
        limit: int = 200,
    ) -> list[Message]:
        """Up to ``limit`` records from the chosen position, oldest first (``end``: the newest)."""
        plan = self.plan_browse(topic, partition, start, position, limit)
        return self.read_ranges(topic, plan.ranges, limit, newest=start == "end")

    def read_ranges(
        self, topic: str, ranges: dict[int, tuple[int, int]], limit: int, newest: bool = False
    ) -> list[Message]:
        """Records of ``ranges`` (partition -> [first, stop)), at most ``limit``, oldest first.

        Several partitions are merged by timestamp; ``newest`` keeps the last ``limit`` of them
        (a page before the current one), else the first.
        """
        from confluent_kafka import TopicPartition

        todo = {p: stop for p, (first, stop) in ranges.items() if first < stop}
        if not todo:
            return []
        consumer = self._consumer()
        out: list[Message] = []
        try:
            consumer.assign([TopicPartition(topic, p, ranges[p][0]) for p in todo])
            deadline = time.monotonic() + self.timeout_s
            while todo and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.2):
                    if msg.error() is not None:
                        continue
                    p = msg.partition()
                    if p not in todo or msg.offset() >= todo[p]:
                        continue
                    out.append(to_message(msg))
                    if msg.offset() >= todo[p] - 1:
                        del todo[p]
                        consumer.incremental_unassign([TopicPartition(topic, p)])
        except Exception as exc:
            raise KafkaDataError(error_text(exc)) from exc
        finally:
            consumer.close()
        out.sort(key=lambda m: (m.timestamp_ms or 0, m.partition, m.offset))
        return out[-limit:] if newest else out[:limit]

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
            conf.setdefault("partitioner", "murmur2_random")  # keys where Java's producer puts them
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
        its markers and replicas (see :mod:`kcli.logview.reader`)."""
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
            from kcli.tui.local_lab import local_brokers

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

    def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.flush(1.0)
        self._producer = None
        self._admin = None
        self._group_admin = None


def _iter_maybe(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    if isinstance(value, list | tuple):
        return value
    return [value]
