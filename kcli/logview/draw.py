"""A partition drawn as the lectures draw it: a strip of numbered offset cells.

::

    ┃seg 0                          ┃seg 8
    ╭─b 0-2──╮╭b 3╮╭─b 4-7────────╮╭─b 8-11────────╮
    ┃  0│  1│  2│  3│  4│  5│  6│  7┃  8│  9│ 10│ 11│ +
    ▲log start 0       ▲billing 5 (lag 7)              ▲HW 12 · LEO b0,b1

Cells are grouped by segment (``┃``, when a replica's log dir tells where segments begin) and by
batch (the brackets above them); markers point at offsets below: the log start offset, the high
watermark (the next offset a consumer cannot read yet), the last stable offset when it differs,
each replica's log end offset, each group's committed offset with its lag. The ``+`` cell after
the high watermark is where the next record goes. Offsets a batch no longer holds (compaction)
are a diagonal cross; offsets that were on screen and are gone since (retention, compaction) are struck out.

Pure functions of a :class:`~kcli.cluster_view.log_model.PartitionLog`: ``kcli log draw`` prints them and the
TUI's partition view shows them with a cursor, so both draw the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from kcli.cluster_view.log_model import PartitionLog

#: the cell of an offset a batch no longer holds (box drawings light diagonal cross)
GONE = "\u2573"

STYLE = {
    "log-start": "bold green",
    "hw": "bold yellow",
    "lso": "bold magenta",
    "leo": "bold cyan",
    "group": "bold blue",
    "removed": "strike red",
    "compacted": "red",
    "unreplicated": "dim cyan",
    "next": "dim",
    "lag": "on grey23",
    "cursor": "reverse bold",
    "segment": "bold",
    "batch": "dim",
    "control": "magenta",
    "transactional": "italic",
}


@dataclass(frozen=True)
class Marker:
    offset: int
    label: str
    style: str


def fmt(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def markers(log: PartitionLog) -> list[Marker]:
    """Every marker of the partition, those at the same offset merged into one label."""
    raw: list[tuple[int, int, str, str]] = []  # (offset, order, text, style)
    if log.log_start is not None:
        raw.append((log.log_start, 0, f"log start {log.log_start:,}", STYLE["log-start"]))
    if log.high_watermark is not None:
        raw.append((log.high_watermark, 1, f"HW {log.high_watermark:,}", STYLE["hw"]))
    if log.last_stable is not None and log.last_stable != log.high_watermark:
        raw.append((log.last_stable, 2, f"LSO {log.last_stable:,}", STYLE["lso"]))
    by_leo: dict[int, list[str]] = {}
    for r in log.replica_ends:
        if r.leo is not None:
            by_leo.setdefault(r.leo, []).append(f"b{r.broker}")
    for leo, brokers in by_leo.items():
        raw.append((leo, 3, f"LEO {','.join(brokers)}", STYLE["leo"]))
    lags = log.lag_by_group
    for g in log.groups or ():
        if g.committed is None:
            continue
        lag = lags.get(g.group_id)
        text = f"{g.group_id} {g.committed:,}" + (f" (lag {lag:,})" if lag is not None else "")
        raw.append((g.committed, 4, text, STYLE["group"]))
    merged: dict[int, list[tuple[int, str, str]]] = {}
    for offset, order, text, style in raw:
        merged.setdefault(offset, []).append((order, text, style))
    out = []
    for offset, items in sorted(merged.items()):
        items.sort()
        out.append(Marker(offset, " · ".join(t for _, t, _ in items), items[0][2]))
    return out


def _cell_width(log: PartitionLog, last: int, keys: bool) -> int:
    width = max(2, len(str(max(last, 0))))
    if keys:
        longest = max((len(_key_text(r.key)) for r in log.records), default=1)
        width = max(width, min(longest, 10))
    return width + 1


def _key_text(key: bytes | None) -> str:
    if key is None:
        return "∅"
    text = key.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else "." for c in text)


def cell_span(log: PartitionLog) -> tuple[int, int]:
    """[first, end) of the cells drawn: the window, plus the not-yet-readable offsets the leader
    holds beyond the high watermark and the ``+`` cell, when the window reaches the end."""
    end = log.stop
    hw = log.high_watermark
    if hw is not None and log.stop >= hw:
        leos = [r.leo for r in log.replica_ends if r.leo is not None and r.leader]
        end = max([hw, *leos]) + 1
    return log.first, max(end, log.first)


def draw(
    log: PartitionLog,
    width: int = 100,
    keys: bool = False,
    cursor: int | None = None,
    removed: dict[int, str] | None = None,
    header: bool = True,
    legend: bool = True,
) -> list[Text]:
    """The lines of the drawing, ``width`` columns wide at most."""
    removed = removed or {}
    lines: list[Text] = []
    if header:
        lines += header_lines(log)
    first, end = cell_span(log)
    cw = _cell_width(log, end, keys)
    per_row = max(1, (width - 2) // cw)
    present = {r.offset: r for r in log.records}
    batch_at: dict[int, tuple[int, int]] = {}
    for b in log.batches:
        for o in range(max(b.base_offset, first), min(b.last_offset, end - 1) + 1):
            batch_at[o] = (b.base_offset, b.last_offset)
    control = {o for b in log.batches if b.control for o in range(b.base_offset, b.last_offset + 1)}
    txn = {o for b in log.batches if b.transactional for o in range(b.base_offset, b.last_offset + 1)}
    seg_starts = {s.base_offset for s in log.segments or ()}
    committed = [g.committed for g in log.groups or () if g.committed is not None]
    lag_from = min(committed) if committed else None
    hw = log.high_watermark
    marks = markers(log)
    next_offset = end - 1 if hw is not None and log.stop >= hw and end > first else None
    if first >= end:
        lines.append(Text("  (no offsets in this window)", style="dim"))
    elif hw is not None and hw == log.log_start:
        lines.append(Text(f"  (the partition is empty: the next record gets offset {hw:,})", style="dim"))
    for row_start in range(first, end, per_row):
        row_end = min(end, row_start + per_row)
        lines += _row(
            log,
            row_start,
            row_end,
            cw,
            present,
            batch_at,
            control,
            txn,
            seg_starts,
            lag_from,
            hw,
            cursor,
            removed,
            keys,
            marks,
            next_offset,
            width,
        )
    lines += _off_window(marks, first, end)
    if legend:
        lines.append(legend_line(log, removed))
    return lines


def _row(
    log: PartitionLog,
    start: int,
    stop: int,
    cw: int,
    present: dict,
    batch_at: dict[int, tuple[int, int]],
    control: set[int],
    txn: set[int],
    seg_starts: set[int],
    lag_from: int | None,
    hw: int | None,
    cursor: int | None,
    removed: dict[int, str],
    keys: bool,
    marks: list[Marker],
    next_offset: int | None,
    limit: int,
) -> list[Text]:
    out: list[Text] = []
    if log.segments is not None:
        seg = Text()
        if start not in seg_starts:
            # the row begins inside a segment: name it, so every row says where its cells live
            owner = max((b for b in seg_starts if b < start), default=None)
            if owner is not None:
                seg.append(f"(seg {owner:,})", style="dim")
        for o in range(start, stop):
            if o in seg_starts:
                col = (o - start) * cw
                label = f"┃seg {o:,}"
                if len(seg.plain) > col:  # the continuation label would overlap: drop it
                    seg = Text()
                seg.append(" " * max(0, col - len(seg.plain)))
                seg.append(label, style=STYLE["segment"])
        if seg.plain.strip():
            out.append(seg)
    if log.batches_known and log.batches:
        bat = Text()
        o = start
        while o < stop:
            span = batch_at.get(o)
            if span is None:
                o += 1
                continue
            base, last = span
            lo, hi = max(base, start), min(last, stop - 1)
            cells = hi - lo + 1
            col = (lo - start) * cw
            bat.append(" " * max(0, col - len(bat.plain)))
            bat.append(_bracket(base, last, cells * cw, lo > base, hi < last), style=STYLE["batch"])
            o = hi + 1
        if bat.plain.strip():
            out.append(bat)
    cells = Text()
    key_line = Text()
    for o in range(start, stop):
        border = "┃" if o in seg_starts else "│"
        cells.append(border, style=STYLE["segment"] if o in seg_starts else "dim")
        text, style = _cell(
            o, cw - 1, present, batch_at, control, txn, lag_from, hw, removed, log, next_offset
        )
        if cursor == o:
            style = f"{style} {STYLE['cursor']}".strip()
        cells.append(text, style=style)
        if keys:
            key = _key_text(present[o].key) if o in present else ""
            key_line.append(" " + key[: cw - 1].rjust(cw - 1), style="green")
    out.append(cells)
    if keys:
        out.append(key_line)
    # markers: ▲ under the cell they point at, on as many lines as needed so labels never overlap;
    # a merged label too long for the line is split into its parts, and a part still too long is cut
    marker_lines: list[Text] = []
    for m in marks:
        if not start <= m.offset < stop:
            continue
        col = (m.offset - start) * cw + 1
        parts = [m.label] if len(m.label) + 1 <= max(limit - col, col) else m.label.split(" · ")
        for part in parts:
            if len(part) + 1 <= limit - col:  # label to the right of the arrow
                at, label = col, "▲" + part
            elif len(part) <= col:  # no room on the right: to its left, ending at the arrow
                at, label = col - len(part), part + "▲"
            else:
                room = max(2, limit - col - 1)
                at, label = col, "▲" + part[: room - 1] + "…"
            for line in marker_lines:
                if len(line.plain) < at:
                    line.append(" " * (at - len(line.plain)))
                    line.append(label, style=m.style)
                    break
            else:
                line = Text(" " * at)
                line.append(label, style=m.style)
                marker_lines.append(line)
    out += marker_lines
    return out


def _bracket(base: int, last: int, span: int, open_left: bool, open_right: bool) -> str:
    """``╭─b 3-5──╮`` over ``span`` columns; a batch cut by the row edge has an open end. The label
    shrinks to what fits (``b 3-5``, ``3-5``, ``b3``, ``b``)."""
    left = "─" if open_left else "╭"
    right = "─" if open_right else "╮"
    if span <= 2:
        return (left + right)[:span]
    inner = span - 2
    whole = f"b {base:,}" if base == last else f"b {base:,}-{last:,}"
    for label in (whole, f"{base:,}-{last:,}", f"b{base:,}", "b", ""):
        if len(label) + 1 <= inner or not label:
            break
    body = ("─" + label).ljust(inner, "─") if label else "─" * inner
    return left + body[:inner] + right


def _cell(
    o: int,
    w: int,
    present: dict,
    batch_at: dict[int, tuple[int, int]],
    control: set[int],
    txn: set[int],
    lag_from: int | None,
    hw: int | None,
    removed: dict[int, str],
    log: PartitionLog,
    next_offset: int | None,
) -> tuple[str, str]:
    if o in removed:
        return str(o).rjust(w), STYLE["removed"]
    if o == next_offset:
        return "+".rjust(w), STYLE["next"]
    if hw is not None and o >= hw:
        return "·".rjust(w), STYLE["unreplicated"]
    if o in present or not log.batches_known:
        style = ""
        if o in control:
            style = STYLE["control"]
        elif o in txn:
            style = STYLE["transactional"]
        if lag_from is not None and lag_from <= o and (hw is None or o < hw):
            style = f"{style} {STYLE['lag']}".strip()
        if o not in present:  # a secured listener: a record that the consumer did not return
            return "?".rjust(w), "dim"
        return str(o).rjust(w), style
    return GONE.rjust(w), STYLE["compacted"]  # in no batch, or a hole in one: compacted away


def _off_window(marks: list[Marker], first: int, end: int) -> list[Text]:
    out = []
    before = [m for m in marks if m.offset < first]
    after = [m for m in marks if m.offset >= end]
    if before:
        t = Text("◀ before the window: ", style="dim")
        for i, m in enumerate(before):
            t.append((" · " if i else "") + m.label, style=m.style)
        out.append(t)
    if after:
        t = Text("▶ after the window: ", style="dim")
        for i, m in enumerate(after):
            t.append((" · " if i else "") + m.label, style=m.style)
        out.append(t)
    return out


def header_lines(log: PartitionLog) -> list[Text]:
    """Who holds the partition and where its offsets stand."""
    head = Text()
    head.append(f"{log.topic}-{log.partition}", style="bold")
    leader = f"broker {log.leader}" if log.leader >= 0 else "none (offline)"
    head.append(f"  leader {leader}  replicas {_ids(log.replicas)}  ISR {_ids(log.isr)}")
    if log.isr and len(log.isr) < len(log.replicas):
        head.append("  under-replicated", style="bold red")
    head.append("   log start ")
    head.append(fmt(log.log_start), style=STYLE["log-start"])
    head.append("  HW ")
    head.append(fmt(log.high_watermark), style=STYLE["hw"])
    head.append("  LSO ")
    head.append(fmt(log.last_stable), style=STYLE["lso"])
    if log.log_start is not None and log.high_watermark is not None:
        head.append(f"   records {log.high_watermark - log.log_start:,}")
    head.append(f"   window {log.first:,}-{max(log.first, log.stop - 1):,}", style="dim")
    lines = [head]
    reps = Text("replicas: ")
    for i, r in enumerate(log.replica_ends):
        if i:
            reps.append(" · ")
        reps.append(f"b{r.broker}", style="bold")
        tags = []
        if r.leader:
            tags.append("leader")
        if not r.alive:
            tags.append("down")
        elif not r.in_isr:
            tags.append("out of ISR")
        if tags:
            reps.append(f" ({', '.join(tags)})", style="red" if not r.alive or not r.in_isr else "")
        reps.append(" LEO ")
        reps.append(fmt(r.leo), style=STYLE["leo"])
        if r.leo is not None and log.high_watermark is not None and r.leo < log.high_watermark:
            reps.append(f" ({log.high_watermark - r.leo:,} behind HW)", style="yellow")
        if r.leo is None and r.source:
            reps.append(f" [{r.source.removeprefix('n/a: ')}]", style="dim")
    if log.replica_ends:
        kinds = sorted(
            {
                "the replica's log dir on this machine" if r.source.startswith("its log dir") else r.source
                for r in log.replica_ends
                if r.leo is not None
            }
        )
        if kinds:
            reps.append(f"   (LEO read from {'; '.join(kinds)})", style="dim")
        lines.append(reps)
    if log.groups is not None or log.groups_error:
        g = Text("groups: ")
        if log.groups_error:
            g.append(f"n/a ({log.groups_error})", style="yellow")
        elif not log.groups:
            g.append("none has committed an offset here or owns the partition", style="dim")
        lags = log.lag_by_group
        for i, mark in enumerate(log.groups or ()):
            if i:
                g.append(" · ")
            g.append(mark.group_id, style=STYLE["group"])
            g.append(f" {mark.state}")
            g.append(f" committed {fmt(mark.committed) if mark.committed is not None else '-'}")
            lag = lags.get(mark.group_id)
            if lag is not None:
                g.append(f" lag {lag:,}" + ("*" if mark.committed is None else ""))
            if mark.owner:
                g.append(f" owner {mark.owner}")
            if mark.error:
                g.append(f" ⚠ {mark.error}", style="yellow")
        lines.append(g)
    for note in log.notes:
        lines.append(Text(f"note: {note}", style="dim"))
    return lines


def _ids(ids: tuple[int, ...]) -> str:
    return ",".join(map(str, ids)) or "none"


def legend_line(log: PartitionLog, removed: dict[int, str] | None = None) -> Text:
    t = Text("legend: ", style="dim")
    t.append("│n│ record", style="dim")
    if log.batches_known:
        t.append("  ╭b╮ batch", style=STYLE["batch"])
    if log.segments is not None:
        t.append("  ┃ segment start", style=STYLE["segment"])
    t.append(f"  {GONE} removed by compaction", style=STYLE["compacted"])
    t.append("  · past the high watermark: written, not committed yet", style=STYLE["unreplicated"])
    t.append("  + next offset", style=STYLE["next"])
    if any(b.transactional and not b.control for b in log.batches):
        t.append("  italic: in a transaction", style=STYLE["transactional"])
    if any(b.control for b in log.batches):
        t.append("  magenta: a transaction marker (commit/abort)", style=STYLE["control"])
    if any(g.committed is not None for g in log.groups or ()):
        t.append("  shaded: lag", style=STYLE["lag"])
    if removed:
        why = sorted(set(removed.values()))
        t.append(f"  struck: gone since last look ({', '.join(why)})", style=STYLE["removed"])
    t.append(
        "   a consumer's position is known only to that consumer: groups show the committed offset",
        style="dim",
    )
    return t
