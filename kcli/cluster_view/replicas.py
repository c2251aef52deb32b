"""Where each replica of a partition is, and how far its log reaches.

Kafka's protocol tells a client the leader's offsets (ListOffsets, Fetch) and, through
DescribeLogDirs, which log directory holds each replica and how big it is - but neither a
follower's log end offset (except ListOffsets as a debugging replica, which not every broker
honours: see :func:`kcli.cluster_view.fetch.replica_log_end`) nor where the segments begin. When a
replica's log directory is on this machine (a local lab: ``kcli local``, or brokers started by
hand), those two facts are in its files: each segment is named after its base offset, and the
last batch of the last segment ends at the log end offset. This module reads them, read-only,
the way ``kafka-dump-log`` does; for a remote cluster they stay unknown and are drawn as ``n/a``.
"""

from __future__ import annotations

import struct
from pathlib import Path

from kcli.cluster_view.log_model import Segment
from kcli.protocol.connection import BrokerConnection, WireError
from kcli.protocol.errors import error_code

DESCRIBE_LOG_DIRS = 35
#: The index's entries are (int32 relative offset, int32 position); the last non-zero one is the
#: closest known position to the end of the segment.
_INDEX_ENTRY = struct.Struct(">ii")


def log_dirs_holding(host: str, port: int, topic: str, partition: int, timeout_s: float) -> list[str]:
    """The log directories of one broker that hold ``topic-partition`` (DescribeLogDirs v1)."""
    body = {"topics": [{"topic": topic, "partitions": [partition]}]}
    with BrokerConnection(host, port, timeout_s, "kcli-tui") as conn:
        response = conn.exchange([(DESCRIBE_LOG_DIRS, 1, body)])[0]
    out = []
    for result in response.results:
        if error_code(result.error_code):
            continue
        for t in result.topics:
            if str(t.name) == topic and any(int(p.partition_index) == partition for p in t.partitions):
                out.append(str(result.log_dir))
    return out


def all_log_dirs(host: str, port: int, timeout_s: float) -> list[str]:
    """Every log directory of one broker (DescribeLogDirs v1 for no topic: only the directories)."""
    with BrokerConnection(host, port, timeout_s, "kcli-tui") as conn:
        response = conn.exchange([(DESCRIBE_LOG_DIRS, 1, {"topics": []})])[0]
    return [str(r.log_dir) for r in response.results if not error_code(r.error_code)]


def local_partition_dir(log_dirs: list[str], topic: str, partition: int) -> Path | None:
    """The replica's directory when one of ``log_dirs`` is readable on this machine."""
    for d in log_dirs:
        path = Path(d) / f"{topic}-{partition}"
        try:
            if path.is_dir():
                return path
        except OSError:
            continue
    return None


def segments(path: Path) -> list[Segment]:
    """The replica's segments, oldest first (``00000000000000000120.log`` begins at offset 120)."""
    out = []
    try:
        entries = list(path.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not name.endswith(".log") or not name[:-4].isdigit():
            continue
        try:
            size = entry.stat().st_size
        except OSError:
            continue
        out.append(Segment(int(name[:-4]), size))
    out.sort(key=lambda s: s.base_offset)
    return out


def log_end_offset(path: Path) -> int | None:
    """The offset after the last complete batch of the replica's last segment.

    Starts reading at the last position the segment's index knows (Kafka's index is sparse: an
    entry every ``index.interval.bytes``), so even a full 1 GB segment costs at most a few KiB.
    """
    segs = segments(path)
    if not segs:
        return None
    last = segs[-1]
    log_file = path / f"{last.base_offset:020d}.log"
    start = 0
    try:
        index = (path / f"{last.base_offset:020d}.index").read_bytes()
        used = (len(index.rstrip(b"\x00")) + 7) // 8  # Kafka preallocates the index zero-filled
        if used:
            _relative, start = _INDEX_ENTRY.unpack_from(index, (used - 1) * 8)
    except OSError:
        pass
    end = _last_end(log_file, start)
    if end is None and start:  # an index entry past the valid bytes: read the segment whole
        end = _last_end(log_file, 0)
    return end if end is not None else last.base_offset


def _last_end(log_file: Path, start: int) -> int | None:
    from kcli.cluster_view.log_segments import iter_batches

    try:
        with open(log_file, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return None
    end = None
    for batch in iter_batches(data):
        end = batch.last_offset + 1
    return end


class LogDirCache:
    """Broker id -> its log directories, learnt while the broker answers and kept when it stops
    answering (a stopped broker's files still say how far its replica got)."""

    def __init__(self) -> None:
        self.dirs: dict[int, list[str]] = {}

    def learn(self, broker: int, host: str, port: int, timeout_s: float) -> list[str]:
        try:
            found = all_log_dirs(host, port, timeout_s)
        except (WireError, OSError, ValueError, struct.error):
            return self.dirs.get(broker, [])
        if found:
            self.dirs[broker] = found
        return self.dirs.get(broker, [])

    def add(self, broker: int, dirs: list[str]) -> None:
        self.dirs.setdefault(broker, list(dirs))
