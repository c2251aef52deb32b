"""The Explain pane (``E``): what the view on screen shows, in the lecture's words, with its numbers.

One pure function per view, from the same data the view draws, so the pane never says anything
the cluster did not: "HW 120: consumers can read offsets below 120; broker 2's log ends at 100, 20
behind, outside the ISR, so acks=all producers wait only for brokers 1 and 0".
"""

from __future__ import annotations

from kcli.cluster_view.log_model import PartitionLog
from kcli.cluster_view.model import ClusterInfo, GroupDetail, Message, ReplicationState, TopicDetail
from kcli.explain_texts import key_reason


def _ids(ids: tuple[int, ...] | list[int]) -> str:
    return ",".join(map(str, ids)) or "none"


def partition_lines(log: PartitionLog) -> list[str]:
    out = [
        f"{log.topic}-{log.partition} is an append-only log: every record gets the next offset, "
        "and records are never changed, only removed from the start (retention) or, on compacted "
        "topics, when a newer record has the same key."
    ]
    if log.leader >= 0:
        out.append(
            f"Leader: broker {log.leader} takes every write and serves every read; the other replicas "
            f"({_ids([r for r in log.replicas if r != log.leader])}) fetch from it like consumers do."
        )
    else:
        out.append("No leader: no in-sync replica is alive, so nothing can be read or written now.")
    if log.log_start is not None:
        out.append(
            f"Log start {log.log_start:,}: the oldest offset still stored; older ones were deleted by "
            f"retention ({log.configs.get('retention.ms', 'retention.ms')} ms) or DeleteRecords."
        )
    if log.high_watermark is not None:
        out.append(
            f"High watermark {log.high_watermark:,}: every offset below it is on all in-sync replicas, "
            "so consumers may read it; a record is 'committed' once the HW passes it."
        )
    if log.last_stable is not None and log.last_stable != log.high_watermark:
        out.append(
            f"Last stable offset {log.last_stable:,}: a transaction is open there; read_committed "
            "consumers stop at it until it commits or aborts."
        )
    isr = set(log.isr)
    min_isr = log.configs.get("min.insync.replicas")
    for r in log.replica_ends:
        if r.leo is None:
            out.append(f"Broker {r.broker}'s log end offset is not known ({r.source.removeprefix('n/a: ')}).")
            continue
        behind = (log.high_watermark or 0) - r.leo
        state = "in the ISR" if r.broker in isr else "OUT of the ISR"
        if not r.alive:
            state = "down, out of the ISR"
        text = f"Broker {r.broker}{' (leader)' if r.leader else ''}: log ends at {r.leo:,}, {state}"
        if behind > 0 and r.alive:
            text += f", {behind:,} behind the HW: it is catching up by fetching from the leader"
        elif behind > 0:
            text += f", {behind:,} behind the HW: started again, it fetches the rest from the leader"
        out.append(text + ".")
    if len(log.isr) < len(log.replicas):
        text = (
            f"Under-replicated: ISR {_ids(log.isr)} of replicas {_ids(log.replicas)}. acks=all producers "
            "now wait only for the ISR"
        )
        if min_isr:
            ok = len(log.isr) >= int(min_isr)
            text += f"; min.insync.replicas={min_isr}, so they are " + (
                "still accepted" if ok else "REFUSED (NOT_ENOUGH_REPLICAS) until a replica catches up"
            )
        out.append(text + ".")
    elif min_isr:
        out.append(f"min.insync.replicas={min_isr}: acks=all writes need {min_isr} in-sync replicas.")
    for g in log.groups or ():
        lag = log.lag_by_group.get(g.group_id)
        if g.committed is None:
            out.append(
                f"Group {g.group_id} owns the partition but has committed nothing: on a restart it starts "
                "where auto.offset.reset says."
            )
            continue
        text = f"Group {g.group_id} committed {g.committed:,}: a restarted member resumes there"
        if lag is not None:
            text += f"; lag {lag:,} = HW - committed"
        if g.owner:
            text += f". {g.owner} owns the partition now; its in-memory position may be ahead of the commit"
        out.append(text + ".")
    if log.segments:
        active = log.segments[-1]
        out.append(
            f"{len(log.segments)} segment(s) on broker {log.segments_of}: the last (from {active.base_offset:,}) "
            f"is active and takes new records; retention and compaction work on whole closed segments."
        )
    if log.configs.get("cleanup.policy", "").find("compact") >= 0:
        out.append(
            "cleanup.policy=compact: older records of a key are removed, the newest stays (their cells are crossed out)."
        )
    return out


def record_lines(m: Message | None, partitions: int | None) -> list[str]:
    if m is None:
        return ["Select a record: the pane says why it is in its partition."]
    from kcli.explain_texts import show_key

    out = [f"Offset {m.offset:,} of partition {m.partition}: its position in that partition's log."]
    if partitions:
        out.append(key_reason(m.key, m.partition, partitions, "murmur2") + ".")
        if m.key is not None:
            out.append(
                "Java's producer and kcli's console producer use murmur2; another client (librdkafka's "
                "default, consistent_random) may choose another partition for the same key."
            )
    if m.value is None and m.key is not None:
        out.append(f"A tombstone: on a compacted topic it deletes key {show_key(m.key)}.")
    if m.value and len(m.value) >= 5 and m.value[0] == 0:
        out.append(
            "The value starts with byte 0 and a schema id: Confluent's wire format (x X-rays it in the log view)."
        )
    return out


def topic_lines(d: TopicDetail) -> list[str]:
    out = [
        f"{d.name} has {len(d.partitions)} partition(s): each is an ordered log of its own; order holds "
        "within a partition, not across them. A keyed record always goes to the same partition."
    ]
    urp = [p for p in d.partitions if p.state == "URP"]
    off = [p for p in d.partitions if p.state == "offline"]
    if urp:
        out.append(
            f"{len(urp)} under-replicated: some replica fell out of the ISR (down or behind by more than "
            "replica.lag.time.max.ms)."
        )
    if off:
        out.append(f"{len(off)} offline: no live in-sync replica to lead them; reads and writes fail.")
    out.append("Records = high watermark - log start, summed: what a consumer from the beginning reads.")
    if d.groups:
        out.append(
            "A group's lag on this topic: high watermark - committed offset per partition, summed; * counts "
            "partitions with nothing committed from the log start."
        )
    out.append("l draws the selected partition's log; enter browses its records.")
    return out


def group_lines(d: GroupDetail) -> list[str]:
    from kcli.explain_texts import STATES

    out = [f"Group {d.group_id} is {d.state}" + (f": {STATES[d.state]}." if d.state in STATES else ".")]
    if d.coordinator is not None:
        out.append(
            f"Its coordinator is broker {d.coordinator}, the leader of its __consumer_offsets partition: "
            "members send it heartbeats, JoinGroup/SyncGroup and their commits."
        )
    if d.protocol:
        out.append(
            f"Assignor {d.protocol}: the leader member split the partitions with it; the coordinator chose it "
            "because every member offered it."
        )
    if d.members:
        out.append(
            f"{len(d.members)} member(s): each partition goes to exactly one member; a member joining or "
            "leaving makes the group rebalance."
        )
    uncommitted = [o for o in d.offsets if o.committed is None]
    if uncommitted:
        out.append(
            f"{len(uncommitted)} partition(s) have no committed offset: their lag counts from the log start."
        )
    out.append("Committed = the next offset the group will read after a restart; lag = log end - committed.")
    return out


def cluster_lines(info: ClusterInfo | None, state: ReplicationState | None, local: bool) -> list[str]:
    out: list[str] = []
    if info is not None:
        out.append(
            f"{len(info.brokers)} live broker(s); broker {info.controller_id} is the controller: it keeps "
            "the metadata (leaders, ISRs) and elects a new leader when one is lost."
        )
    if state is not None:
        if state.down:
            out.append(
                f"Brokers {_ids(state.down)} hold replicas but are down: their partitions elected new leaders "
                "among the in-sync replicas, and their ISRs shrank."
            )
        if state.under_replicated:
            out.append(
                f"{state.under_replicated:,} partition(s) under-replicated (ISR smaller than replicas)."
            )
        if state.offline:
            out.append(f"{state.offline:,} partition(s) offline: no live in-sync replica.")
    if local:
        out.append(
            "This is the kcli local stack: k kills the selected broker (kill -9), s starts it again; "
            "a the acks=all producer shows what min.insync.replicas=2 does while a broker is down."
        )
    else:
        out.append(
            "Stopping brokers is offered only for the kcli local stack; any cluster's events show here."
        )
    return out


def topics_lines(count: int) -> list[str]:
    return [
        f"{count:,} topics. A topic is a named stream of records, split into partitions; each partition "
        "is an ordered, append-only log stored on its leader and copied to its followers.",
        "Records = high watermark - log start, summed over the partitions: what a consumer reading "
        "from the beginning gets. Under-replicated: some replica fell out of the ISR.",
        "enter opens a topic; there, l draws a partition's log.",
    ]


def groups_lines(count: int) -> list[str]:
    return [
        f"{count:,} consumer groups. The members of a group share the partitions of the topics they "
        "subscribe to: each partition is read by one member, so a group reads a topic once, in parallel.",
        "Lag: records written but not yet committed by the group (log end - committed offset).",
        "enter opens a group: its members, offsets and a timeline of joins, rebalances and commits.",
    ]
