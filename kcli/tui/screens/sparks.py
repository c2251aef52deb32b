"""Text sparklines with event marks under them, for throughput and lag over time.

A sparkline here is one character per sample (``▁▂▃▄▅▆▇█``, blank for zero), the newest on the
right, so that a mark drawn under column *i* means "this happened right after sample *i*": a
member joined, the group rebalanced, a broker went down. Textual's Sparkline widget scales its
samples into buckets, which would blur exactly that alignment.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from kcli.tui.screens.events import SHORT, Event

BLOCKS = " ▁▂▃▄▅▆▇█"
MARK_STYLE = {
    "broker-down": "bold red",
    "broker-up": "bold green",
    "rebalance": "bold magenta",
    "member-joined": "bold cyan",
    "member-left": "bold yellow",
    "election": "bold red",
}


def spark(values: Sequence[float], width: int, top: float | None = None) -> str:
    """The last ``width`` values as block characters scaled to ``top`` (default: their maximum)."""
    shown = list(values)[-width:] if width > 0 else []
    peak = top if top is not None else max(shown, default=0.0)
    if peak <= 0:
        return " " * len(shown)
    out = []
    for v in shown:
        if v <= 0:
            out.append(" ")
        else:
            out.append(BLOCKS[max(1, min(8, round(v / peak * 8)))])
    return "".join(out)


def marks(
    total: int, width: int, events: Sequence[Event], kinds: set[str] | None = None
) -> tuple[Text, list[Event]]:
    """The line under a sparkline of ``total`` samples shown ``width`` wide: a numbered mark under
    the sample each event followed; returns the line and the events marked, in number order."""
    shown = min(total, width)
    first = total - shown
    line = [" "] * shown
    styles: list[str] = [""] * shown
    marked: list[Event] = []
    for e in events:
        if e.sample < first or e.sample < 0 or (kinds is not None and e.kind not in kinds):
            continue
        col = min(shown - 1, e.sample - first)
        if col < 0:
            continue
        marked.append(e)
        number = str(len(marked) % 10)
        line[col] = number if line[col] == " " else "*"
        styles[col] = MARK_STYLE.get(e.kind, "bold")
    text = Text()
    for ch, style in zip(line, styles, strict=True):
        text.append(ch, style=style or None)
    return text, marked


def legend(marked: Sequence[Event], clock: object) -> Text:
    """``1 14:02:03 member joined (dashboard-2) · 2 14:02:10 broker 1 down``."""
    text = Text()
    for i, e in enumerate(marked, start=1):
        if i > 1:
            text.append(" · ", style="dim")
        text.append(f"{i % 10} ", style=MARK_STYLE.get(e.kind, "bold"))
        text.append(f"{clock(e.at)} {SHORT.get(e.kind, e.kind)}: ", style="dim")  # type: ignore[operator]
        text.append(e.text)
    return text
