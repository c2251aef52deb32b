"""The background thread that fsyncs logs, so no flush runs on the broker's event loop.

Kafka flushes a segment when it is rolled with an asynchronous ``flush-log`` task, and its
``kafka-log-flusher`` thread flushes logs whose ``flush.ms`` has passed; both happen here, in one
worker thread fed in order. A flush advances the log's recovery point, the offset below which an
unclean start needs no recovery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("kafka.log.LogManager")


class Flusher:
    """A queue of flush jobs run by one worker thread, started on first use."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> Future[None]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-log-flusher")
            return self._executor.submit(self._run, job)

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        try:
            job()
        except OSError as exc:  # the log reports the failing directory itself, once per state change
            log.debug("Flush failed: %s", exc)
        except Exception:
            log.exception("Error while flushing a log")

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every job submitted so far has run (the worker runs them in order)."""
        self.submit(lambda: None).result(timeout)


_default = Flusher()


def default_flusher() -> Flusher:
    """The process-wide flusher shared by every partition log."""
    return _default
