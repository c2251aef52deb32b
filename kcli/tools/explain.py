"""``--explain`` for the console producer and consumer: what the cluster did and why, on stderr.

``kafka-topics`` and ``kafka-consumer-groups`` explain with :mod:`kcli.tools.explain_admin`, on the
same rules.

Off by default; with it, stdout stays byte for byte what Kafka's tool prints (scripts parse it),
and every explanation line goes to stderr prefixed ``[explain]``. What is said comes from the
cluster and the client, never from assumptions: the partition a key went to is recomputed with
Kafka's own partitioner (``murmur2``, as Java's ``BuiltInPartitioner``) and compared with the
partition the broker acknowledged; the batch a record landed in is read back from the leader
(one Fetch, PLAINTEXT listeners); the coordinator, assignor and assignment come from the group
coordinator's answers. What a cluster does not say is reported as not known.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from kcli.explain_texts import key_reason, show_key

PREFIX = "[explain] "

ACKS = {
    "0": "acks=0: the producer does not wait for any answer, so it never learns the offset",
    "1": "acks=1: the leader answers once it has written the batch; followers copy it afterwards",
    "-1": "acks=all: the leader answers once every in-sync replica has the batch "
    "(and refuses if the ISR is smaller than min.insync.replicas)",
    "all": "acks=all: the leader answers once every in-sync replica has the batch "
    "(and refuses if the ISR is smaller than min.insync.replicas)",
}

ERRORS = {
    "NOT_ENOUGH_REPLICAS": "the ISR is smaller than the topic's min.insync.replicas, so the leader refuses "
    "acks=all writes; the producer retries until delivery.timeout.ms runs out",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND": "the leader wrote the batch but the ISR shrank below "
    "min.insync.replicas before followers had it",
    "NOT_LEADER_OR_FOLLOWER": "the broker asked is no longer the leader (an election moved it): the "
    "producer refreshes its metadata and sends to the new leader",
    "_MSG_TIMED_OUT": "no leader acknowledged the record within delivery.timeout.ms",
    "MSG_TIMED_OUT": "no leader acknowledged the record within delivery.timeout.ms",
}


class Explainer:
    """Writes ``[explain]`` lines to stderr (or ``out``), each at most once when asked."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self._said: set[str] = set()

    def say(self, text: str, once: bool = False) -> None:
        if once:
            if text in self._said:
                return
            self._said.add(text)
        print(PREFIX + text, file=self.out, flush=True)


def wire_ok(conf: dict[str, Any]) -> bool:
    return str(conf.get("security.protocol", "PLAINTEXT")).upper() == "PLAINTEXT"


class ProducerExplainer(Explainer):
    """Follows a console producer: its settings, then per record the partition, offset, batch and
    the leader that answered."""

    def __init__(self, conf: dict[str, Any], topic: str, out: TextIO | None = None) -> None:
        super().__init__(out)
        self.conf = conf
        self.topic = topic
        self._md_at = 0.0
        self._partitions: dict[int, Any] = {}
        self._brokers: dict[int, tuple[str, int]] = {}
        self._batches: dict[int, list[Any]] = {}
        self.records = 0

    def start(self, producer: Any) -> None:
        self.producer = producer
        acks = str(self.conf.get("acks", "-1")).lower()
        self.say(ACKS.get(acks, f"acks={acks}"))
        linger = self.conf.get("linger.ms", "5")
        batch = self.conf.get("batch.size", "16384")
        self.say(
            f"linger.ms={linger}, batch.size={batch}: records to the same partition wait up to {linger} ms "
            f"to share a batch of up to {batch} bytes; a batch is one request and one CRC on the broker"
        )
        partitioner = str(self.conf.get("partitioner", "consistent_random"))
        if partitioner.startswith("murmur2"):
            self.say(
                "partitioner: a keyed record goes to toPositive(murmur2(key)) mod the partition count, "
                "as Java's producer does, so a key always lands in the same partition"
            )
        else:
            self.say(f"partitioner: {partitioner} (librdkafka's; Java's producer uses murmur2)")
        self._metadata()
        if self._partitions:
            leaders = ", ".join(f"{p}→broker {pm.leader}" for p, pm in sorted(self._partitions.items()))
            self.say(f"{self.topic} has {len(self._partitions)} partition(s); leaders: {leaders}")

    def _metadata(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._md_at < 5.0:
            return
        self._md_at = time.monotonic()
        try:
            md = self.producer.list_topics(self.topic, timeout=5)
        except Exception:
            return
        t = md.topics.get(self.topic)
        if t is not None and t.partitions:
            self._partitions = dict(t.partitions)
        self._brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}

    def on_delivery(self, err: Any, msg: Any) -> None:
        self.records += 1
        record = f"record {show_key(msg.key(), 20)}:{show_key(msg.value(), 20)}"
        if err is not None:
            name = err.name() if hasattr(err, "name") else str(err)
            why = ERRORS.get(name, "")
            self.say(f"{record} not delivered: {err.str()}" + (f" ({name}: {why})" if why else f" ({name})"))
            return
        self._metadata()
        partition, offset = msg.partition(), msg.offset()
        partitioner = str(self.conf.get("partitioner", "consistent_random"))
        reason = key_reason(msg.key(), partition, len(self._partitions) or None, partitioner)
        pm = self._partitions.get(partition)
        where = f"{record}: {reason}"
        if offset is None or offset < 0:
            self.say(where + "; no offset known (acks=0)")
            return
        where += f"; written at offset {offset} of {self.topic}-{partition}"
        batch = self._batch(partition, offset, pm)
        if batch is not None:
            size = batch.last_offset - batch.base_offset + 1
            where += (
                f", in batch {batch.base_offset}-{batch.last_offset} ({size} record{'s' if size != 1 else ''}"
            )
            where += f", compression {batch.compression}"
            if batch.producer_id >= 0:
                where += f", producer id {batch.producer_id} epoch {batch.producer_epoch} sequence {batch.base_sequence}"
            where += ")"
        if pm is not None:
            acks = str(self.conf.get("acks", "-1")).lower()
            if acks in ("-1", "all"):
                where += f"; leader broker {pm.leader} answered once ISR {','.join(map(str, pm.isrs))} had it"
            else:
                where += f"; leader broker {pm.leader} answered"
        self.say(where)

    def _batch(self, partition: int, offset: int, pm: Any) -> Any:
        """The batch holding ``offset``, read back from the leader (cached per partition)."""
        for b in self._batches.get(partition, []):
            if b.base_offset <= offset <= b.last_offset:
                return b
        if pm is None or not wire_ok(self.conf) or pm.leader not in self._brokers:
            return None
        from kcli.cluster_view.fetch import fetch_window

        host, port = self._brokers[pm.leader]
        try:
            got = fetch_window(host, port, self.topic, partition, offset, 64 * 1024, 5.0, decode=False)
        except Exception:
            return None
        cached = self._batches.setdefault(partition, [])
        cached.extend(got.batches)
        del cached[:-200]
        for b in got.batches:
            if b.base_offset <= offset <= b.last_offset:
                return b
        return None

    def finish(self, remaining: int) -> None:
        if remaining:
            self.say(
                f"{remaining} record(s) were still waiting for an acknowledgement when the producer stopped"
            )


class ConsumerExplainer(Explainer):
    """Follows a console consumer: the group protocol's steps, the assignment, where each partition
    starts, what it commits."""

    def __init__(self, conf: dict[str, Any], bootstrap: str, out: TextIO | None = None) -> None:
        super().__init__(out)
        self.conf = conf
        self.bootstrap = bootstrap
        self.group = str(conf.get("group.id", ""))
        self.reset = str(conf.get("auto.offset.reset", "latest"))
        self.consumer: Any = None
        self.first_read: set[tuple[str, int]] = set()
        self.read = 0
        self._committed: dict[tuple[str, int], int] = {}

    def hook(self) -> None:
        """Ask librdkafka to report commits to us (before the consumer is built)."""
        self.conf["on_commit"] = self.on_commit

    def subscribing(self, consumer: Any, what: str) -> None:
        self.consumer = consumer
        strategy = str(self.conf.get("partition.assignment.strategy", "range,roundrobin"))
        auto = str(self.conf.get("enable.auto.commit", "true")).lower() == "true"
        coordinator = self._coordinator()
        self.say(
            f"group {self.group}: FindCoordinator → {coordinator}; the consumer joins the group "
            f"(JoinGroup) offering the assignors [{strategy}]; the coordinator picks one every member "
            "offers, a leader member computes the assignment, and SyncGroup hands each member its partitions"
        )
        self.say(
            f"subscribed to {what}; "
            + (
                f"offsets are committed automatically every {self.conf.get('auto.commit.interval.ms', 5000)} ms"
                if auto
                else "offsets are not committed (no group was given: the tool made a throwaway one)"
            )
        )

    def assigning_directly(self, topic: str, partition: int, offset: str) -> None:
        start = {"earliest": "the log start offset", "latest": "the log end offset"}.get(
            offset, f"offset {offset}"
        )
        self.say(
            f"--partition: {topic}-{partition} is assigned directly, without a group (no coordinator, "
            f"no rebalance, no commits); reading starts at {start}"
        )

    def _coordinator(self) -> str:
        if not wire_ok(self.conf):
            return "its coordinator (not asked: secured listener)"
        try:
            from kcli.client import split_bootstrap
            from kcli.cluster_view.group_reader import WireGroupReader

            brokers = {-(i + 1): hp for i, hp in enumerate(split_bootstrap(self.bootstrap))}
            with WireGroupReader(brokers, 5.0) as reader:
                found = reader.find_coordinators([self.group]).get(self.group)
            return f"broker {found}" if isinstance(found, int) else f"no coordinator yet ({found})"
        except Exception as exc:
            return f"unknown ({exc})"

    def _protocol(self) -> tuple[str, int]:
        if not wire_ok(self.conf):
            return "", 0
        try:
            from kcli.client import split_bootstrap
            from kcli.cluster_view.group_reader import WireGroupReader

            brokers = {-(i + 1): hp for i, hp in enumerate(split_bootstrap(self.bootstrap))}
            with WireGroupReader(brokers, 5.0) as reader:
                read = reader.read([self.group], offsets=False)[self.group]
            return read.protocol, len(read.members or ())
        except Exception:
            return "", 0

    def on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        names = ", ".join(f"{tp.topic}-{tp.partition}" for tp in partitions) or "none"
        protocol, members = self._protocol()
        who = f" by the {protocol} assignor" if protocol else ""
        among = (
            f" ({members} member{'s share' if members != 1 else ' shares'} the partitions)" if members else ""
        )
        self.say(f"rebalance done: assigned {names}{who}{among}")
        if not partitions:
            self.say("no partition for this member: a group has at most one member per partition")
            return
        try:
            committed = consumer.committed(partitions, timeout=10)
        except Exception:
            committed = []
        for tp in committed:
            key = (tp.topic, tp.partition)
            if tp.offset is not None and tp.offset >= 0:
                self._committed[key] = tp.offset
                self.say(f"{tp.topic}-{tp.partition}: starts at the group's committed offset {tp.offset}")
                continue
            try:
                low, high = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            except Exception:
                low = high = None
            where = {"earliest": ("log start offset", low), "latest": ("log end offset", high)}.get(
                self.reset, (self.reset, None)
            )
            at = f" {where[1]}" if where[1] is not None else ""
            self.say(
                f"{tp.topic}-{tp.partition}: the group has no committed offset, so auto.offset.reset="
                f"{self.reset} starts it at the {where[0]}{at}"
            )

    def on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        names = ", ".join(f"{tp.topic}-{tp.partition}" for tp in partitions) or "none"
        self.say(
            f"rebalance: giving back {names} (a member joined or left, or the subscription changed); "
            "the group stops consuming until SyncGroup hands out the new assignment"
        )

    def on_commit(self, err: Any, partitions: list[Any]) -> None:
        if err is not None:
            if getattr(err, "code", lambda: None)() == -168:  # _NO_OFFSET: nothing new to commit
                return
            self.say(f"commit failed: {err.str() if hasattr(err, 'str') else err}")
            return
        moved = []
        for tp in partitions or []:
            key = (tp.topic, tp.partition)
            if tp.offset is not None and tp.offset >= 0 and self._committed.get(key) != tp.offset:
                moved.append(f"{tp.topic}-{tp.partition} {self._committed.get(key, '-')} → {tp.offset}")
                self._committed[key] = tp.offset
        if moved:
            self.say(
                "committed (OffsetCommit to the coordinator; the offset is the next record to read): "
                + ", ".join(moved)
            )

    def on_records(self, batch: Iterable[Any]) -> None:
        for msg in batch:
            if msg.error() is not None:
                continue
            self.read += 1
            key = (msg.topic(), msg.partition())
            if key not in self.first_read:
                self.first_read.add(key)
                self.say(f"first record read from {key[0]}-{key[1]}: offset {msg.offset()}")

    def finish(self) -> None:
        if self.group and self._committed:
            where = ", ".join(f"{t}-{p} {o}" for (t, p), o in sorted(self._committed.items()))
            self.say(
                f"leaving group {self.group} (LeaveGroup: the others rebalance at once); committed: {where}"
            )
