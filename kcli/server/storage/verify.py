"""``kafka-storage verify``: check a stopped broker's log directories end to end.

The broker checks what it needs at start-up (and CRC-checks old batches as it serves them); this
reads everything, the way ``kafka-dump-log --deep-iteration`` reads one file, and reports every
problem in one line naming the file: unreadable ``meta.properties``, checkpoint files and topic
catalog, every batch whose framing or CRC-32C is wrong, offsets that go back or (outside compacted
topics) skip, segments that overlap, indexes whose entries do not point at the batches they name.
It only reads: repairing is the broker's recovery (which truncates at the first invalid batch).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kcli.protocol.records import BatchHeader, parse_header
from kcli.server.storage.catalog import CATALOG_FILE, Catalog
from kcli.server.storage.checkpoints import (
    HIGH_WATERMARK_FILE,
    LOG_START_OFFSET_FILE,
    RECOVERY_POINT_FILE,
    parse_checkpoint,
    parse_partition_dir,
)
from kcli.server.storage.errors import StorageStartupError
from kcli.server.storage.log_dirs import (
    META_PROPERTIES,
    MetaPropertiesError,
    holds_data,
    partition_dirs,
    read_meta_properties,
)
from kcli.server.storage.segment import INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, batch_problem

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_ALWAYS_COMPACTED = frozenset({"__consumer_offsets", "__transaction_state"})


@dataclass
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Report:
    log_dirs: int = 0
    partitions: int = 0
    segments: int = 0
    batches: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: Path, message: str) -> None:
        self.problems.append(Problem(path, message))

    def summary(self) -> str:
        found = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} found"
        return (
            f"Checked {self.partitions} partitions ({self.segments} segments, {self.batches} batches) in "
            f"{self.log_dirs} log director{'ies' if self.log_dirs != 1 else 'y'}: "
            f"{found if self.problems else 'no problems found'}."
        )


def verify_log_dirs(log_dirs: Sequence[Path]) -> Report:
    """Check every log directory; the report lists each problem found."""
    report = Report()
    cluster_ids: dict[str, Path] = {}
    catalogs = []
    for d in log_dirs:
        if not d.is_dir():
            report.add(d, "does not exist" if not d.exists() else "is not a directory")
            continue
        report.log_dirs += 1
        try:
            meta = read_meta_properties(d)
            if meta is None:
                if holds_data(d):
                    report.add(d / META_PROPERTIES, "is missing, but the directory holds data")
            elif meta.cluster_id:
                if cluster_ids and meta.cluster_id not in cluster_ids:
                    other = next(iter(cluster_ids.values()))
                    report.add(
                        d / META_PROPERTIES, f"cluster.id {meta.cluster_id} differs from the one in {other}"
                    )
                cluster_ids.setdefault(meta.cluster_id, d / META_PROPERTIES)
        except MetaPropertiesError as exc:
            report.add(d / META_PROPERTIES, f"cannot be used: {exc.what}")
        for name in (HIGH_WATERMARK_FILE, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE):
            _check_checkpoint(d / name, report)
        if (d / CATALOG_FILE).exists():
            catalogs.append(d)
    compacted = set(_ALWAYS_COMPACTED)
    if len(catalogs) > 1:
        report.add(catalogs[1] / CATALOG_FILE, f"a second topic catalog (the other is in {catalogs[0]})")
    if catalogs:
        try:
            catalog = Catalog.load(catalogs[0])
            compacted |= {
                t.name for t in catalog.topics.values() if "compact" in t.configs.get("cleanup.policy", "")
            }
        except StorageStartupError as exc:
            report.add(catalogs[0] / CATALOG_FILE, exc.what)
    for d in log_dirs:
        dirs = partition_dirs(d)
        if dirs and not catalogs:
            report.add(d, f"holds {len(dirs)} partition directories but no log dir has a topic catalog")
        for path in dirs:
            tp = parse_partition_dir(path.name)
            report.partitions += 1
            _check_partition(path, tp is not None and tp[0] in compacted, report)
    return report


def _check_checkpoint(path: Path, report: Report) -> None:
    try:
        parse_checkpoint(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return
    except OSError as exc:
        report.add(path, f"cannot be read ({exc.strerror})")
    except UnicodeDecodeError:
        report.add(path, "is not a text file (the broker reads it as absent)")
    except ValueError as exc:
        report.add(path, f"is malformed: {exc} (the broker reads it as absent)")


def _check_partition(directory: Path, compacted: bool, report: Report) -> None:
    """Every batch of every segment; offsets must grow and, outside compacted topics, not skip."""
    bases = sorted(
        int(p.name[: -len(LOG_SUFFIX)])
        for p in directory.iterdir()
        if p.name.endswith(LOG_SUFFIX) and p.name[: -len(LOG_SUFFIX)].isdigit()
    )
    expected: int | None = None  # the offset the next batch should start at
    for i, base in enumerate(bases):
        report.segments += 1
        path = directory / f"{base:020d}{LOG_SUFFIX}"
        if expected is None:
            expected = base  # below the first segment, retention or DeleteRecords removed the log
        elif base < expected:
            report.add(
                path, f"starts at offset {base}, inside the previous segment (which ends at {expected - 1})"
            )
        batches: dict[int, int] = {}  # position -> last offset
        for pos, h, problem in _scan(path):
            if problem is not None:
                report.add(path, f"batch at position {pos} (after offset {expected - 1}): {problem}")
            if h is None:
                continue
            report.batches += 1
            if h.base_offset < max(expected, base):
                report.add(
                    path,
                    f"batch at position {pos} holds offsets {h.base_offset}-{h.last_offset}, "
                    f"below the expected {max(expected, base)}",
                )
            elif h.base_offset > expected and not compacted:
                report.add(
                    path, f"offsets {expected} to {h.base_offset - 1} are missing before position {pos}"
                )
            batches[pos] = h.last_offset
            expected = max(expected, h.next_offset)
        _check_indexes(directory, base, batches, expected, i == len(bases) - 1, report)


def _scan(path: Path) -> Iterator[tuple[int, BatchHeader | None, str | None]]:
    """(position, header, problem) for each batch; the header is None when the framing is broken
    (the scan stops there), the problem None when the batch is valid."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            pos = 0
            while pos < size:
                problem = batch_problem(view, pos, size)
                if problem is None:
                    h = parse_header(view, pos)
                    yield pos, h, None
                    pos += h.size
                elif problem.startswith(("record is corrupt", "magic")):
                    h = parse_header(view, pos)  # the length holds: report the batch and go on
                    yield pos, h, problem
                    pos += h.size
                else:
                    yield pos, None, f"{problem}; the {size - pos} bytes from here on cannot be read"
                    return
        finally:
            view.release()


def _check_indexes(
    directory: Path, base: int, batches: dict[int, int], next_offset: int, active: bool, report: Report
) -> None:
    index = directory / f"{base:020d}{INDEX_SUFFIX}"
    if not index.exists():
        if batches and not active:
            report.add(index, "is missing (the broker rebuilds it at start-up)")
    else:
        raw = index.read_bytes()
        if len(raw) % _OFFSET_ENTRY.size:
            report.add(index, f"ends in a partial entry ({len(raw)} bytes)")
        last_offset, last_pos = base - 1, -1
        for n, (rel, pos) in enumerate(
            _OFFSET_ENTRY.iter_unpack(raw[: len(raw) - len(raw) % _OFFSET_ENTRY.size])
        ):
            if n and rel == 0 and pos == 0:
                break  # the zero-filled rest of a preallocated index (Kafka's active segments)
            offset = base + rel
            if offset <= last_offset or pos <= last_pos:
                report.add(index, f"entry {n} ({offset} -> {pos}) is out of order")
                break
            if batches.get(pos) != offset:
                found = batches.get(pos)
                what = "no batch starts there" if found is None else f"the batch there ends at offset {found}"
                report.add(index, f"entry {n} maps offset {offset} to position {pos}, but {what}")
                break
            last_offset, last_pos = offset, pos
    time_index = directory / f"{base:020d}{TIME_INDEX_SUFFIX}"
    if time_index.exists():
        raw = time_index.read_bytes()
        if len(raw) % _TIME_ENTRY.size:
            report.add(time_index, f"ends in a partial entry ({len(raw)} bytes)")
        last_ts = -(1 << 63)
        for n, (ts, rel) in enumerate(_TIME_ENTRY.iter_unpack(raw[: len(raw) - len(raw) % _TIME_ENTRY.size])):
            if n and ts == 0 and rel == 0:
                break  # zero-filled preallocation
            offset = base + rel
            if ts < last_ts or not base <= offset < max(next_offset, base + 1):
                report.add(time_index, f"entry {n} ({ts} -> offset {offset}) is out of order or range")
                break
            last_ts = ts
