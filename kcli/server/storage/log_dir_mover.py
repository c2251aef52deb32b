"""Moving a replica between the log dirs of one broker (AlterReplicaLogDirs), as Kafka does.

Kafka creates a *future* replica, ``<topic>-<partition>.<uuid>-future`` in the target dir, which
its ReplicaAlterLogDirsThread fills from the current log while producers keep writing; once it
has caught up, the partition's lock is taken, the current log is renamed with the ``-delete``
suffix, the future one takes the partition's name, and the old one is deleted.

Here the copy works on bytes, never on records: closed segments are copied whole (with their
index files), the active one is tailed from the last copied position; the segment files are
byte-identical afterwards. Rounds of copying run in a thread while appends go on; when what is
left is small, :meth:`LogDirMove.finish_on_loop` runs on the event loop (where every append runs,
so none can interleave) under the log's locks: it copies the last bytes, fsyncs the future dir,
renames the old dir ``<topic>-<partition>.<uuid>-delete``, renames the future dir to
``<topic>-<partition>``, opens it and puts it in the partition's place.

Crash safety (a ``kill -9`` at any point): the old dir is renamed away only after the future
one is complete and fsynced, so at start-up (:func:`recover_future_dirs`) a ``-future`` dir whose
partition still has its current dir is an unfinished copy and is discarded, and a ``-future``
dir whose partition has no current dir left is the complete copy and takes the partition's name.
Neither both copies lost nor both served.

A segment the cleaner rewrote (a new file under the same name) or that retention deleted while
the copy ran is copied again or dropped at the end; a truncation of the source (a follower whose
leader changed) restarts the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.leader_epoch import LEADER_EPOCH_FILE
from kcli.server.storage.log_dirs import DELETE_SUFFIX
from kcli.server.storage.partition_log import PartitionLog
from kcli.server.storage.segment import INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segment_name
from kcli.server.storage.transaction_index import TXN_INDEX_SUFFIX

log = logging.getLogger("kafka.server.ReplicaAlterLogDirsThread")

FUTURE_SUFFIX = "-future"
_CHUNK = 1 << 20
# What may be left to copy when the final step starts: it runs on the event loop, so keep it short.
FINAL_STEP_BYTES = 256 * 1024
_MAX_NAME = 255


def future_dir_name(topic: str, partition: int) -> str:
    """Kafka's ``UnifiedLog.logFutureDirName``: ``<topic>-<partition>.<uuid>-future``."""
    return f"{topic}-{partition}.{uuid.uuid4().hex}{FUTURE_SUFFIX}"


def delete_dir_name(topic: str, partition: int) -> str:
    """Kafka's ``UnifiedLog.logDeleteDirName``: ``<topic>-<partition>.<uuid>-delete``."""
    return f"{topic}-{partition}.{uuid.uuid4().hex}{DELETE_SUFFIX}"


def name_fits(topic: str, partition: int) -> bool:
    """Kafka refuses a move whose future dir name would pass 255 characters (KAFKA-4893)."""
    return len(f"{topic}-{partition}.{'0' * 32}{FUTURE_SUFFIX}") <= _MAX_NAME


def parse_future_dir(name: str) -> tuple[str, int] | None:
    """(topic, partition) of a ``<topic>-<partition>.<uuid>-future`` name, else None."""
    if not name.endswith(FUTURE_SUFFIX):
        return None
    stem, dot, tail = name[: -len(FUTURE_SUFFIX)].rpartition(".")
    if not dot or len(tail) != 32:
        return None
    return parse_partition_dir(stem)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_future_dirs(log_dirs: list[Path]) -> None:
    """Start-up: finish or discard the moves a crash interrupted (see the module's docstring)."""
    current: set[tuple[str, int]] = set()
    futures: list[tuple[tuple[str, int], Path]] = []
    for d in log_dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for path in entries:
            if not path.is_dir():
                continue
            tp = parse_partition_dir(path.name)
            if tp is not None:
                current.add(tp)
                continue
            tp = parse_future_dir(path.name)
            if tp is not None:
                futures.append((tp, path))
    for tp, path in futures:
        if tp in current:
            log.info(
                "Discarding the unfinished future replica %s of %s-%d (the current replica is complete; "
                "move it again with kafka-reassign-partitions)",
                path,
                *tp,
            )
            shutil.rmtree(path, ignore_errors=True)
            continue
        target = path.with_name(f"{tp[0]}-{tp[1]}")
        log.info(
            "Completing the move of %s-%d to %s: the future replica %s was complete", *tp, target.parent, path
        )
        os.replace(path, target)
        fsync_dir(target.parent)
        current.add(tp)


@dataclass
class _Copied:
    """How much of one source segment is in the future dir."""

    copied: int = 0  # bytes of the .log copied
    inode: int = -1  # the source .log file copied from (the cleaner replaces files)
    indexes: bool = False  # the closed segment's index files were copied


@dataclass
class LogDirMove:
    """One replica's move to ``target_dir``: the future replica and how far its copy got."""

    topic: str
    partition: int
    source: PartitionLog
    target_dir: Path
    future_dir: Path
    segments: dict[int, _Copied] = field(default_factory=dict)
    copied_offset: int = 0  # the next offset of the last copied batch (DescribeLogDirs' lag)
    cancelled: bool = False
    _truncations: int = -1  # the source's truncation count the copy was started at
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, topic: str, partition: int, source: PartitionLog, target_dir: Path) -> LogDirMove:
        future = target_dir / future_dir_name(topic, partition)
        future.mkdir()
        return cls(topic, partition, source, target_dir, future)

    @property
    def copied_bytes(self) -> int:
        return sum(c.copied for c in self.segments.values())

    @property
    def offset_lag(self) -> int:
        return max(0, self.source.log_end_offset - self.copied_offset)

    # --- copying (in a thread, appends going on) ----------------------------------------------
    def copy_round(self, budget: int | None = None) -> int:
        """Copy what the source gained since the last round, at most ``budget`` bytes (None: no
        limit); returns the bytes still to copy."""
        with self._lock:
            if self.cancelled:
                return 0
            snapshot = self._snapshot()
            if snapshot is None:  # truncated: start again
                self._reset()
                snapshot = self._snapshot()
                assert snapshot is not None
            segments, next_offset, active_base = snapshot
            self._drop_deleted({base for base, _, _ in segments})
            for base, size, path in segments:
                if budget is not None:
                    before = self.segments[base].copied if base in self.segments else 0
                    size = min(size, before + budget)
                self._copy_segment(base, size, path, closed=base != active_base)
                if budget is not None:
                    budget = max(0, budget - (self.segments[base].copied - before))
            if budget is None or all(
                self.segments.get(b, _Copied()).copied >= size for b, size, _ in segments
            ):
                self.copied_offset = next_offset
            return sum(max(0, size - self.segments.get(b, _Copied()).copied) for b, size, _ in segments)

    def _snapshot(self) -> tuple[list[tuple[int, int, Path]], int, int] | None:
        """The source's segments (base, size, file), log end and active base; None when it was
        truncated since the copy started (what was copied may differ from the log now)."""
        src = self.source
        with src._lock:
            segs = [(s.base_offset, s.size, s.log_path) for s in src._segments]
            next_offset = src.log_end_offset
            truncations = src.truncations
        if self._truncations >= 0 and truncations != self._truncations:
            return None
        self._truncations = truncations
        return segs, next_offset, segs[-1][0]

    def _reset(self) -> None:
        log.info(
            "%s-%d was truncated while it was being copied: copying it again", self.topic, self.partition
        )
        for path in self.future_dir.iterdir():
            path.unlink()
        self.segments.clear()
        self._truncations = -1

    def _drop_deleted(self, bases: set[int]) -> None:
        for base in [b for b in self.segments if b not in bases]:
            del self.segments[base]
            stem = self.future_dir / segment_name(base)
            for suffix in (LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX):
                Path(f"{stem}{suffix}").unlink(missing_ok=True)

    def _copy_segment(self, base: int, size: int, path: Path, *, closed: bool) -> None:
        state = self.segments.setdefault(base, _Copied())
        target = self.future_dir / path.name
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return  # deleted by retention meanwhile: dropped next round
        if state.inode != st.st_ino or state.copied > size:
            state.copied, state.indexes = 0, False  # rewritten by the cleaner: copy it again
            target.unlink(missing_ok=True)
            state.inode = st.st_ino
        if state.copied < size:
            with open(path, "rb") as src, open(target, "ab") as dst:
                dst.truncate(state.copied)
                src.seek(state.copied)
                remaining = size - state.copied
                while remaining:
                    chunk = src.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    dst.write(chunk)
                    remaining -= len(chunk)
                state.copied = size - remaining
        if closed and not state.indexes and state.copied == size:
            # A rolled segment's index files are final; the active one's are rebuilt by recovery.
            for suffix in (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX):
                src_index = Path(f"{path.parent / segment_name(base)}{suffix}")
                with contextlib.suppress(FileNotFoundError):
                    shutil.copyfile(src_index, self.future_dir / src_index.name)
            state.indexes = True

    # --- the swap (on the event loop, under the log's locks) ----------------------------------
    def finish_on_loop(self, install: Callable[[PartitionLog], None]) -> PartitionLog | None:
        """Copy the rest, then swap the logs; None when the log's locks are busy (try again soon).

        Runs on the event loop thread: appends (producers' and replication's) run there too, so
        none can start while this runs, and the locks keep maintenance threads out."""
        src = self.source
        if self.cancelled or not src._maintenance_lock.acquire(blocking=False):
            return None
        try:
            with src._lock:
                self.copy_round()  # everything, under the lock: nothing can be appended meanwhile
                with contextlib.suppress(FileNotFoundError):
                    shutil.copyfile(src.directory / LEADER_EPOCH_FILE, self.future_dir / LEADER_EPOCH_FILE)
                for path in self.future_dir.iterdir():
                    with open(path, "rb+") as fh:
                        os.fsync(fh.fileno())
                fsync_dir(self.future_dir)
                tp = (self.topic, self.partition)
                ckpt = LogDirCheckpoints.for_dir(self.target_dir)
                ckpt.recovery_points[tp] = src.log_end_offset  # every byte is fsynced
                ckpt.high_watermarks[tp] = src.high_watermark
                ckpt.write()  # raises if the target dir cannot be written: nothing moved yet
                ckpt.set_log_start_offset(tp, src.log_start_offset)
                # The point of no return: from here on a restart completes the move.
                current = src.directory
                doomed = current.with_name(delete_dir_name(self.topic, self.partition))
                final = self.target_dir / f"{self.topic}-{self.partition}"
                os.replace(current, doomed)
                try:
                    fsync_dir(doomed.parent)
                    os.replace(self.future_dir, final)
                    fsync_dir(self.target_dir)
                    moved = PartitionLog.open(final, src.config, clean_shutdown=False, flusher=src.flusher)
                except Exception:
                    # Undone, so that the old replica goes on taking writes (a restart would
                    # otherwise serve the copy without them).
                    log.exception(
                        "Could not swap in the moved replica of %s-%d: keeping the current one", *tp
                    )
                    if final.is_dir():
                        os.replace(final, self.future_dir)
                    os.replace(doomed, current)
                    fsync_dir(current.parent)
                    raise
                moved.high_watermark = src.high_watermark
                install(moved)
                src.directory = doomed
                src.delete()  # closes the old log, forgets its checkpoints, removes the -delete dir
            log.info(
                "The current replica of %s-%d was replaced by the future replica in %s",
                self.topic,
                self.partition,
                self.target_dir,
            )
            return moved
        finally:
            src._maintenance_lock.release()

    async def run(
        self, install: Callable[[PartitionLog], None], rates: Callable[[], int | None] = lambda: None
    ) -> PartitionLog | None:
        """Copy in rounds off the event loop until little is left, then swap on the loop.

        ``rates``: Kafka's ``replica.alter.log.dirs.io.max.bytes.per.second`` now, the bytes per
        second the copy may read (None: as fast as the disk goes), asked each round."""
        while not self.cancelled:
            rate = rates()
            budget = None if rate is None else max(1, rate // 10)
            left = await asyncio.to_thread(self.copy_round, budget)
            if rate is not None and left > FINAL_STEP_BYTES:
                await asyncio.sleep(0.1)  # a tenth of a second's budget per round
            if self.cancelled:
                break
            if left <= FINAL_STEP_BYTES:
                moved = self.finish_on_loop(install)
                if moved is not None:
                    return moved
                await asyncio.sleep(0.01)  # maintenance holds the log: let it finish
        return None

    def discard(self) -> None:
        """Cancelled (another target, or the partition went away): remove the future replica."""
        self.cancelled = True
        with self._lock:
            if self.future_dir.is_dir():
                shutil.rmtree(self.future_dir, ignore_errors=True)
