"""The message browser's window of records: what a page reads and how the window's bounds move.

The browser (:class:`kcli.tui.screens.messages.MessagesScreen`) holds a window of records, oldest
first, and for each partition the offsets the window covers, ``[lower, upper)``. A page back reads
up to :data:`PAGE` offsets before ``lower``, a page forward from ``upper``; whatever falls out of
the window (at most :data:`MAX_ROWS`) on the other side moves that side's bound. Plain functions
over offsets, so the rules hold whoever draws the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcli.cluster_view.decode import RecordView
from kcli.tui.screens.widgets import parse_ts

#: Records kept in memory; paging or tailing past it drops records from the other end.
MAX_ROWS = 5000
#: Records read per page (per partition at most: the pages of several partitions are merged).
PAGE = 200
#: Offsets from this many digits up are taken for epoch milliseconds when jumping.
EPOCH_MS_DIGITS = 12

#: partition -> [lower, upper): the offsets the window covers
Bounds = dict[int, list[int]]


@dataclass
class Page:
    """What a worker read: ``kind`` load/older/newer, the ranges asked, the watermarks, the records."""

    kind: str
    ranges: dict[int, tuple[int, int]]
    marks: dict[int, tuple[int, int]]
    records: list[RecordView]
    newest: bool


def start_from(raw: str, start: str) -> tuple[str, int | None]:
    """The start and position a typed position means; raises ValueError with a readable text.

    A typed position chooses the start by itself: a plain number is an offset (epoch
    milliseconds from :data:`EPOCH_MS_DIGITS` digits up), anything else a time.
    """
    if raw:
        digits = raw.lstrip("-").isdigit()
        start = "offset" if digits and len(raw.lstrip("-")) < EPOCH_MS_DIGITS else "timestamp"
    if start == "offset":
        if not raw.lstrip("-").isdigit():
            raise ValueError("type an offset to start from")
        return start, int(raw)
    if start == "timestamp":
        if not raw:
            raise ValueError("type a time: epoch ms or 2026-01-01T12:00:00")
        try:
            return start, parse_ts(raw)
        except ValueError:
            raise ValueError(
                f"'{raw}' is neither an offset nor a time (epoch ms or 2026-01-01T12:00:00)"
            ) from None
    return start, None


def page_ranges(kind: str, bounds: Bounds, marks: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """The offsets a page ``older`` or ``newer`` reads in each partition still in the log."""
    scope = [p for p in bounds if p in marks]
    if kind == "older":
        return {
            p: (max(marks[p][0], bounds[p][0] - PAGE), bounds[p][0])
            for p in scope
            if bounds[p][0] > marks[p][0]
        }
    return {
        p: (bounds[p][1], min(marks[p][1], bounds[p][1] + PAGE)) for p in scope if bounds[p][1] < marks[p][1]
    }


def trim(records: list[RecordView], limit: int, newest: bool) -> list[RecordView]:
    """The page the user sees: the first ``limit`` records by time, or the last when paging back."""
    return records[-limit:] if newest else records[:limit]


def drop(records: list[RecordView], bounds: Bounds, count: int, from_start: bool) -> list[RecordView]:
    """The window without ``count`` records at one end; that end's bounds move past them."""
    if from_start:
        dropped, kept = records[:count], records[count:]
        for r in dropped:
            b = bounds.get(r.message.partition)
            if b is not None:
                b[0] = max(b[0], r.message.offset + 1)
        return kept
    dropped, kept = records[-count:], records[:-count]
    for r in dropped:
        b = bounds.get(r.message.partition)
        if b is not None:
            b[1] = min(b[1], r.message.offset)
    return kept


def extend(bounds: Bounds, batch: list[RecordView]) -> None:
    """Widen the bounds for records the live tail appended."""
    for r in batch:
        b = bounds.setdefault(r.message.partition, [r.message.offset, r.message.offset + 1])
        b[1] = max(b[1], r.message.offset + 1)


def move_bounds(bounds: Bounds, page: Page, kept: list[RecordView]) -> None:
    """Move the window's bounds for what a page read (``page.records``) and kept (``kept``).

    Reading oldest-first, the lower bound is exact (the range's start) and the upper one is after
    the last kept record of the partition; reading newest-first (a page back, or "last records"),
    the other way round. A partition whose records were all cut from the page keeps its bound,
    so the next page reads them; one whose range held no record at all moves past it.
    """
    kept_by: dict[int, list[int]] = {}
    read_by: set[int] = set()
    for r in page.records:
        read_by.add(r.message.partition)
    for r in kept:
        kept_by.setdefault(r.message.partition, []).append(r.message.offset)
    for p, (first, stop) in page.ranges.items():
        b = bounds.setdefault(p, [first, first] if not page.newest else [stop, stop])
        offsets = kept_by.get(p)
        if page.newest:  # a page back (or the last records): [x, stop)
            if page.kind == "load":
                b[1] = stop
            if offsets:
                b[0] = min(offsets)
            elif p not in read_by:
                b[0] = first  # nothing there: the next page back starts before it
        else:  # a page forward (or from a position): [first, x)
            if page.kind == "load":
                b[0] = first
            if offsets:
                b[1] = max(offsets) + 1
            elif p not in read_by:
                b[1] = stop
