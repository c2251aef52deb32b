"""A group's rebalances as the TUI sees them: who joined or left, which partitions moved, and
how long each moved partition had no owner consuming it.

The TUI is an ordinary Kafka client, so it learns a group's history the way a student would by
running ``kafka-consumer-groups --describe`` over and over: it compares each refresh of the group
with the previous one. A member that disappears "left or was fenced" (the protocol does not say
which); a partition is *paused* from the refresh where no member owned it (eager and cooperative
rebalances revoke first, KIP-848 revokes before it assigns) until the refresh where a member owns
it again, so the pauses of an eager, a cooperative and a KIP-848 rebalance can be compared side by
side. Times are the refreshes' (every couple of seconds), not the broker's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kcli.cluster_view.model import GroupDetail

TP = tuple[str, int]
MAX_EVENTS = 50


@dataclass
class Event:
    at: float  # wall time
    text: str


@dataclass
class Timeline:
    """Fed every refresh of one group; keeps the newest :data:`MAX_EVENTS` events."""

    clock: Callable[[], float] = time.time
    events: list[Event] = field(default_factory=list)
    _members: dict[str, str] | None = None  # member id -> client id
    _owner: dict[TP, str] = field(default_factory=dict)  # partition -> member id
    _orphaned: dict[TP, float] = field(default_factory=dict)  # partition -> since when unowned
    _epoch: int | None = None
    _state: str | None = None

    def _say(self, text: str) -> None:
        self.events.append(Event(self.clock(), text))
        del self.events[:-MAX_EVENTS]

    def observe(self, detail: GroupDetail) -> None:
        now = self.clock()
        members = {m.member_id: m.client_id for m in detail.members}
        owner = {tp: m.member_id for m in detail.members for tp in m.assignment}
        if self._members is None:  # the first look: nothing happened yet, just remember
            self._members, self._owner, self._epoch, self._state = (
                members,
                owner,
                detail.group_epoch,
                detail.state,
            )
            return
        for member_id in members.keys() - self._members.keys():
            self._say(f"{members[member_id]} joined ({_short(member_id)})")
        for member_id in self._members.keys() - members.keys():
            self._say(f"{self._members[member_id]} left or was fenced ({_short(member_id)})")
        if detail.group_epoch is not None and self._epoch is not None and detail.group_epoch != self._epoch:
            self._say(f"group epoch {self._epoch} -> {detail.group_epoch}")
        if detail.state != self._state:
            self._say(f"state {self._state} -> {detail.state}")
        for tp, old in self._owner.items():
            if owner.get(tp) != old and tp not in self._orphaned:
                self._orphaned[tp] = now  # taken from its owner: paused until someone has it
        moved: list[str] = []
        for tp, new in sorted(owner.items()):
            since = self._orphaned.pop(tp, None)
            if since is not None or tp not in self._owner:
                who = members.get(new, new)
                pause = f", paused {now - since:.1f} s" if since is not None else ""
                moved.append(f"{tp[0]}-{tp[1]} -> {who}{pause}")
        if moved:
            self._say("moved " + "; ".join(moved))
        self._members, self._owner, self._epoch, self._state = (
            members,
            owner,
            detail.group_epoch,
            detail.state,
        )

    def lines(self, limit: int = 8) -> list[str]:
        return [f"{time.strftime('%H:%M:%S', time.localtime(e.at))}  {e.text}" for e in self.events[-limit:]]


def _short(member_id: str) -> str:
    return member_id if len(member_id) <= 12 else member_id[:12] + "…"
