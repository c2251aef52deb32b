"""A group's table rows: its committed and assigned partitions joined with their watermarks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kcli.cluster_view.group_reader import GroupRead
from kcli.cluster_view.model import GroupMemberInfo, GroupOffset
from kcli.cluster_view.source import TP


def group_partitions(reads: Iterable[GroupRead], md: Any) -> list[TP]:
    """Partitions whose watermarks a group's rows need: committed ones and assigned ones."""
    out: dict[TP, None] = {}
    for read in reads:
        for tp in read.offsets or {}:
            out[tp] = None
        for m in read.members or ():
            for tp in m.assignment:
                out[tp] = None
    return [tp for tp in out if tp[0] in md.topics]


def offset_rows(read: GroupRead, marks: dict[TP, tuple[int, int]]) -> list[GroupOffset]:
    """One row per partition the group committed or has assigned, with its owning member."""
    owner: dict[TP, GroupMemberInfo] = {}
    for m in read.members or ():
        for tp in m.assignment:
            owner[tp] = m
    committed = read.offsets or {}
    rows = []
    for t, p in sorted(set(committed) | set(owner)):
        low, high = marks.get((t, p), (None, None))
        m = owner.get((t, p))
        rows.append(
            GroupOffset(
                t,
                p,
                committed.get((t, p)),
                high,
                start=low,
                member=m.client_id if m else None,
                member_id=m.member_id if m else None,
                host=m.host if m else None,
            )
        )
    return rows
