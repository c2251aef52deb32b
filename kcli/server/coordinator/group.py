"""The in-memory state of one classic consumer group: members, generation, leader, protocol.

This module holds data and the small rules that only look at one group (which protocol the
members agree on, who leads, which members still have to rejoin or sync). Everything that waits
(timers, futures) or writes to ``__consumer_offsets`` lives in :mod:`service`, so these rules can
be unit-tested without an event loop.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kcli.server.coordinator.schema import OffsetValue, subscribed_topics


class GroupState(enum.Enum):
    """Kafka's classic group states; ``value`` is the name clients display."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    # (name, metadata) in the member's order of preference
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_future: asyncio.Future[dict[str, Any]] | None = None
    sync_future: asyncio.Future[dict[str, Any]] | None = None
    session_timer: asyncio.TimerHandle | None = None
    is_new: bool = False

    @property
    def awaiting_join(self) -> bool:
        return self.join_future is not None and not self.join_future.done()

    @property
    def awaiting_sync(self) -> bool:
        return self.sync_future is not None and not self.sync_future.done()

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol: str | None) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among those every member supports."""
        for name in self.protocol_names():
            if name in candidates:
                return name
        raise ValueError("member supports none of the candidate protocols")

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        return self.protocols == protocols


@dataclass(eq=False)
class Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    protocol_type: str | None = None
    protocol_name: str | None = None
    generation: int = 0
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    pending_members: dict[str, asyncio.TimerHandle | None] = field(default_factory=dict)
    pending_sync: set[str] = field(default_factory=set)
    offsets: dict[tuple[str, int], OffsetValue] = field(default_factory=dict)
    # The append sequence of each cached offset: a commit acknowledged late never replaces one
    # appended after it.
    offset_sequences: dict[tuple[str, int], int] = field(default_factory=dict)
    state_timestamp: int = field(default_factory=now_ms)
    new_member_added: bool = False
    join_timer: asyncio.TimerHandle | None = None
    # True while group.initial.rebalance.delay.ms holds back the first join of an empty group
    delaying: bool = False
    sync_timer: asyncio.TimerHandle | None = None

    # --- state ----------------------------------------------------------------------------------
    def transition(self, state: GroupState) -> None:
        self.state = state
        self.state_timestamp = now_ms()

    def is_(self, *states: GroupState) -> bool:
        return self.state in states

    # --- membership -----------------------------------------------------------------------------
    def add(self, member: Member) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        self.pending_members.pop(member.member_id, None)

    def remove(self, member_id: str) -> Member | None:
        member = self.members.pop(member_id, None)
        if member is not None and member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.pending_sync.discard(member_id)
        return member

    def replace_static_member(self, instance_id: str, new_member_id: str) -> Member:
        """A static member restarted: same instance id, fresh member id, same assignment."""
        old_id = self.static_members[instance_id]
        member = self.members.pop(old_id)
        member.member_id = new_member_id
        self.members[new_member_id] = member
        self.static_members[instance_id] = new_member_id
        if self.leader_id == old_id:
            self.leader_id = new_member_id
        if old_id in self.pending_sync:
            self.pending_sync.discard(old_id)
            self.pending_sync.add(new_member_id)
        return member

    def is_static_member_fenced(self, instance_id: str | None, member_id: str) -> bool:
        if instance_id is None:
            return False
        known = self.static_members.get(instance_id)
        return known is not None and known != member_id

    def all_joined(self) -> bool:
        return not self.pending_members and all(m.awaiting_join for m in self.members.values())

    def not_yet_rejoined(self) -> list[Member]:
        return [m for m in self.members.values() if not m.awaiting_join]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def elect_joined_leader(self) -> bool:
        """Keep the leader if it rejoined, else pick a member that did; False if none did."""
        leader = self.members.get(self.leader_id or "")
        if leader is not None and leader.awaiting_join:
            return True
        for member in self.members.values():
            if member.awaiting_join:
                self.leader_id = member.member_id
                return True
        return False

    # --- protocols ------------------------------------------------------------------------------
    def candidate_protocols(self, extra: list[str] | None = None) -> set[str]:
        names = [set(m.protocol_names()) for m in self.members.values()]
        if extra is not None:
            names.append(set(extra))
        return set.intersection(*names) if names else set()

    def supports(self, protocol_type: str, protocol_names: list[str], member_id: str | None = None) -> bool:
        """Can a member with these protocols join? Empty groups take anything non-empty."""
        if self.state is GroupState.EMPTY or not self.members:
            return bool(protocol_type) and bool(protocol_names)
        if protocol_type != self.protocol_type:
            return False
        others = [set(m.protocol_names()) for mid, m in self.members.items() if mid != member_id]
        common = set.intersection(*others) if others else set(protocol_names)
        return bool(common & set(protocol_names))

    def select_protocol(self) -> str:
        """Each member votes for its preferred common protocol; the most votes wins.

        Ties go to the protocol the leader prefers, which keeps the choice deterministic.
        """
        candidates = self.candidate_protocols()
        votes = Counter(m.vote(candidates) for m in self.members.values())
        best = max(votes.values())
        tied = {name for name, count in votes.items() if count == best}
        leader = self.members.get(self.leader_id or "") or next(iter(self.members.values()))
        for name in leader.protocol_names():
            if name in tied:
                return name
        return sorted(tied)[0]

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to, when the group uses the ``consumer`` protocol."""
        if self.protocol_type != "consumer" or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for member in self.members.values():
            found = subscribed_topics(member.metadata(self.protocol_name))
            if found is None:
                return None
            topics |= found
        return topics
