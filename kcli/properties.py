"""Java ``.properties`` files, read and written the way Kafka's tools read them.

Kafka's configuration files (``server.properties``, ``--command-config`` files) use
``java.util.Properties`` syntax: ``key=value`` or ``key: value`` or ``key value``, ``#`` and ``!``
comments, backslash line continuations and escapes. Students copy these files between the
Apache and Confluent distributions, so we accept the whole syntax rather than a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kcli.cli_errors import UsageError

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str) -> list[str]:
    """Join continuation lines (an odd number of trailing backslashes) into one logical line."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip() if pending else raw
        if not pending and (not line.strip() or line.lstrip().startswith(("#", "!"))):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and i + 6 <= len(text):
                try:
                    out.append(chr(int(text[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split(line: str) -> tuple[str, str]:
    """Split a logical line at the first unescaped ``=``, ``:`` or whitespace."""
    line = line.lstrip()
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "=: \t\f":
            break
        i += 1
    key = line[:i]
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":") and (i >= len(line) or line[i] in " \t\f" or line[i] in "=:"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest)


def parse_properties(text: str) -> dict[str, str]:
    """Parse the text of a ``.properties`` file into an ordered dict (later keys win)."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        if key:
            result[key] = value
    return result


def load_properties(path: str | Path) -> dict[str, str]:
    """Read a ``.properties`` file; raises ``OSError`` with the path when it cannot be read."""
    return parse_properties(Path(path).read_text(encoding="utf-8"))


def parse_assignment(text: str) -> tuple[str, str]:
    """``key=value`` as given to ``--override`` or ``--property``; raises ValueError otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"Invalid property '{text}': expected key=value")
    return key.strip(), value


def parse_key_values(items: Sequence[str] | None, what: str = "property") -> dict[str, str]:
    """``k=v`` items (``--property``, ``--producer-property``...), Java's way: split at the first ``=``;
    a missing value is an empty string, as joptsimple's ``parseKeyValueArgs`` accepts it."""
    result: dict[str, str] = {}
    for item in items or ():
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f"Invalid {what} '{item}': expected key=value")
        result[key] = value
    return result
