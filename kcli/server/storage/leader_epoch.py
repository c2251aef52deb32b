"""The leader epoch cache: which leader epoch started writing at which offset.

Kept in ``leader-epoch-checkpoint`` (Kafka's format: version 0, a count, then ``epoch offset``
lines) so that replication can later answer OffsetsForLeaderEpoch and truncate followers correctly.
The file is rewritten only when an epoch starts, which is rare.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

LEADER_EPOCH_FILE = "leader-epoch-checkpoint"

log = logging.getLogger("kafka.log.LogLoader")


class LeaderEpochCache:
    def __init__(self, directory: Path):
        self.path = directory / LEADER_EPOCH_FILE
        self.damaged = False  # the file was there but unreadable: the log rebuilds the entries
        self.entries: list[tuple[int, int]] = self._read()

    def _read(self) -> list[tuple[int, int]]:
        try:
            lines = self.path.read_bytes().decode("utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            return self._unreadable(exc.strerror if isinstance(exc, OSError) else "it is not a text file")
        try:
            if len(lines) < 2 or lines[0].strip() != "0":
                raise ValueError("unrecognised version line")
            out = []
            for line in lines[2 : 2 + int(lines[1])]:
                epoch, offset = line.split()
                out.append((int(epoch), int(offset)))
            return out
        except ValueError as exc:
            return self._unreadable(str(exc))

    def _unreadable(self, reason: str | None) -> list[tuple[int, int]]:
        log.warning("Error reading %s (%s): rebuilding it from the batches of the log", self.path, reason)
        self.damaged = True
        return []

    def rebuild(self, batches: Iterable[tuple[int, int]]) -> None:
        """Entries from the (partition leader epoch, base offset) of every batch, in log order."""
        self.entries = []
        for epoch, base_offset in batches:
            if epoch >= 0 and (not self.entries or epoch > self.entries[-1][0]):
                self.entries.append((epoch, base_offset))
        self._write()
        self.damaged = False

    def _write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = ["0", str(len(self.entries))] + [f"{e} {o}" for e, o in self.entries]
        tmp.write_text("\n".join(body) + "\n")
        os.replace(tmp, self.path)

    @property
    def latest_epoch(self) -> int:
        return self.entries[-1][0] if self.entries else -1

    def assign(self, epoch: int, start_offset: int) -> None:
        """Note that ``epoch`` wrote its first batch at ``start_offset`` (no-op for a known epoch)."""
        if epoch < 0 or (self.entries and epoch <= self.entries[-1][0]):
            return
        self.entries.append((epoch, start_offset))
        self._write()

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """OffsetsForLeaderEpoch: (largest epoch <= ``epoch``, the offset where the next one starts)."""
        found = -1, -1
        for i, (e, _) in enumerate(self.entries):
            if e > epoch:
                break
            nxt = self.entries[i + 1][1] if i + 1 < len(self.entries) else log_end_offset
            found = e, nxt
        return found

    def truncate_from_end(self, end_offset: int) -> None:
        kept = [(e, o) for e, o in self.entries if o < end_offset]
        if kept != self.entries:
            self.entries = kept
            self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """Entries before the new log start collapse into one starting at ``start_offset``."""
        before = [(e, o) for e, o in self.entries if o <= start_offset]
        if len(before) <= 1 and not (before and before[-1][1] < start_offset):
            return
        latest = before[-1][0]
        self.entries = [(latest, start_offset)] + [(e, o) for e, o in self.entries if o > start_offset]
        self._write()
