"""Unit tests of the one offset-reset planner (kcli/offset_reset.py) shared by
``kafka-consumer-groups --reset-offsets`` and the TUI's reset dialog."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from kcli.offset_reset import ResetRefused, ResetTarget, plan

TP = tuple[str, int]


class Log:
    """A partition log's offsets: [start, end) per partition, and the first offset per timestamp."""

    def __init__(self, marks: dict[TP, tuple[int, int]], times: dict[TP, int | None]) -> None:
        self.marks, self.times = marks, times

    def earliest(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        return {tp: self.marks[tp][0] if tp in self.marks else None for tp in partitions}

    def latest(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        return {tp: self.marks[tp][1] if tp in self.marks else None for tp in partitions}

    def for_timestamp(self, partitions: Iterable[TP], timestamp: int) -> dict[TP, int | None]:
        return {tp: self.times.get(tp) for tp in partitions}


A, B = ("t", 0), ("t", 1)
LOG = Log({A: (5, 20), B: (0, 3)}, {A: 12, B: None})


def test_explicit_and_shifted_offsets_are_clamped_into_the_log() -> None:
    assert plan(ResetTarget("offset", 100), [A, B], {}, LOG) == {A: 20, B: 3}
    assert plan(ResetTarget("offset", 1), [A, B], {}, LOG) == {A: 5, B: 1}
    assert plan(ResetTarget("shift", -10), [A, B], {A: 18, B: 2}, LOG) == {A: 8, B: 0}


def test_edges_current_and_timestamps() -> None:
    assert plan(ResetTarget("earliest"), [A, B], {}, LOG) == {A: 5, B: 0}
    assert plan(ResetTarget("latest"), [A, B], {}, LOG) == {A: 20, B: 3}
    assert plan(ResetTarget("current"), [A, B], {A: 7}, LOG) == {A: 7, B: 3}
    empty: list[TP] = []
    assert plan(ResetTarget("timestamp", 1), [A, B], {}, LOG, empty.append) == {A: 12, B: 3}
    assert empty == [B]  # told, so Kafka's tool can warn that it fell back to the latest offset


def test_refusals_say_what_kafkas_tool_says() -> None:
    with pytest.raises(ResetRefused, match="no current committed offset") as shift:
        plan(ResetTarget("shift", 1), [A], {}, LOG)
    assert shift.value.usage
    with pytest.raises(ResetRefused, match="Error getting starting offset of topic partition: u-0"):
        plan(ResetTarget("earliest"), [("u", 0)], {}, LOG)
