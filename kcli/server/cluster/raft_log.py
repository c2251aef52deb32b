"""The metadata log as a Raft voter keeps it: what :class:`~kcli.server.cluster.raft.RaftState`
asks of a log, on the very ``__cluster_metadata-0`` partition log a single controller writes.

Differences from a lone controller's log: an append is not committed by being flushed (the high
watermark moves only when a majority has the records, set by Raft), followers append the leader's
batches byte for byte (offsets and epochs included, as a Kafka follower does) and truncate where
their log diverged, and a follower behind the leader's log start installs the leader's snapshot
file as it is.

**Voter sets** (KIP-853): every VotersRecord in the log - appended by the leader, or fetched - is
remembered with its offset (``voter_sets``), so the latest set is known at once and a truncation
past one restores the set before it, as Kafka's VoterSetHistory does. The history is also kept in
``voter-sets.json`` beside the log (fsynced and renamed), because a snapshot deletes the log
segments that held the records; at start the file and the remaining log are read back.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from kio.schema.leader_change_message.v0.data import LeaderChangeMessage, Voter

from kcli.protocol.records import decode_batch, iter_batches
from kcli.server.cluster.metadata_log import (
    LEADER_CHANGE,
    SNAPSHOT_SUFFIX,
    MetadataLog,
    _serialize,
    control_key,
    snapshot_name,
)
from kcli.server.cluster.raft_voters import (
    BOOTSTRAP_SNAPSHOT,
    KRAFT_VOTERS,
    DynamicVoter,
    decode_voters_record,
    voters_record,
)

FETCH_MAX_BYTES = 512 * 1024  # one answer line stays well below the JSON-lines limit
SNAPSHOT_CHUNK = 512 * 1024
VOTER_SETS = "voter-sets.json"


class RaftMetadataLog(MetadataLog):
    commit_on_append = False

    def __init__(self, parent: Path, node_id: int):
        super().__init__(parent, node_id)
        self.on_append: Callable[[], None] = lambda: None
        self.on_commit: Callable[[], None] = lambda: None
        self.on_voters: Callable[[], None] = lambda: None  # the latest voter set changed
        self.voter_sets: list[tuple[int, list[DynamicVoter]]] = self._load_voter_sets()

    # --- voter sets (KIP-853) ------------------------------------------------------------------
    def _load_voter_sets(self) -> list[tuple[int, list[DynamicVoter]]]:
        found: dict[int, list[DynamicVoter]] = {}
        path = self.directory / VOTER_SETS
        if path.exists():
            for offset, voters in json.loads(path.read_text()):
                found[int(offset)] = [DynamicVoter(*v) for v in voters]
        for header, data in self.log.read_batches(self.start_offset):
            if header.is_control:
                found.update(self._voters_in(data))
        return sorted((o, v) for o, v in found.items() if o < self.end_offset)

    @staticmethod
    def _voters_in(data: bytes) -> dict[int, list[DynamicVoter]]:
        found: dict[int, list[DynamicVoter]] = {}
        for pos, header in iter_batches(data):
            if not header.is_control:
                continue
            _, records = decode_batch(data, pos)
            for rec in records:
                if (
                    rec.key is not None
                    and rec.value is not None
                    and int.from_bytes(rec.key[2:4], "big") == KRAFT_VOTERS
                ):
                    found[rec.offset] = decode_voters_record(bytes(rec.value))
        return found

    def _save_voter_sets(self) -> None:
        path = self.directory / VOTER_SETS
        tmp = path.with_name(VOTER_SETS + ".tmp")
        rows = [[o, [[v.node_id, v.host, v.port, v.directory_id] for v in vs]] for o, vs in self.voter_sets]
        with open(tmp, "w") as fh:
            json.dump(rows, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.on_voters()

    def latest_voters(self) -> tuple[int, list[DynamicVoter]] | None:
        """(offset, voters) of the newest VotersRecord in the log, or None."""
        return self.voter_sets[-1] if self.voter_sets else None

    def append_voters(self, epoch: int, voters: list[DynamicVoter], listener_name: str) -> int:
        """The leader appends a VotersRecord in ``epoch``; returns its offset."""
        self.epoch = epoch
        offset = self._append_batch(
            [(control_key(KRAFT_VOTERS), voters_record(voters, listener_name))], control=True
        )
        self.voter_sets.append((offset, list(voters)))
        self._save_voter_sets()
        return offset

    # --- what Raft asks ------------------------------------------------------------------------
    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark

    @high_watermark.setter
    def high_watermark(self, value: int) -> None:
        value = min(value, self.end_offset)
        if value != self.log.high_watermark:
            self.log.high_watermark = value
            self.on_commit()

    def snapshot_id(self) -> tuple[int, int] | None:
        latest = self.latest_snapshot()
        if latest is None:
            return None
        stem = latest[1].name[: -len(SNAPSHOT_SUFFIX)]
        return latest[0], int(stem.partition("-")[2])

    def last_epoch(self) -> int:
        if self.end_offset == self.start_offset:
            snapshot = self.snapshot_id()
            if snapshot is not None and snapshot[0] == self.end_offset:
                return snapshot[1]
        return self.log.epoch_cache.latest_epoch

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        found = self.log.epoch_cache.end_offset_for(epoch, self.end_offset)
        snapshot = self.snapshot_id()
        if found[0] < 0 and snapshot is not None and snapshot[1] <= epoch:
            return snapshot[1], snapshot[0]  # the snapshot holds that epoch's end
        return found

    def truncate_to(self, offset: int) -> None:
        offset = max(offset, self.start_offset)
        if offset < self.end_offset:
            self.log.truncate_to(offset)
            self.log.flush()
            if any(o >= offset for o, _ in self.voter_sets):
                self.voter_sets = [(o, v) for o, v in self.voter_sets if o < offset]
                self._save_voter_sets()

    def read_raw(self, offset: int) -> str:
        """Whole batches from ``offset``, base64 (they travel in a JSON line)."""
        data = self.log.read(offset, FETCH_MAX_BYTES) if offset < self.end_offset else b""
        return base64.b64encode(data).decode()

    def append_fetched(self, records: str) -> None:
        data = base64.b64decode(records)
        if data:
            self.log.append_as_follower(data)
            self.log.flush()
            found = self._voters_in(data)
            if found:
                self.voter_sets.extend(sorted(found.items()))
                self._save_voter_sets()

    def append_leader_change(self, epoch: int, leader: int, voters: list[int], granting: list[int]) -> int:
        self.epoch = epoch
        message = LeaderChangeMessage(
            version=0,
            leader_id=leader,
            voters=tuple(Voter(voter_id=v) for v in voters),  # type: ignore[call-arg]
            granting_voters=tuple(Voter(voter_id=v) for v in granting),  # type: ignore[call-arg]
        )
        return self._append_batch([(control_key(LEADER_CHANGE), _serialize(message))], control=True)

    def _append_batch(self, rows: list[tuple[bytes | None, bytes]], control: bool = False) -> int:
        last = super()._append_batch(rows, control)
        self.on_append()
        return last

    def write_snapshot(self, records: list, end_offset: int) -> Path:  # type: ignore[override]
        """As a lone controller's, but the bootstrap snapshot (KIP-853's voter set, see
        ``raft_voters``) survives: a controller configured with
        ``controller.quorum.bootstrap.servers`` reads its voters there at every start."""
        bootstrap = self.directory / BOOTSTRAP_SNAPSHOT
        kept = bootstrap.read_bytes() if bootstrap.exists() else None
        path = super().write_snapshot(records, end_offset)
        if kept is not None and not bootstrap.exists():
            tmp = bootstrap.with_suffix(".checkpoint.part")
            tmp.write_bytes(kept)
            os.replace(tmp, bootstrap)
        return path

    # --- snapshots between voters ------------------------------------------------------------
    def snapshot_chunk(self, end: int, position: int) -> tuple[bytes, bool] | None:
        latest = self.latest_snapshot()
        if latest is None or latest[0] != end:
            return None
        with open(latest[1], "rb") as fh:
            fh.seek(position)
            data = fh.read(SNAPSHOT_CHUNK)
            done = fh.tell() >= latest[1].stat().st_size
        return data, done

    def install_snapshot(self, end: int, epoch: int, data: bytes) -> None:
        """A follower behind the leader's log start: the leader's snapshot becomes this log's
        beginning, and the log starts again at its end."""
        path = self.directory / snapshot_name(end, epoch)
        tmp = path.with_suffix(".checkpoint.part")
        tmp.write_bytes(data)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
            os.replace(tmp, path)
        for old in self.directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            if old != path and old.name != BOOTSTRAP_SNAPSHOT:
                old.unlink(missing_ok=True)
        self.log.truncate_fully_and_start_at(end)
        self.log.high_watermark = end
        self.on_commit()
