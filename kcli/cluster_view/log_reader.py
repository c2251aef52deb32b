"""Putting a :class:`PartitionLog` together from the cluster, reading only the window drawn.

Per read: the partition's metadata (leader, replicas, ISR), its log start offset and high
watermark from the leader (ListOffsets), the batches of the window ``[first, first + count)``
(one Fetch, or a few for a window of many small batches, each capped in bytes), each replica's
log end offset (:mod:`kcli.cluster_view.replicas`), and - when asked, since they cost a coordinator
round trip per group - every group's committed offset on the partition. A partition of a million
records costs the same as one of a hundred: nothing outside the window is read.

On secured listeners (TLS/SASL, where the TUI does not speak the protocol itself) the records of
the window come from a consumer, so their batches are unknown and the drawing says so.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Any, Protocol

from kcli.cluster_view.fetch import FetchedWindow, fetch_window, replica_log_end
from kcli.cluster_view.log_model import (
    BatchInfo,
    GroupMark,
    PartitionLog,
    RecordCell,
    ReplicaEnd,
    Segment,
    XRayInput,
)
from kcli.cluster_view.replicas import LogDirCache, local_partition_dir, log_end_offset, segments
from kcli.protocol.connection import WireError

if TYPE_CHECKING:
    from kcli.cluster_view.group_reader import WireGroupReader

    class KafkaSource(Protocol):
        """What the reader uses of :class:`kcli.cluster_view.kafka.KafkaSource` (named here, not imported:
        the source imports this module)."""

        admin: Any
        conf: dict[str, Any]
        timeout_s: float

        def _topic_metadata(self, name: str) -> tuple[Any, Any]: ...
        def _watermarks(self, md: Any, wanted: Any) -> dict[tuple[str, int], tuple[int, int]]: ...
        def _group_reader(self, md: Any) -> WireGroupReader | Any: ...
        def _listing(self, reader: Any) -> tuple[list[str], list[str], dict[str, str]]: ...
        def _wait(self, future: Any) -> Any: ...
        def read_ranges(
            self, topic: str, ranges: dict[int, tuple[int, int]], limit: int, newest: bool = False
        ) -> list[Any]: ...


#: Bytes asked per Fetch; a window of small records fits in one, big batches take a few.
FETCH_BYTES = 256 * 1024
#: Never more than this per window, whatever the records' sizes (the window is cut short instead).
MAX_WINDOW_BYTES = 4 * 1024 * 1024
#: How long learnt log directories are trusted before DescribeLogDirs is asked again.
LOG_DIRS_TTL_S = 30.0
#: Topic configs the explain pane and the drawing's legend talk about.
CONFIG_KEYS = (
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "min.insync.replicas",
    "unclean.leader.election.enable",
)

SEGMENTS_NA = (
    "segments: n/a (Kafka's protocol does not tell where segments begin; drawn when a replica's "
    "log dir is on this machine)"
)


class PartitionLogReader:
    """Reads partitions through one :class:`~kcli.cluster_view.kafka.KafkaSource` (its clients, timeouts and
    security settings), remembering the brokers' log directories between reads."""

    def __init__(self, source: KafkaSource) -> None:
        self.source = source
        self.dirs = LogDirCache()
        self._dirs_at: dict[int, float] = {}
        self._seeded = False
        #: bytes fetched by the last read: tests check that a window never reads the partition
        self.last_fetched = 0

    # -- pieces -------------------------------------------------------------------------------

    @property
    def plaintext(self) -> bool:
        from kcli.cluster_view.logdirs import plaintext

        return plaintext(self.source.conf)

    def _partition_meta(self, topic: str, partition: int) -> tuple[Any, Any]:
        from kcli.cluster_view.source import KafkaDataError

        md, t = self.source._topic_metadata(topic)
        pm = t.partitions.get(partition)
        if pm is None:
            raise KafkaDataError(f"{topic} has no partition {partition} (it has {len(t.partitions)})")
        return md, pm

    def _marks(self, md: Any, topic: str, partition: int) -> tuple[int | None, int | None]:
        found = self.source._watermarks(md, [(topic, partition)])
        low, high = found.get((topic, partition), (None, None))
        return low, high

    def _seed_local(self, md: Any) -> None:
        """Learn the log dirs of a ``kcli local`` stack's brokers from its configs, so a broker
        that is already down when the view opens still shows how far its replica got."""
        if self._seeded:
            return
        self._seeded = True
        try:
            from kcli.cluster_view.local_lab import local_brokers

            for broker_id, info in local_brokers(md).items():
                self.dirs.add(broker_id, info.log_dirs)
        except Exception:  # no kcli local state, or not this cluster: nothing to seed
            return

    def _log_dirs(self, md: Any, broker: int) -> list[str]:
        b = md.brokers.get(broker)
        now = time.monotonic()
        if b is not None and self.plaintext and now - self._dirs_at.get(broker, -1e9) > LOG_DIRS_TTL_S:
            self._dirs_at[broker] = now
            return self.dirs.learn(broker, b.host, b.port, self.source.timeout_s)
        return self.dirs.dirs.get(broker, [])

    def _replica_ends(
        self, md: Any, topic: str, partition: int, pm: Any
    ) -> tuple[tuple[ReplicaEnd, ...], tuple[Segment, ...] | None, int | None]:
        self._seed_local(md)
        ends = []
        found_segments: tuple[Segment, ...] | None = None
        segments_of = None
        order = sorted(pm.replicas, key=lambda r: (r != pm.leader, r))
        for r in order:
            alive = r in md.brokers
            path = local_partition_dir(self._log_dirs(md, r), topic, partition)
            leo: int | None = None
            source = ""
            log_start = None
            if path is not None:
                leo = log_end_offset(path)
                segs = segments(path)
                log_start = segs[0].base_offset if segs else None
                source = f"its log dir {path.parent}"
                if found_segments is None and segs:
                    found_segments, segments_of = tuple(segs), r
            elif alive and self.plaintext:
                b = md.brokers[r]
                leo, why = replica_log_end(b.host, b.port, topic, partition, self.source.timeout_s)
                source = "ListOffsets (debugging replica)" if why is None else f"n/a: {why}"
            elif not alive:
                source = "n/a: broker down"
            else:
                source = "n/a: not told by the cluster"
            ends.append(ReplicaEnd(r, leo, source, r in pm.isrs, alive, r == pm.leader, log_start=log_start))
        return tuple(ends), found_segments, segments_of

    def _fetch(
        self, md: Any, topic: str, partition: int, leader: int, first: int, stop: int
    ) -> tuple[list[FetchedWindow], str | None]:
        """Fetches from the leader until the window is covered or its byte budget spent."""
        b = md.brokers.get(leader)
        if b is None:
            return [], "the partition has no live leader: its records cannot be read now"
        out: list[FetchedWindow] = []
        offset = first
        spent = 0
        while offset < stop and spent < MAX_WINDOW_BYTES:
            try:
                got = fetch_window(
                    b.host, b.port, topic, partition, offset, FETCH_BYTES, self.source.timeout_s
                )
            except (WireError, OSError, ValueError, struct.error, EOFError) as exc:
                return out, f"fetch from broker {leader}: {exc}"
            out.append(got)
            spent += got.size
            if got.error is not None or not got.batches:
                if got.error is not None:
                    return out, f"fetch from broker {leader}: {got.error}"
                break
            offset = max(offset, got.batches[-1].last_offset + 1)
        if offset < stop and spent >= MAX_WINDOW_BYTES:
            return out, f"window cut at offset {offset}: more than {MAX_WINDOW_BYTES >> 20} MiB of records"
        return out, None

    def _groups(self, md: Any, topic: str, partition: int) -> tuple[tuple[GroupMark, ...] | None, str | None]:
        from kcli.cluster_view.source import STATE_UNREAD, KafkaDataError

        try:
            with self.source._group_reader(md) as reader:
                ids, _problems, _missing = self.source._listing(reader)
                reads = reader.read(ids, topics={topic: [partition]}) if ids else {}
        except KafkaDataError as exc:
            return None, str(exc)
        marks = []
        for gid in ids:
            read = reads[gid]
            committed = (read.offsets or {}).get((topic, partition))
            owner = None
            for m in read.members or ():
                if (topic, partition) in m.assignment:
                    owner = m
            if committed is None and owner is None:
                continue
            marks.append(
                GroupMark(
                    gid,
                    committed,
                    read.state or STATE_UNREAD,
                    owner.client_id if owner else None,
                    owner.host if owner else None,
                    read.error,
                )
            )
        return tuple(marks), None

    def _configs(self, topic: str) -> dict[str, str]:
        from confluent_kafka.admin import ConfigResource, ResourceType

        try:
            futures = self.source.admin.describe_configs(
                [ConfigResource(ResourceType.TOPIC, topic)], request_timeout=self.source.timeout_s
            )
            out: dict[str, str] = {}
            for fut in futures.values():
                for entry in self.source._wait(fut).values():
                    if entry.name in CONFIG_KEYS and entry.value is not None:
                        out[entry.name] = str(entry.value)
            return out
        except Exception:  # configs only add words to the legend and the Explain pane
            return {}

    # -- the whole picture ----------------------------------------------------------------------

    def read(
        self,
        topic: str,
        partition: int,
        first: int | None = None,
        count: int = 200,
        with_groups: bool = True,
        with_configs: bool = False,
    ) -> PartitionLog:
        """The partition with the window of ``count`` offsets from ``first`` (None: the newest)."""
        md, pm = self._partition_meta(topic, partition)
        low, high = self._marks(md, topic, partition)
        notes: list[str] = []
        count = max(1, count)
        if low is None or high is None:
            notes.append("log start and high watermark: n/a (the leader did not answer ListOffsets)")
            start = first or 0
        elif first is None:
            start = max(low, high - count)
        else:
            start = min(max(first, low), max(low, high))
        stop = start + count if high is None else min(high, start + count)
        batches: tuple[BatchInfo, ...] = ()
        records: tuple[RecordCell, ...] = ()
        last_stable = None
        batches_known = True
        fetched = 0
        if self.plaintext:
            windows, problem = self._fetch(md, topic, partition, pm.leader, start, stop)
            if problem:
                notes.append(problem)
            seen_b: dict[int, BatchInfo] = {}
            seen_r: dict[int, RecordCell] = {}
            for w in windows:
                fetched += w.size
                if w.note:
                    notes.append(w.note)
                if w.last_stable is not None:
                    last_stable = w.last_stable
                # the Fetch answer tells the offsets at the moment it read the records: newer than
                # the ListOffsets before it, and consistent with its last stable offset
                if w.high_watermark is not None:
                    high = max(high or 0, w.high_watermark)
                if w.log_start is not None:
                    low = w.log_start
                for b in w.batches:
                    if b.last_offset >= start and b.base_offset < stop:
                        seen_b[b.base_offset] = b
                for r in w.records:
                    if start <= r.offset < stop:
                        seen_r[r.offset] = r
            batches = tuple(sorted(seen_b.values(), key=lambda b: b.base_offset))
            records = tuple(sorted(seen_r.values(), key=lambda r: r.offset))
        else:
            batches_known = False
            notes.append("batches: n/a on a secured listener (records read by a consumer)")
            got = self.source.read_ranges(topic, {partition: (start, stop)}, count) if start < stop else []
            records = tuple(RecordCell(m.offset, m.timestamp_ms or 0, m.key, m.value, m.headers) for m in got)
            last_stable = self._last_stable(topic, partition)
        self.last_fetched = fetched
        ends, segs, segments_of = self._replica_ends(md, topic, partition, pm)
        if segs is None:
            notes.append(SEGMENTS_NA)
        groups, groups_error = (None, None)
        if with_groups:
            groups, groups_error = self._groups(md, topic, partition)
        return PartitionLog(
            topic=topic,
            partition=partition,
            leader=pm.leader,
            replicas=tuple(pm.replicas),
            isr=tuple(pm.isrs),
            log_start=low,
            high_watermark=high,
            last_stable=last_stable,
            first=start,
            stop=stop,
            batches=batches,
            records=records,
            replica_ends=ends,
            segments=segs,
            segments_of=segments_of,
            groups=groups,
            groups_error=groups_error,
            notes=tuple(notes),
            batches_known=batches_known,
            fetched_bytes=fetched,
            configs=self._configs(topic) if with_configs else {},
        )

    def _last_stable(self, topic: str, partition: int) -> int | None:
        """The last stable offset through the AdminClient (ListOffsets with READ_COMMITTED)."""
        from confluent_kafka import IsolationLevel, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        try:
            futures = self.source.admin.list_offsets(
                {TopicPartition(topic, partition): OffsetSpec.latest()},
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=self.source.timeout_s,
            )
            for fut in futures.values():
                offset = fut.result(timeout=self.source.timeout_s + 1.0).offset
                return offset if offset >= 0 else None
        except Exception:
            return None
        return None

    def batch_for(self, topic: str, partition: int, offset: int) -> XRayInput:
        """The batch holding ``offset``, its bytes and the record, from the leader (PLAINTEXT)."""
        from kcli.cluster_view.source import KafkaDataError

        if not self.plaintext:
            raise KafkaDataError("the X-ray reads batches over the protocol: PLAINTEXT listeners only")
        md, pm = self._partition_meta(topic, partition)
        b = md.brokers.get(pm.leader)
        if b is None:
            raise KafkaDataError(f"{topic}-{partition} has no live leader")
        try:
            got = fetch_window(b.host, b.port, topic, partition, offset, 64 * 1024, self.source.timeout_s)
        except (WireError, OSError, ValueError, struct.error, EOFError) as exc:
            raise KafkaDataError(f"fetch from broker {pm.leader}: {exc}") from exc
        if got.error is not None:
            raise KafkaDataError(f"{topic}-{partition} offset {offset}: {got.error}")
        for batch in got.batches:
            if batch.holds(offset):
                record = next((r for r in got.records if r.offset == offset), None)
                if record is None:
                    raise KafkaDataError(
                        f"{topic}-{partition} offset {offset} is not in its batch "
                        f"{batch.base_offset}-{batch.last_offset} any more (removed by compaction)"
                    )
                return XRayInput(topic, partition, offset, batch, got.raw[batch.base_offset], record)
        raise KafkaDataError(f"{topic}-{partition} has no record at offset {offset}")
