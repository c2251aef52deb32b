"""The metadata log: ``__cluster_metadata-0``, batches of KRaft metadata records with offsets.

As in KRaft, the controller's state is the replay of this log: every change is a batch of records
(``metadata_records``) appended under the controller's epoch, flushed to disk before it takes
effect, and brokers follow the log by offset - each applies the records after the last offset it
has (a delta), never a whole image. The log is an ordinary Kafka partition log (the broker's
storage classes: segments, indexes, leader-epoch checkpoint), so ``kafka-dump-log
--cluster-metadata-decoder`` reads it and a Raft quorum can replicate it batch for batch.

The epoch (Raft's leader epoch) is kept in ``quorum-state``, Kafka's file for it; each start of
the controller is a new epoch, opened with a LeaderChange control record as a KRaft leader opens
its epoch. Snapshots (``<end offset>-<epoch>.checkpoint``, Kafka's names and format: a
SnapshotHeader control record, the records that rebuild the image, a SnapshotFooter) bound what a
restart replays; the log before the latest snapshot is deleted.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from kio.schema.leader_change_message.v0.data import LeaderChangeMessage, Voter
from kio.schema.snapshot_footer_record.v0.data import SnapshotFooterRecord
from kio.schema.snapshot_header_record.v0.data import SnapshotHeaderRecord
from kio.serial import entity_writer

from kcli.protocol.metadata_records import MetadataRecord, decode, encode
from kcli.protocol.records import build_batch, decode_batch, iter_batches
from kcli.server.storage.log_config import LogConfig
from kcli.server.storage.log_dirs import METADATA_TOPIC
from kcli.server.storage.partition_log import PartitionLog

log = logging.getLogger("kafka.raft.KafkaRaftClient")

METADATA_DIR = f"{METADATA_TOPIC}-0"
QUORUM_STATE = "quorum-state"
SNAPSHOT_SUFFIX = ".checkpoint"
# ControlRecordType ids (the key of a control record is int16 version 0, int16 type).
LEADER_CHANGE, SNAPSHOT_HEADER, SNAPSHOT_FOOTER = 2, 3, 4
MAX_BATCH_RECORDS = 10_000  # QuorumController.MAX_RECORDS_PER_BATCH
# The log is the controller's memory: never expired by time or size, only replaced by snapshots.
METADATA_LOG_CONFIG = LogConfig(
    segment_bytes=64 * 1024 * 1024,
    retention_ms=-1,
    retention_bytes=-1,
    max_message_bytes=8 * 1024 * 1024,
)


def control_key(control_type: int) -> bytes:
    return (0).to_bytes(2, "big") + control_type.to_bytes(2, "big")


def _serialize(entity: object) -> bytes:
    buf = io.BytesIO()
    entity_writer(type(entity))(buf, entity)  # type: ignore[arg-type]
    return buf.getvalue()


def snapshot_name(end_offset: int, epoch: int) -> str:
    """Kafka's snapshot file name: the end offset (exclusive) and epoch, zero-padded."""
    return f"{end_offset:020d}-{epoch:010d}{SNAPSHOT_SUFFIX}"


class MetadataLog:
    """``directory``/__cluster_metadata-0 for one controller (or one lone broker)."""

    #: One voter: a flushed append is committed. A Raft voter's log (``raft_log``) says False.
    commit_on_append = True

    def __init__(self, parent: Path, node_id: int):
        self.node_id = node_id
        self.directory = parent / METADATA_DIR
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = PartitionLog.open(self.directory, METADATA_LOG_CONFIG)
        self.epoch = self._read_epoch()

    # --- epochs ------------------------------------------------------------------------------
    def _read_epoch(self) -> int:
        path = self.directory / QUORUM_STATE
        try:
            state = json.loads(path.read_text())
            return int(state.get("leaderEpoch", 0))
        except FileNotFoundError:
            return max(self.log.epoch_cache.latest_epoch, 0)
        except (OSError, ValueError) as exc:
            raise OSError(f"Cannot read {path}: {exc}") from None

    def become_leader(self) -> int:
        """Start a new epoch as the only voter (KRaft elects itself): ``quorum-state`` first,
        then the LeaderChange control record that opens the epoch."""
        self.epoch = max(self.epoch, self.log.epoch_cache.latest_epoch) + 1
        state = {
            "leaderId": self.node_id,
            "leaderEpoch": self.epoch,
            "votedId": self.node_id,
            "appliedOffset": 0,
            "currentVoters": [{"voterId": self.node_id}],
            "data_version": 0,
        }
        tmp = self.directory / (QUORUM_STATE + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.directory / QUORUM_STATE)
        voter = Voter(voter_id=self.node_id)  # type: ignore[call-arg]
        message = LeaderChangeMessage(
            version=0,
            leader_id=self.node_id,
            voters=(voter,),
            granting_voters=(voter,),  # type: ignore[arg-type]
        )
        self._append_batch([(control_key(LEADER_CHANGE), _serialize(message))], control=True)
        log.info("Elected as leader of %s-0 with epoch %d (the only voter)", METADATA_TOPIC, self.epoch)
        return self.epoch

    # --- appends and reads -------------------------------------------------------------------
    @property
    def end_offset(self) -> int:
        """The offset the next record will get."""
        return self.log.log_end_offset

    @property
    def start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def committed_offset(self) -> int:
        """The last committed offset (the high watermark - 1): only it is told to brokers."""
        return self.log.high_watermark - 1

    def append(self, records: list[MetadataRecord]) -> int:
        """Append ``records`` under the current epoch; see :meth:`append_encoded`."""
        return self.append_encoded([encode(r) for r in records])

    def append_encoded(self, values: list[bytes]) -> int:
        """Append encoded records (in batches of at most MAX_BATCH_RECORDS) under the current
        epoch, flushed before returning, as a KRaft leader flushes before it commits; returns the
        offset of the last one. With one voter, flushed is committed."""
        last = self.end_offset - 1
        for i in range(0, len(values), MAX_BATCH_RECORDS):
            last = self._append_batch([(None, v) for v in values[i : i + MAX_BATCH_RECORDS]])
        return last

    def _append_batch(self, rows: list[tuple[bytes | None, bytes]], control: bool = False) -> int:
        now = int(time.time() * 1000)
        batch = build_batch(rows, timestamp=now, is_control=control, partition_leader_epoch=self.epoch)
        result = self.log.append(batch, leader_epoch=self.epoch, now_ms=now, allow_control=control)
        self.log.flush()
        if self.commit_on_append:
            self.log.high_watermark = self.log.log_end_offset
        return result.last_offset

    def read(self, start: int, max_records: int = MAX_BATCH_RECORDS) -> Iterator[tuple[int, MetadataRecord]]:
        """(offset, record) from ``start`` on, at most ``max_records``, control records skipped."""
        count = 0
        for header, data in self.log.read_batches(start):
            if header.is_control:
                continue
            _, records = decode_batch(data)
            for rec in records:
                if rec.offset < start or rec.value is None:
                    continue
                yield rec.offset, decode(rec.value)
                count += 1
                if count >= max_records:
                    return

    # --- snapshots -----------------------------------------------------------------------------
    def latest_snapshot(self) -> tuple[int, Path] | None:
        """(end offset, path) of the newest snapshot, if any."""
        found = []
        for path in self.directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            stem = path.name[: -len(SNAPSHOT_SUFFIX)]
            offset, _, epoch = stem.partition("-")
            if offset.isdigit() and epoch.isdigit():
                found.append((int(offset), path))
        return max(found) if found else None

    def read_snapshot(self, path: Path) -> list[MetadataRecord]:
        data = path.read_bytes()
        out: list[MetadataRecord] = []
        for pos, header in iter_batches(data):
            if header.is_control:
                continue
            _, records = decode_batch(data, pos)
            out += [decode(r.value) for r in records if r.value is not None]
        return out

    def write_snapshot(self, records: list[MetadataRecord], end_offset: int) -> Path:
        """A snapshot of the image at ``end_offset`` (exclusive), written to a temporary file,
        flushed and renamed, then the log before it is deleted (it is no longer needed to
        rebuild the image). Returns the snapshot's path."""
        now = int(time.time() * 1000)
        path = self.directory / snapshot_name(end_offset, self.epoch)
        tmp = path.with_suffix(".checkpoint.part")
        header = SnapshotHeaderRecord(version=0, last_contained_log_timestamp=now)  # type: ignore[arg-type]
        footer = SnapshotFooterRecord(version=0)  # type: ignore[arg-type]
        batches = [
            build_batch(
                [(control_key(SNAPSHOT_HEADER), _serialize(header))],
                base_offset=0,
                timestamp=now,
                is_control=True,
                partition_leader_epoch=self.epoch,
            )
        ]
        base = 1  # offsets in a snapshot are positions in it: the header is 0
        for i in range(0, len(records), MAX_BATCH_RECORDS):
            chunk = records[i : i + MAX_BATCH_RECORDS]
            batches.append(
                build_batch(
                    [(None, encode(r)) for r in chunk],
                    base_offset=base,
                    timestamp=now,
                    partition_leader_epoch=self.epoch,
                )
            )
            base += len(chunk)
        batches.append(
            build_batch(
                [(control_key(SNAPSHOT_FOOTER), _serialize(footer))],
                base_offset=base,
                timestamp=now,
                is_control=True,
                partition_leader_epoch=self.epoch,
            )
        )
        with open(tmp, "wb") as fh:
            for batch in batches:
                fh.write(batch)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        for old in self.directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            if old != path:
                old.unlink(missing_ok=True)
        if end_offset > self.log.log_start_offset:
            self.log.delete_records_before(min(end_offset, self.log.high_watermark))
        log.info(
            "Wrote snapshot %s with %d records; the log now starts at %d",
            path.name,
            len(records),
            self.start_offset,
        )
        return path

    def close(self) -> None:
        self.log.close()
