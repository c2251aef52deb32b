"""An application's state directory, ``<state.dir>/<application.id>``, as Kafka Streams keeps it:
locked by one process at a time, and holding the process id that names its transactional producer.

Kafka Streams (StateDirectory) locks ``.lock`` in that directory, so two instances cannot share one
set of state stores, and keeps a random process id in ``kafka-streams-process-metadata`` (JSON,
``{"processId": "<uuid>"}``) for applications with persistent stores. Under ``exactly_once_v2``
the producer's ``transactional.id`` is ``<application.id>-<processId>-<thread>``: an instance
restarted on the same state directory after a crash gets the same transactional id, and its
InitProducerId aborts the transaction the dead one left open at once instead of after
``transaction.timeout.ms``. An application without persistent stores gets a fresh id per run.
"""

from __future__ import annotations

import fcntl
import json
import uuid
from pathlib import Path
from typing import IO

LOCK_FILE_NAME = ".lock"
PROCESS_FILE_NAME = "kafka-streams-process-metadata"


#: The lock files held open by this process: a lock lasts as long as its file stays open, which
#: must not depend on the caller keeping its StateDirectory object.
_held: dict[Path, IO[bytes]] = {}


class StateDirectoryError(Exception):
    pass


class StateDirectory:
    """``<state_dir>/<app_id>``; once locked, locked for the life of the process (or :meth:`close`).
    ``owner`` names what runs on it in the message when another process holds it."""

    def __init__(self, state_dir: Path | str, app_id: str, owner: str = "Kafka Streams"):
        self.path = (Path(state_dir) / app_id).resolve()
        self.owner = owner

    def lock(self) -> None:
        """Take the directory's lock; another live process holding it is an error (one line)."""
        if self.path in _held:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = (self.path / LOCK_FILE_NAME).open("ab")
        except OSError as exc:
            raise StateDirectoryError(
                f"Failed to lock the state directory [{self.path}] during startup: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StateDirectoryError(
                f"Unable to initialize state, this can happen if multiple instances of {self.owner} are running "
                f"in the same state directory (current state directory is [{self.path}])"
            ) from None
        _held[self.path] = handle

    def process_id(self, persistent: bool = True) -> uuid.UUID:
        """The id kept in the directory (created on first use); a fresh one if not ``persistent``."""
        if not persistent:
            return uuid.uuid4()
        self.lock()
        path = self.path / PROCESS_FILE_NAME
        try:
            return uuid.UUID(str(json.loads(path.read_text())["processId"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet, or unreadable: Kafka Streams writes a new one too
        process_id = uuid.uuid4()
        try:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps({"processId": str(process_id)}))
            tmp.replace(path)
        except OSError as exc:
            raise StateDirectoryError(
                f"Unable to write the process file {path}: {exc.strerror or exc}"
            ) from None
        return process_id

    def close(self) -> None:
        """Release the lock (the process's exit does too, kill -9 included)."""
        handle = _held.pop(self.path, None)
        if handle is not None:
            handle.close()
