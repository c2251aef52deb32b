"""Small widgets and formatting helpers shared by the screens."""

from __future__ import annotations

import datetime as dt

from textual.widgets import DataTable, Static


def fmt_count(value: int | None) -> str:
    """Thousands separators, ``-`` for unknown: record counts are read at a glance, not parsed."""
    return "-" if value is None else f"{value:,}"


def fmt_lag(lag: int | None, from_start: int | bool = 0, unknown: int = 0) -> str:
    """A lag cell: ``-`` unknown, ``≥`` when some partitions' log end could not be read, and ``*``
    when it counts partitions with no committed offset from their log start (see the footnote)."""
    if lag is None:
        return "-"
    return ("≥" if unknown else "") + f"{lag:,}" + ("*" if from_start else "")


#: The footnote every table with ``*`` lags carries.
FROM_START_NOTE = (
    "* counts partitions with no committed offset from the log start: what the group reads if it "
    "(re)starts with auto.offset.reset=earliest (kafka-consumer-groups prints - there)"
)


def fmt_bytes(value: int | None) -> str:
    """Binary units, ``-`` when the cluster does not report sizes."""
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover


def fmt_ts(ms: int | None) -> str:
    """UTC with milliseconds: the same record shows the same time on every student's laptop."""
    if ms is None:
        return "-"
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def parse_ts(text: str) -> int:
    """A timestamp typed by a user: epoch milliseconds, or ISO 8601 (UTC unless it says otherwise)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp() * 1000)


def table_rows(table: DataTable) -> list[list[str]]:
    """The plain text of every row, in display order (used by tests and the command palette)."""
    out: list[list[str]] = []
    for row_key in table.rows:
        out.append([str(c) for c in table.get_row(row_key)])
    return out


def set_note(widget: Static, text: str) -> None:
    """Fill a note or problem line, hiding it when there is nothing to say."""
    widget.update(text)
    widget.display = bool(text)


class StatusBar(Static):
    """One line above the footer: connection state, last error, what the screen is doing."""

    DEFAULT_CSS = ""

    def show(self, text: str, level: str = "ok") -> None:
        self.set_classes(f"status-{level}")
        self.update(text)


class ExplainPane(Static):
    """The Explain pane (``E``): a column at the right of a view saying what it shows and why."""

    #: the lines shown, for tests
    lines: list[str] = []

    def show_lines(self, lines: list[str]) -> None:
        from rich.text import Text

        self.lines = list(lines)
        text = Text("Explain  (E closes)\n", style="bold")
        for line in lines:
            text.append("• ", style="cyan")
            text.append(line + "\n")
        self.update(text)
