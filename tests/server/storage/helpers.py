"""Small builders shared by the storage tests."""

from __future__ import annotations

from pathlib import Path

from kcli.protocol.records import build_batch, decode_records
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.partition_log import PartitionLog


def batch(
    n: int = 1, *, ts: int = 1_000, key: bytes | None = b"k", size: int = 20, tag: str = "", **kw
) -> bytes:
    """``n`` records with timestamps ts, ts+1, ...; values identify the record by tag and index."""
    rows = [(key, f"{tag}{i}".encode().ljust(size, b"."), [], ts + i) for i in range(n)]
    return build_batch(rows, **kw)


def open_log(tmp_path: Path, name: str = "topic-0", **config) -> PartitionLog:
    return PartitionLog.open(tmp_path / name, LogConfig(**config))


def read_all(log: PartitionLog, start: int | None = None) -> list:
    """Every record from ``start`` (default: log start) to the log end, following read()."""
    offset = log.log_start_offset if start is None else start
    out = []
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        recs = [r for r in decode_records(data) if r.offset >= offset]
        if not recs:
            break
        out.extend(recs)
        offset = recs[-1].offset + 1
    return out
