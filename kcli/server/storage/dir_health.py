"""Whether each log directory can be written right now, logged once per change of state.

Kafka's ``LogDirFailureChannel`` takes a log directory offline at its first I/O error and halts
the broker when none is left. kcli keeps the directory online instead: writes to it answer
KAFKA_STORAGE_ERROR (retriable, so producers keep their records) while reads go on being served,
and the next write that succeeds puts it back. On a laptop the usual cause is a full disk, which
comes back when space is freed; halting would end the whole session for that. In a cluster the
broker also tells the controller (``kcli.server.cluster.log_dir_failure``), which moves the
leadership of the dir's partitions to other in-sync replicas, as Kafka does for an offline dir;
DescribeLogDirs answers KAFKA_STORAGE_ERROR for the dir, as for Kafka's offline one. Either way the
log says it once when the directory starts failing and once when it recovers, never once per
request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("kafka.server.LogDirFailureChannel")


class LogDirHealth:
    """The write state of every log directory of the process."""

    def __init__(self) -> None:
        self._failing: dict[Path, str] = {}
        self._lock = threading.Lock()
        # Told (from whichever thread saw the error) when a dir starts failing: in a cluster the
        # broker then moves its leaderships there elsewhere (kcli.server.cluster.log_dir_failure).
        self.listeners: list[Callable[[Path], None]] = []

    def failed(self, log_dir: Path, what: str, exc: OSError) -> None:
        """A write under ``log_dir`` failed; the first failure is logged, the rest counted."""
        reason = exc.strerror or str(exc)
        with self._lock:
            if log_dir in self._failing:
                return
            self._failing[log_dir] = reason
        log.error(
            "Error while %s in dir %s: %s. Writes to this log dir answer KAFKA_STORAGE_ERROR until "
            "one succeeds again; reads are still served.",
            what,
            log_dir,
            reason,
        )
        for listener in list(self.listeners):
            try:
                listener(log_dir)
            except Exception:
                log.exception("Could not report the failure of log dir %s", log_dir)

    def succeeded(self, log_dir: Path) -> None:
        """A write under ``log_dir`` succeeded: log the recovery if it was failing."""
        if log_dir not in self._failing:  # the common case, without the lock
            return
        with self._lock:
            reason = self._failing.pop(log_dir, None)
        if reason is not None:
            log.info("Log dir %s accepts writes again (it failed with: %s)", log_dir, reason)

    def is_failing(self, log_dir: Path) -> bool:
        return log_dir in self._failing

    def reason(self, log_dir: Path) -> str | None:
        """Why writes to ``log_dir`` fail (e.g. "No space left on device"), None when they do not."""
        return self._failing.get(log_dir)


_default = LogDirHealth()


def dir_health() -> LogDirHealth:
    return _default
