"""Kafka's offset-reset planning (GroupOffsetsResetter): the new offsets of a group's partitions.

``kafka-consumer-groups --reset-offsets`` and the TUI's reset dialog both compute what an
inactive group's committed offsets become, as Kafka's ConsumerGroupCommand does: to an explicit
offset, shifted by N, to the earliest or latest offset, to the first offset at or after a
timestamp, or to the current committed offset. Explicit and shifted offsets outside
[log start, log end] move to the nearest end. The log's offsets come from the caller
(:class:`LogOffsets`), so the tool asks through its AdminClient and the TUI through its data
source, and each decides what an unanswered partition means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

TP = tuple[str, int]
Kind = Literal["offset", "shift", "earliest", "latest", "timestamp", "current"]


class ResetRefused(Exception):
    """A reset that cannot be planned. ``usage`` is True where Kafka's tool reports it as a
    usage error (no such offset to start from, nothing to shift from)."""

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class ResetTarget:
    """Where to move the offsets: ``kind`` and its number (the offset, the shift, the timestamp)."""

    kind: Kind
    value: int = 0


class LogOffsets(Protocol):
    """The log's offsets of partitions (ListOffsets); None where a partition got no answer."""

    def earliest(self, partitions: Iterable[TP]) -> dict[TP, int | None]: ...
    def latest(self, partitions: Iterable[TP]) -> dict[TP, int | None]: ...
    def for_timestamp(self, partitions: Iterable[TP], timestamp: int) -> dict[TP, int | None]:
        """The first offset at or after ``timestamp``; None or negative when there is none."""
        ...


def clamp(log: LogOffsets, requested: dict[TP, int]) -> dict[TP, int]:
    """Offsets outside [log start, log end] move to the nearest end, as Kafka's tool does."""
    starts = log.earliest(requested)
    ends = log.latest(requested)
    out = {}
    for tp, offset in requested.items():
        end, start = ends.get(tp), starts.get(tp)
        if end is not None and offset > end:
            offset = end
        elif start is not None and offset < start:
            offset = start
        out[tp] = offset
    return out


def by_timestamp(
    log: LogOffsets, partitions: list[TP], timestamp: int, on_empty: Callable[[TP], None] = lambda tp: None
) -> dict[TP, int]:
    """The first offset at or after ``timestamp``; partitions without one (no record that late)
    fall back to their latest offset, after ``on_empty`` is told (Kafka's tool warns)."""
    found = log.for_timestamp(partitions, timestamp)
    result: dict[TP, int] = {}
    fallback = []
    for tp in partitions:
        offset = found.get(tp)
        if offset is None or offset < 0:
            on_empty(tp)
            fallback.append(tp)
        else:
            result[tp] = offset
    for tp, offset in log.latest(fallback).items():
        if offset is None:
            raise ResetRefused(f"Error getting offset by timestamp of topic partition: {tp[0]}-{tp[1]}")
        result[tp] = offset
    return result


def plan(
    target: ResetTarget,
    partitions: list[TP],
    committed: dict[TP, int],
    log: LogOffsets,
    on_empty: Callable[[TP], None] = lambda tp: None,
) -> dict[TP, int]:
    """The new offset of each of ``partitions`` (``committed``: the group's current offsets)."""
    kind = target.kind
    if kind == "offset":
        return clamp(log, dict.fromkeys(partitions, target.value))
    if kind in ("earliest", "latest"):
        found = log.earliest(partitions) if kind == "earliest" else log.latest(partitions)
        out: dict[TP, int] = {}
        for tp in partitions:
            offset = found.get(tp)
            if offset is None:
                which = "starting" if kind == "earliest" else "ending"
                raise ResetRefused(f"Error getting {which} offset of topic partition: {tp[0]}-{tp[1]}", True)
            out[tp] = offset
        return out
    if kind == "shift":
        for t, p in partitions:
            if (t, p) not in committed:
                raise ResetRefused(
                    f"Cannot shift offset for partition {t}-{p} since there is no current committed offset",
                    True,
                )
        return clamp(log, {tp: committed[tp] + target.value for tp in partitions})
    if kind == "timestamp":
        return by_timestamp(log, partitions, target.value, on_empty)
    if kind == "current":
        result = {tp: committed[tp] for tp in partitions if tp in committed}
        missing = [tp for tp in partitions if tp not in committed]
        for tp, offset in log.latest(missing).items():
            if offset is None:
                raise ResetRefused(f"Error getting ending offset of topic partition: {tp[0]}-{tp[1]}")
            result[tp] = offset
        return result
    raise ValueError(f"unknown reset target {kind!r}")
