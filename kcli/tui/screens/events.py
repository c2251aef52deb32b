"""What changed between two looks at the cluster, as the events a lecture names.

Kafka does not push events to a client; the views compare what successive refreshes read -
brokers, each partition's leader and ISR, each group's state and members and committed offsets -
and say what happened in between: "broker 1 down", "election: orders-0 leader 1 → 2", "ISR of
orders-0 shrank to 2,0", "broker 1 caught up on orders-0 (back in the ISR)", "member joined",
"rebalance", "committed orders-0 12 → 20". Pure functions, so every rule is unit-tested; the
screens keep an :class:`EventLog` and draw it as a timeline and as marks under the sparklines.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from kcli.cluster_view.model import GroupDetail, ReplicationState, TopicGroupLag

#: Above this many partitions of an internal topic changing the same way in one refresh, one
#: summary line is written; the user's own topics get a line per partition up to USER_LIMIT.
DETAIL_LIMIT = 6
USER_LIMIT = 20
REBALANCE_STATES = frozenset({"PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling"})


@dataclass(frozen=True)
class Event:
    """``kind``: broker-down, broker-up, controller, election, isr-shrink, isr-expand, offline,
    urp, member-joined, member-left, rebalance, state, commit, produce, produce-failed, note."""

    at: float
    kind: str
    text: str
    sample: int = -1  # index of the sparkline sample it happened after (-1: none)


SHORT = {
    "broker-down": "broker down",
    "broker-up": "broker up",
    "member-joined": "member joined",
    "member-left": "member left",
    "rebalance": "rebalance",
    "election": "election",
    "isr-shrink": "ISR shrank",
    "isr-expand": "ISR grew",
}


class EventLog:
    """The newest events of a view, oldest first."""

    def __init__(self, limit: int = 300) -> None:
        self.events: deque[Event] = deque(maxlen=limit)

    def add(self, kind: str, text: str, sample: int = -1, at: float | None = None) -> Event:
        event = Event(time.time() if at is None else at, kind, text, sample)
        self.events.append(event)
        return event

    def extend(
        self, found: Iterable[tuple[str, str]], sample: int = -1, at: float | None = None
    ) -> list[Event]:
        return [self.add(kind, text, sample, at) for kind, text in found]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def texts(self) -> list[str]:
        return [e.text for e in self.events]


def _ids(ids: Iterable[int]) -> str:
    return ",".join(map(str, ids)) or "none"


def replication_events(prev: ReplicationState | None, cur: ReplicationState) -> list[tuple[str, str]]:
    """Brokers lost and back, the controller moving, elections, ISR shrinking and growing,
    partitions going offline, and the under-replicated count, between two looks."""
    if prev is None:
        out = [("note", f"watching {len(cur.partitions):,} partitions on brokers {_ids(cur.live)}")]
        if cur.down:
            out.append(("broker-down", f"brokers {_ids(cur.down)} are down"))
        if cur.under_replicated:
            out.append(("urp", f"{cur.under_replicated:,} under-replicated partitions"))
        return out
    out: list[tuple[str, str]] = []
    for b in sorted(set(prev.live) - set(cur.live)):
        out.append(("broker-down", f"broker {b} down (its session with the controller ended)"))
    for b in sorted(set(cur.live) - set(prev.live)):
        out.append(("broker-up", f"broker {b} up (registered with the controller again)"))
    if cur.controller != prev.controller and cur.controller is not None:
        out.append(("controller", f"controller is now broker {cur.controller}"))
    elections: list[tuple[str, str]] = []
    shrunk: list[tuple[str, str]] = []
    grown: dict[int, list[str]] = {}
    offline: list[tuple[str, str]] = []
    for tp, p in sorted(cur.partitions.items()):
        before = prev.partitions.get(tp)
        if before is None:
            continue
        name = f"{tp[0]}-{tp[1]}"
        if p.leader != before.leader:
            if p.leader < 0:
                offline.append((tp[0], name))
            else:
                was = before.leader if before.leader >= 0 else "none"
                elections.append((tp[0], f"{name} leader {was} → {p.leader}"))
        lost = [r for r in before.isr if r not in p.isr]
        if lost:
            shrunk.append((tp[0], f"{name} ISR {_ids(before.isr)} → {_ids(p.isr)}"))
        for r in p.isr:
            if r not in before.isr:
                grown.setdefault(r, []).append(name)
    out += _grouped("election", "election", elections, "leaders moved")
    out += _grouped("isr-shrink", "ISR shrank", shrunk, "ISRs shrank")
    for broker, names in sorted(grown.items()):
        mine = [n for n in names if not n.startswith("_")]
        internal = len(names) - len(mine)
        if mine and len(mine) <= USER_LIMIT:
            text = f"broker {broker} caught up on {', '.join(mine)}"
            if internal:
                text += f" and {internal:,} internal partition(s)"
            out.append(("isr-expand", text + " (back in the ISR)"))
        else:
            out.append(
                ("isr-expand", f"broker {broker} caught up on {len(names):,} partitions (back in their ISR)")
            )
    out += _grouped("offline", "offline (no leader)", offline, "partitions went offline")
    if cur.under_replicated != prev.under_replicated:
        out.append(
            ("urp", f"under-replicated partitions {prev.under_replicated:,} → {cur.under_replicated:,}")
        )
    return out


def _grouped(kind: str, label: str, items: list[tuple[str, str]], summary: str) -> list[tuple[str, str]]:
    """One event per partition of the user's topics (up to :data:`USER_LIMIT`), and one line per
    internal topic (``__consumer_offsets`` has 50 partitions that all move when a broker dies)."""
    out: list[tuple[str, str]] = []
    mine = [text for topic, text in items if not topic.startswith("_")]
    if len(mine) <= USER_LIMIT:
        out += [(kind, f"{label}: {text}") for text in mine]
    else:
        out.append((kind, f"{summary} for {len(mine):,} partitions, e.g. {'; '.join(mine[:3])}"))
    internal: dict[str, list[str]] = {}
    for topic, text in items:
        if topic.startswith("_"):
            internal.setdefault(topic, []).append(text)
    for topic, texts in internal.items():
        if len(texts) <= DETAIL_LIMIT:
            out += [(kind, f"{label}: {text}") for text in texts]
        else:
            out.append((kind, f"{summary} for {len(texts):,} partitions of {topic}"))
    return out


@dataclass(frozen=True)
class GroupLook:
    """What one refresh saw of one group: enough to tell joins, leaves, rebalances and commits."""

    state: str
    members: frozenset[str]
    clients: dict[str, str]  # member id -> client id
    committed: dict[tuple[str, int], int | None]


def look_from_detail(d: GroupDetail) -> GroupLook:
    return GroupLook(
        d.state,
        frozenset(m.member_id for m in d.members),
        {m.member_id: m.client_id for m in d.members},
        {(o.topic, o.partition): o.committed for o in d.offsets},
    )


def look_from_topic(g: TopicGroupLag) -> GroupLook:
    return GroupLook(g.state, frozenset(g.member_ids), {}, {})


_UUID_TAIL = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def client_of(member_id: str) -> str:
    """The client id inside a member id: clients name members ``<client.id>-<uuid>``."""
    return _UUID_TAIL.sub("", member_id) or member_id


def group_events(
    group: str, prev: GroupLook | None, cur: GroupLook, commits: bool = True
) -> list[tuple[str, str]]:
    """Members joining and leaving, the group rebalancing (a state of the protocol's rebalance, or
    a new set of members), its state changing, and committed offsets moving."""
    if prev is None:
        return []
    out: list[tuple[str, str]] = []
    joined = sorted(cur.members - prev.members)
    left = sorted(prev.members - cur.members)
    for m in joined:
        out.append(("member-joined", f"{group}: member joined ({cur.clients.get(m) or client_of(m)})"))
    for m in left:
        out.append(("member-left", f"{group}: member left ({prev.clients.get(m) or client_of(m)})"))
    if cur.state != prev.state:
        if cur.state in REBALANCE_STATES:
            out.append(("rebalance", f"{group}: rebalance ({prev.state} → {cur.state})"))
        else:
            out.append(("state", f"{group}: {prev.state} → {cur.state}"))
    quiet = cur.state not in REBALANCE_STATES and prev.state not in REBALANCE_STATES
    if (joined or left) and quiet and cur.members:
        # the rebalance came and went between two refreshes; the new member set tells it happened
        out.append(
            ("rebalance", f"{group}: rebalanced, {len(cur.members)} member(s) now share the partitions")
        )
    if commits:
        moved = []
        for tp, offset in sorted(cur.committed.items()):
            before = prev.committed.get(tp)
            if offset is not None and offset != before:
                moved.append(f"{tp[0]}-{tp[1]} {before if before is not None else '-'} → {offset}")
        if moved:
            text = ", ".join(moved[:DETAIL_LIMIT]) + (
                f" and {len(moved) - DETAIL_LIMIT} more" if len(moved) > DETAIL_LIMIT else ""
            )
            out.append(("commit", f"{group}: committed {text}"))
    return out
