"""All partition logs of a broker across its log directories: load, create, delete, maintain."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from kcli.server.storage.checkpoints import LogDirCheckpoints, parse_partition_dir
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.partition_log import PartitionLog

log = logging.getLogger("kafka.log.LogManager")

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
_DELETE_SUFFIX = "-delete"


class LogManager:
    def __init__(
        self, log_dirs: list[Path], default_config: LogConfig, *, producer_id_expiration_ms: int = 86400000
    ):
        self.log_dirs = [Path(d) for d in log_dirs]
        self.default_config = default_config
        self.producer_id_expiration_ms = producer_id_expiration_ms  # producer.id.expiration.ms
        self.logs: dict[tuple[str, int], PartitionLog] = {}
        # Partitions per log dir, kept up to date so placing a new one is O(1), not O(partitions).
        self._dir_counts: dict[Path, int] = {d: 0 for d in self.log_dirs}
        self._lock = threading.RLock()

    def load(self) -> dict[tuple[str, int], PartitionLog]:
        """Open every ``<topic>-<partition>`` directory, recovering the ones not closed cleanly."""
        with self._lock:
            for log_dir in self.log_dirs:
                log_dir.mkdir(parents=True, exist_ok=True)
                LogDirCheckpoints.forget(log_dir)
                marker = log_dir / CLEAN_SHUTDOWN_FILE
                clean = marker.exists()
                for path in sorted(log_dir.iterdir()):
                    if not path.is_dir():
                        continue
                    if path.name.endswith(_DELETE_SUFFIX):
                        shutil.rmtree(path, ignore_errors=True)  # a delete the crash interrupted
                        continue
                    tp = parse_partition_dir(path.name)
                    if tp is None or tp in self.logs:
                        continue
                    plog = PartitionLog.open(path, self.default_config, clean_shutdown=clean)
                    if plog.truncated_on_recovery:
                        log.warning(
                            "Truncated %d bytes of an incomplete or corrupt batch at the end of %s",
                            plog.truncated_on_recovery,
                            path.name,
                        )
                    self._add(tp, plog)
                # Any crash from now on must recover: the marker is only valid for this start-up.
                marker.unlink(missing_ok=True)
            return dict(self.logs)

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
            plog = PartitionLog.open(target / name, config)
            self._add((topic, partition), plog)
            return plog

    def _add(self, tp: tuple[str, int], plog: PartitionLog) -> None:
        self.logs[tp] = plog
        parent = plog.directory.parent
        self._dir_counts[parent] = self._dir_counts.get(parent, 0) + 1

    def delete(self, topic: str, partition: int) -> None:
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
            except Exception:
                log.exception("Log maintenance failed for %s-%d", topic, partition)
        self.checkpoint_all()

    def checkpoint_all(self) -> None:
        for log_dir in self.log_dirs:
            if log_dir.is_dir():
                LogDirCheckpoints.for_dir(log_dir).write()

    def close_all(self) -> None:
        """Clean shutdown: close every log, write checkpoints, leave the clean-shutdown marker.

        The checkpoint files are written once at the end, not once per log: with 10,000 partitions
        a write per log made shutdown quadratic."""
        with self._lock:
            for plog in self.logs.values():
                plog.close(write_checkpoints=False)
            self.checkpoint_all()
            for log_dir in self.log_dirs:
                if log_dir.is_dir():
                    (log_dir / CLEAN_SHUTDOWN_FILE).touch()
            self.logs.clear()
            self._dir_counts = {d: 0 for d in self.log_dirs}
