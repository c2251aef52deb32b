"""All partition logs of a broker across its log directories: load, create, delete, maintain.

Start-up loads every ``<topic>-<partition>`` directory of every log dir (recovering the logs of a
dir without the clean-shutdown marker), refuses duplicates as Kafka does, finishes deletes a crash
interrupted (``-delete`` directories) and leaves ``-stray`` ones alone. The ``kafka-log-flusher``
thread flushes logs whose ``flush.ms`` passed, every ``log.flush.scheduler.interval.ms``; a clean
shutdown flushes every log (several at a time, off the event loop) before it leaves the marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.dir_health import dir_health
from kcli.server.storage.errors import StorageStartupError
from kcli.server.storage.flusher import Flusher, default_flusher
from kcli.server.storage.log_config import NEVER, LogConfig
from kcli.server.storage.log_dir_mover import LogDirMove, name_fits, recover_future_dirs
from kcli.server.storage.log_dirs import DELETE_SUFFIX, METADATA_TOPIC, STRAY_SUFFIX, stray_dir_name
from kcli.server.storage.partition_log import PartitionLog

log = logging.getLogger("kafka.log.LogManager")

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
_DELETE_SUFFIX = DELETE_SUFFIX
_CLOSING_THREADS = 4


class LogManager:
    def __init__(
        self,
        log_dirs: list[Path],
        default_config: LogConfig,
        *,
        producer_id_expiration_ms: int = 86400000,
        flush_check_ms: int = NEVER,
    ):
        self.log_dirs = [Path(d) for d in log_dirs]
        self.default_config = default_config
        self.producer_id_expiration_ms = producer_id_expiration_ms  # producer.id.expiration.ms
        self.flush_check_ms = flush_check_ms  # log.flush.scheduler.interval.ms
        self.logs: dict[tuple[str, int], PartitionLog] = {}
        # Partitions per log dir, kept up to date so placing a new one is O(1), not O(partitions).
        self._dir_counts: dict[Path, int] = {d: 0 for d in self.log_dirs}
        self._lock = threading.RLock()
        self.flusher: Flusher = default_flusher()
        self.stray_dirs: list[Path] = []  # -stray directories found at start-up, kept and not served
        self._stop_flushing = threading.Event()
        self._flush_thread: threading.Thread | None = None
        # Replicas being moved to another log dir (AlterReplicaLogDirs), with their copy tasks.
        self.moves: dict[tuple[str, int], LogDirMove] = {}
        self._move_tasks: dict[tuple[str, int], asyncio.Task[None]] = {}

    def load(self) -> dict[tuple[str, int], PartitionLog]:
        """Open every ``<topic>-<partition>`` directory, recovering the ones not closed cleanly."""
        with self._lock:
            for log_dir in self.log_dirs:
                log_dir.mkdir(parents=True, exist_ok=True)
            recover_future_dirs(self.log_dirs)  # moves between log dirs a crash interrupted
            for log_dir in self.log_dirs:
                LogDirCheckpoints.forget(log_dir)
                marker = log_dir / CLEAN_SHUTDOWN_FILE
                clean = marker.exists()
                to_load = []
                for path in sorted(log_dir.iterdir()):
                    if not path.is_dir():
                        continue
                    if path.name.endswith(_DELETE_SUFFIX):
                        shutil.rmtree(path, ignore_errors=True)  # a delete the crash interrupted
                        continue
                    if path.name.endswith(STRAY_SUFFIX):
                        self.stray_dirs.append(path)
                        log.warning(
                            "Found stray log %s: kept, not served (delete it once it is not needed)", path
                        )
                        continue
                    tp = parse_partition_dir(path.name)
                    if tp is None or tp[0] == METADATA_TOPIC:
                        continue  # not a partition, or the metadata log (its controller opens it)
                    if tp in self.logs:
                        raise StorageStartupError(
                            f"Duplicate log directories for {path.name} are found in both "
                            f"{self.logs[tp].directory} and {path}. Recover the broker by keeping the one "
                            "with the data you need and moving the other out of log.dirs."
                        )
                    to_load.append((tp, path))
                if to_load:
                    if clean:
                        log.info(
                            "Skipping recovery of %d logs from %s since clean shutdown file was found",
                            len(to_load),
                            log_dir,
                        )
                    else:
                        log.info(
                            "Recovering %d logs from %s since no clean shutdown file was found",
                            len(to_load),
                            log_dir,
                        )
                for tp, path in to_load:
                    plog = PartitionLog.open(
                        path, self.default_config, clean_shutdown=clean, flusher=self.flusher
                    )
                    self._add(tp, plog)
                # Any crash from now on must recover: the marker is only valid for this start-up.
                marker.unlink(missing_ok=True)
            self._start_flusher()
            return dict(self.logs)

    def mark_stray(self, topic: str, partition: int) -> Path | None:
        """Move a log the metadata does not account for aside as ``<topic>-<p>.<id>-stray``.

        Kafka renames such logs instead of deleting them (KRaft's stray replicas): the data stays
        on disk for whoever knows what it is, and the broker neither serves nor deletes it."""
        with self._lock:
            plog = self.logs.pop((topic, partition), None)
            if plog is None:
                return None
            if self._dir_counts.get(plog.directory.parent):
                self._dir_counts[plog.directory.parent] -= 1
        with plog._maintenance_lock:
            plog.close()
            with contextlib.suppress(OSError):  # a stray has no offsets to checkpoint
                plog._checkpoints.remove((topic, partition))
            target = plog.directory.with_name(stray_dir_name(topic, partition))
            os.replace(plog.directory, target)
        self.stray_dirs.append(target)
        log.warning(
            "Log for partition %s-%d is marked as stray and renamed to %s (its topic is not in the "
            "topic catalog; the data is kept: delete the directory once it is not needed)",
            topic,
            partition,
            target,
        )
        return target

    def get(self, topic: str, partition: int) -> PartitionLog | None:
        return self.logs.get((topic, partition))

    def create(self, topic: str, partition: int, config: LogConfig) -> PartitionLog:
        """Open (or create) the partition's log in the log dir holding the fewest partitions."""
        with self._lock:
            existing = self.logs.get((topic, partition))
            if existing is not None:
                existing.update_config(config)
                return existing
            name = f"{topic}-{partition}"
            on_disk = [d for d in self.log_dirs if (d / name).is_dir()]
            target = on_disk[0] if on_disk else min(self.log_dirs, key=lambda d: self._dir_counts[d])
            plog = PartitionLog.open(target / name, config, flusher=self.flusher)
            self._add((topic, partition), plog)
            return plog

    def _add(self, tp: tuple[str, int], plog: PartitionLog) -> None:
        self.logs[tp] = plog
        parent = plog.directory.parent
        self._dir_counts[parent] = self._dir_counts.get(parent, 0) + 1

    def delete(self, topic: str, partition: int) -> None:
        self.cancel_move(topic, partition)
        with self._lock:
            plog = self.logs.pop((topic, partition), None)
            if plog is not None and self._dir_counts.get(plog.directory.parent):
                self._dir_counts[plog.directory.parent] -= 1
            if plog is None:
                for d in self.log_dirs:
                    path = d / f"{topic}-{partition}"
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                return
        # Rename first so that a crash half way through the removal finishes it on next load; wait
        # for a cleaner working on this log (maintenance may run in another thread) to finish.
        with plog._maintenance_lock:
            doomed = plog.directory.with_name(plog.directory.name + _DELETE_SUFFIX)
            try:
                os.replace(plog.directory, doomed)
                plog.directory = doomed
            except OSError:
                pass
            plog.delete()

    # --- moving replicas between log dirs (AlterReplicaLogDirs) ---------------------------------
    def move(
        self,
        topic: str,
        partition: int,
        target_dir: Path,
        on_moved: Callable[[PartitionLog], None],
        rate: Callable[[], int | None] = lambda: None,
    ) -> None:
        """Start moving the partition's log to ``target_dir`` (a task on the running event loop);
        ``on_moved`` gets the new log once it replaced the old one. Moving to the dir the log is
        in cancels a move under way; moving to another dir than a move under way restarts it."""
        tp = (topic, partition)
        plog = self.logs[tp]
        ongoing = self.moves.get(tp)
        if ongoing is not None and ongoing.target_dir == target_dir:
            return
        self.cancel_move(topic, partition)
        if plog.directory.parent == target_dir:
            return
        try:
            move = LogDirMove.start(topic, partition, plog, target_dir)
        except OSError as exc:
            dir_health().failed(target_dir, f"creating the future replica of {topic}-{partition}", exc)
            raise
        self.moves[tp] = move
        log.info("Started moving %s-%d from %s to %s", topic, partition, plog.directory.parent, target_dir)

        def install(moved: PartitionLog) -> None:
            with self._lock:
                self.logs[tp] = moved
                old_parent = plog.directory.parent
                if self._dir_counts.get(old_parent):
                    self._dir_counts[old_parent] -= 1
                self._dir_counts[target_dir] = self._dir_counts.get(target_dir, 0) + 1
            on_moved(moved)

        async def run() -> None:
            try:
                await move.run(install, rate)
            except Exception:
                log.exception("Moving %s-%d to %s failed", topic, partition, target_dir)
                move.cancelled = True
            finally:
                if move.cancelled:
                    await asyncio.to_thread(move.discard)
                if self.moves.get(tp) is move:
                    del self.moves[tp]
                    self._move_tasks.pop(tp, None)

        self._move_tasks[tp] = asyncio.get_running_loop().create_task(run())

    @staticmethod
    def movable_name(topic: str, partition: int) -> bool:
        """Whether the partition's future dir name fits in 255 characters (Kafka's KAFKA-4893)."""
        return name_fits(topic, partition)

    @staticmethod
    def dir_offline(log_dir: Path) -> bool:
        """A log dir that is no directory any more, or whose writes failed and still fail (Kafka's
        offline log dir). A dir marked failing is probed with a one-byte write: a failure seen on
        a log deleted meanwhile, or a disk with space again, must not keep it offline."""
        if not log_dir.is_dir():
            return True
        if not dir_health().is_failing(log_dir):
            return False
        probe = log_dir / ".kcli-log-dir-probe"
        try:
            with open(probe, "wb") as fh:
                fh.write(b"\0")
                fh.flush()
            probe.unlink()
        except OSError:
            with contextlib.suppress(OSError):
                probe.unlink()
            return True
        dir_health().succeeded(log_dir)
        return False

    def cancel_move(self, topic: str, partition: int) -> None:
        move = self.moves.pop((topic, partition), None)
        self._move_tasks.pop((topic, partition), None)
        if move is not None:
            log.info("Cancelled the move of %s-%d to %s", topic, partition, move.target_dir)
            move.cancelled = True  # its task removes the future replica

    def run_maintenance(self, now_ms: int) -> None:
        """Periodic work: time-based rolls, retention, compaction, checkpoints."""
        with self._lock:
            logs = list(self.logs.items())
        for (topic, partition), plog in logs:
            try:
                plog.maybe_roll_by_time(now_ms)
                plog.expire_producers(now_ms, self.producer_id_expiration_ms)
                if plog.config.delete:
                    deleted = plog.apply_retention(now_ms)
                    if deleted:
                        log.info("Deleted %d segment(s) of %s-%d by retention", deleted, topic, partition)
                if plog.config.compact and plog.needs_compaction(now_ms):
                    stats = plog.compact(now_ms)
                    if stats.records_removed:
                        log.info(
                            "Compacted %s-%d: %d record(s) removed, %d segment(s) rewritten, %d -> %d bytes",
                            topic,
                            partition,
                            stats.records_removed,
                            stats.segments_rewritten,
                            stats.bytes_before,
                            stats.bytes_after,
                        )
            except OSError as exc:  # a full disk: said once per state change of the dir
                dir_health().failed(plog.directory.parent, f"maintaining {topic}-{partition}", exc)
            except Exception:
                log.exception("Log maintenance failed for %s-%d", topic, partition)
        self.checkpoint_all()

    def checkpoint_all(self) -> bool:
        """Write every log dir's checkpoint files; False if one could not be written (logged once
        per state change of its directory: on a full disk the previous files stay in place)."""
        ok = True
        for log_dir in self.log_dirs:
            if log_dir.is_dir():
                try:
                    LogDirCheckpoints.for_dir(log_dir).write()
                except OSError as exc:
                    dir_health().failed(log_dir, "writing offset checkpoints", exc)
                    ok = False
        return ok

    # --- flushing -------------------------------------------------------------------------------
    def _start_flusher(self) -> None:
        if self.flush_check_ms >= NEVER or self._flush_thread is not None:
            return
        log.info("Starting log flusher with a default period of %d ms.", self.flush_check_ms)
        self._stop_flushing.clear()
        self._flush_thread = threading.Thread(target=self._flush_loop, name="kafka-log-flusher", daemon=True)
        self._flush_thread.start()

    def _flush_loop(self) -> None:
        while not self._stop_flushing.wait(self.flush_check_ms / 1000):
            self.flush_dirty_logs(int(time.time() * 1000))

    def flush_dirty_logs(self, now_ms: int) -> int:
        """Flush every log whose flush.ms has passed since its last flush; returns how many."""
        with self._lock:
            logs = list(self.logs.values())
        flushed = 0
        for plog in logs:
            if (
                now_ms - plog.last_flush_ms >= plog.config.flush_ms
                and plog.log_end_offset > plog.recovery_point
            ):
                try:
                    plog.flush()
                    flushed += 1
                except OSError:
                    pass  # logged once for the directory
        return flushed

    def close_all(self) -> None:
        """Clean shutdown: flush and close every log, write checkpoints, leave the marker.

        Logs are flushed and closed several at a time (their fsyncs overlap), and the checkpoint
        files are written once per directory at the end, not once per log: with 10,000 partitions
        a write per log made shutdown quadratic. A directory whose logs could not all be flushed,
        or whose checkpoints could not be written, gets no marker: its next start recovers."""
        self._stop_flushing.set()
        for move in self.moves.values():
            move.cancelled = True  # its future dir stays: the next start discards it
        if self._flush_thread is not None:
            self._flush_thread.join()
            self._flush_thread = None
        with self._lock:
            logs = list(self.logs.values())
            unflushed: set[Path] = set()
            if logs:
                with ThreadPoolExecutor(min(_CLOSING_THREADS, len(logs)), "log-closing") as pool:
                    results = list(pool.map(lambda p: p.close(write_checkpoints=False), logs))
                unflushed = {p.directory.parent for p, ok in zip(logs, results, strict=True) if not ok}
            for log_dir in self.log_dirs:
                if not log_dir.is_dir():
                    continue
                try:
                    LogDirCheckpoints.for_dir(log_dir).write()
                except OSError as exc:
                    log.error("%s: the next start recovers the logs of %s", exc, log_dir)
                    continue
                if log_dir in unflushed:
                    log.error("Not every log in %s could be flushed: the next start recovers them", log_dir)
                    continue
                try:
                    (log_dir / CLEAN_SHUTDOWN_FILE).touch()
                except OSError as exc:
                    log.error(
                        "Could not write the clean shutdown marker in %s: %s", log_dir, exc.strerror or exc
                    )
            self.logs.clear()
            self._dir_counts = {d: 0 for d in self.log_dirs}
