"""Lab expectation files: TOML (read with the standard library's ``tomllib``), one table per check.

::

    title = "json_topic and avg_age"
    bootstrap = "localhost:9092"

    [[check]]
    kind = "topic"
    topic = "json_topic"
    partitions = 1

    [[check]]
    kind = "aggregate"
    topic = "avg_age"
    source = "json_topic"
    field = "age"
    hint = "run the streaming job: python examples/avg_age_stream.py"

Every check has a ``kind`` (see :data:`KINDS`), the keys its kind needs, and optionally ``label``
(what the report calls it) and ``hint`` (what to tell a student when it fails; each kind has a
default). Unknown kinds and keys are errors naming the check, so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: kind -> (required keys, optional keys)
KINDS: dict[str, tuple[set[str], set[str]]] = {
    "topic": ({"topic"}, {"partitions", "replication_factor", "exists"}),
    "records": ({"topic"}, {"at_least", "keyed", "json_fields"}),
    "key_partition": ({"topic"}, {"key", "keys"}),
    "group_lag": ({"group"}, {"topic", "max_lag"}),
    "aggregate": ({"topic", "source", "field"}, {"average_as", "count_as", "key_is_count"}),
    "config": ({"name", "value"}, {"topic", "broker"}),
    "in_sync": ({"topic"}, {"min_isr"}),
    "schema": ({"subject"}, {"fields", "schema_type", "registry"}),
    "avro_records": ({"topic"}, {"at_least", "subject", "registry"}),
}
COMMON = {"kind", "label", "hint"}


class SpecError(Exception):
    """The expectations file cannot be used: one line saying where and why."""


@dataclass(frozen=True)
class Check:
    kind: str
    args: dict[str, Any]
    name: str | None = None
    hint: str | None = None
    index: int = 0


@dataclass
class LabSpec:
    title: str
    path: str
    bootstrap: str | None = None
    registry: str | None = None
    description: str | None = None
    checks: list[Check] = field(default_factory=list)


def exercises_dir() -> Path:
    return Path(__file__).parent / "exercises"


def shipped() -> dict[str, Path]:
    """The exercises kcli ships, by name (the file name without ``.toml``)."""
    return {p.stem: p for p in sorted(exercises_dir().glob("*.toml"))}


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.exists():
        return path
    found = shipped().get(name_or_path.removesuffix(".toml"))
    if found is not None:
        return found
    names = ", ".join(shipped())
    raise SpecError(f"{name_or_path}: no such file, nor a shipped exercise (those are: {names})")


def load(name_or_path: str) -> LabSpec:
    path = resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"title", "bootstrap", "registry", "description", "check"}
    if unknown:
        raise SpecError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))} (a check goes in a [[check]] table)"
        )
    raw_checks = data.get("check")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise SpecError(f"{path}: no [[check]] table: nothing to check")
    spec = LabSpec(
        title=str(data.get("title") or path.stem),
        path=str(path),
        bootstrap=data.get("bootstrap"),
        registry=data.get("registry"),
        description=data.get("description"),
    )
    for i, raw in enumerate(raw_checks, start=1):
        spec.checks.append(_check(path, i, raw))
    return spec


def _check(path: Path, index: int, raw: Any) -> Check:
    where = f"{path}: check {index}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be a table")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SpecError(f"{where}: kind '{kind}' is not one of {', '.join(KINDS)}")
    required, optional = KINDS[kind]
    missing = required - set(raw)
    if missing:
        raise SpecError(f"{where} ({kind}): missing {', '.join(sorted(missing))}")
    unknown = set(raw) - required - optional - COMMON
    if unknown:
        raise SpecError(f"{where} ({kind}): unknown key(s) {', '.join(sorted(unknown))}")
    if kind == "config" and ("topic" in raw) == ("broker" in raw):
        raise SpecError(f"{where} (config): name either a topic or a broker")
    args = {k: v for k, v in raw.items() if k not in COMMON}
    return Check(kind, args, raw.get("label"), raw.get("hint"), index)
