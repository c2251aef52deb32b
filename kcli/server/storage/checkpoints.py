"""Per-log-directory offset checkpoint files in Kafka's text format.

``replication-offset-checkpoint`` (high watermarks), ``log-start-offset-checkpoint`` and
``recovery-point-offset-checkpoint`` each hold a version line (0), a count line, then one
``topic partition offset`` line per partition. Every partition log in a directory shares one
:class:`LogDirCheckpoints`; files are replaced atomically (write a temp file, then rename).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from kcli.server.storage.errors import KafkaStorageError

log = logging.getLogger("kafka.log.LogManager")

HIGH_WATERMARK_FILE = "replication-offset-checkpoint"
LOG_START_OFFSET_FILE = "log-start-offset-checkpoint"
RECOVERY_POINT_FILE = "recovery-point-offset-checkpoint"

TopicPartition = tuple[str, int]


def parse_partition_dir(name: str) -> TopicPartition | None:
    """``my.topic-name-3`` -> ("my.topic-name", 3): topics may contain '-', so split at the last one."""
    topic, sep, index = name.rpartition("-")
    if not sep or not topic or not index.isdigit():
        return None
    return topic, int(index)


# What reading a damaged file as absent means, in the words Kafka's LogManager logs it with.
_WHEN_DAMAGED = {
    "recovery-point-offset-checkpoint": "resetting the recovery checkpoint to 0",
    "log-start-offset-checkpoint": "resetting to the base offset of the first segment",
    "replication-offset-checkpoint": "high watermarks start at the log end offsets",
}


def parse_checkpoint(text: str) -> dict[TopicPartition, int]:
    """The entries of a checkpoint file's text; ValueError saying what is wrong with it."""
    lines = text.splitlines()
    if not lines:
        raise ValueError("the file is empty")
    if lines[0].strip() != "0":
        raise ValueError(f"unrecognised version line '{lines[0][:20]}'")
    if len(lines) < 2:
        raise ValueError("no entry count line")
    count = int(lines[1])
    entries = lines[2 : 2 + count]
    if count < 0 or len(entries) != count:
        raise ValueError(f"expected {count} entries but found {len(entries)}")
    out: dict[TopicPartition, int] = {}
    for line in entries:
        parts = line.rsplit(" ", 2)
        if len(parts) != 3:
            raise ValueError(f"malformed line '{line[:40]}'")
        out[(parts[0], int(parts[1]))] = int(parts[2])
    return out


def read_checkpoint(path: Path) -> dict[TopicPartition, int]:
    """Entries of a checkpoint file; an absent file reads as empty, and so does a malformed one,
    with a WARN naming it (as Kafka's LogManager resets a checkpoint it cannot read)."""
    try:
        return parse_checkpoint(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        _warn_damaged(path, exc.strerror)
    except UnicodeDecodeError:
        _warn_damaged(path, "it is not a text file")
    except ValueError as exc:
        _warn_damaged(path, str(exc))
    return {}


def _warn_damaged(path: Path, reason: str | None) -> None:
    log.warning(
        "Error occurred while reading %s file of directory %s (%s), %s",
        path.name,
        path.parent,
        reason,
        _WHEN_DAMAGED.get(path.name, "reading it as empty"),
    )


def write_checkpoint(path: Path, entries: dict[TopicPartition, int]) -> None:
    lines = ["0", str(len(entries))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(entries.items())]
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
    except OSError:
        tmp.unlink(missing_ok=True)  # never leave a half-written temp file on a full disk
        raise
    os.replace(tmp, path)


class LogDirCheckpoints:
    """The checkpointed offsets of one log directory, shared by its partition logs."""

    _instances: dict[Path, LogDirCheckpoints] = {}
    _aliases: dict[Path, LogDirCheckpoints] = {}  # unresolved paths already looked up
    _instances_lock = threading.Lock()

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._lock = threading.Lock()
        self.high_watermarks = read_checkpoint(log_dir / HIGH_WATERMARK_FILE)
        self.log_start_offsets = read_checkpoint(log_dir / LOG_START_OFFSET_FILE)
        self.recovery_points = read_checkpoint(log_dir / RECOVERY_POINT_FILE)

    @classmethod
    def for_dir(cls, log_dir: Path) -> LogDirCheckpoints:
        """The shared instance of ``log_dir``; the path as given is remembered too, since
        ``resolve()`` costs a system call per path component on every partition opened."""
        with cls._instances_lock:
            inst = cls._aliases.get(log_dir)
            if inst is not None:
                return inst
        key = log_dir.resolve()
        with cls._instances_lock:
            inst = cls._instances.get(key)
            if inst is None:
                inst = cls._instances[key] = cls(key)
            cls._aliases[log_dir] = inst
            return inst

    @classmethod
    def forget(cls, log_dir: Path) -> None:
        """Drop the cached instance (LogManager.load re-reads the files)."""
        key = log_dir.resolve()
        with cls._instances_lock:
            cls._instances.pop(key, None)
            for alias in [a for a, inst in cls._aliases.items() if inst.log_dir == key]:
                del cls._aliases[alias]

    def set_log_start_offset(self, tp: TopicPartition, offset: int) -> None:
        """Persisted at once: DeleteRecords must survive a crash."""
        with self._lock:
            previous = self.log_start_offsets.get(tp)
            if previous == offset:
                return
            self.log_start_offsets[tp] = offset
            try:
                write_checkpoint(self.log_dir / LOG_START_OFFSET_FILE, self.log_start_offsets)
            except OSError as exc:
                if previous is None:
                    del self.log_start_offsets[tp]
                else:
                    self.log_start_offsets[tp] = previous
                raise KafkaStorageError(
                    f"Disk error while writing the log start offsets checkpoint in directory "
                    f"{self.log_dir}: {exc.strerror or exc}"
                ) from exc

    def remove(self, tp: TopicPartition) -> None:
        """Forget a deleted partition. Only a log start offset is written at once (a topic created
        again under the same name must not inherit it); a stale high watermark or recovery point
        is harmless (a new log clamps them to its end) and leaves with the next periodic write.
        Writing all three files per partition made deleting 1,000 topics quadratic."""
        with self._lock:
            changed = self.log_start_offsets.pop(tp, None) is not None
            self.high_watermarks.pop(tp, None)
            self.recovery_points.pop(tp, None)
            if changed:
                write_checkpoint(self.log_dir / LOG_START_OFFSET_FILE, self.log_start_offsets)

    def write(self) -> None:
        """Write the high watermarks and recovery points (periodically and on shutdown);
        KafkaStorageError when the directory cannot be written (the previous files stay)."""
        with self._lock:
            if self.log_dir.is_dir():
                try:
                    write_checkpoint(self.log_dir / HIGH_WATERMARK_FILE, self.high_watermarks)
                    write_checkpoint(self.log_dir / RECOVERY_POINT_FILE, self.recovery_points)
                except OSError as exc:
                    raise KafkaStorageError(
                        f"Disk error while writing offset checkpoints in directory {self.log_dir}: "
                        f"{exc.strerror or exc}"
                    ) from exc
