"""Snapshots of a follower controller's own metadata log (KIP-630: every voter snapshots).

The active controller snapshots its image as it commits (``Controller.take_snapshot``); a
follower has no Controller, so without this its log would only grow, and a follower restarted
or elected later would replay every record since the cluster began. Like a Kafka follower, which
keeps its own metadata image, a follower here replays what its leader has *committed* (up to the
high watermark, never the uncommitted tail that a new leader may truncate) into a
:class:`~kcli.server.cluster.image.MetadataImage`, and once the committed records since its last
snapshot pass ``metadata.log.max.record.bytes.between.snapshots`` writes the image as a snapshot
at the high watermark, named after the epoch of the last record it holds; the log before it is
then deleted, as on the leader.
"""

from __future__ import annotations

import logging

from kcli.protocol.metadata_records import encode
from kcli.server.cluster.image import MetadataImage
from kcli.server.cluster.raft_log import RaftMetadataLog

log = logging.getLogger("kafka.raft.KafkaRaftClient")


class FollowerSnapshots:
    """``on_commit`` of a follower's log: apply the newly committed records, snapshot when due."""

    def __init__(self, raft_log: RaftMetadataLog, snapshot_bytes: int):
        self.log = raft_log
        self.snapshot_bytes = snapshot_bytes
        self.image: MetadataImage | None = None
        self.applied = 0  # the offset after the last record replayed into the image
        self.snapshot_end = 0
        self.bytes_since_snapshot = 0

    def _reload(self) -> None:
        """The image of the newest snapshot (it may be the leader's, just installed)."""
        self.image = MetadataImage()
        latest = self.log.latest_snapshot()
        self.applied = self.log.start_offset
        if latest is not None:
            for rec in self.log.read_snapshot(latest[1]):
                self.image.replay(rec)
            self.applied = max(self.applied, latest[0])
        self.snapshot_end = self.applied
        self.bytes_since_snapshot = 0

    def __call__(self) -> None:
        latest = self.log.latest_snapshot()
        if (
            self.image is None
            or self.applied < self.log.start_offset
            or (latest and latest[0] > self.applied)
        ):
            self._reload()
        assert self.image is not None
        committed = self.log.high_watermark
        if committed <= self.applied:
            return
        for offset, rec in self.log.read(self.applied, max_records=1 << 62):
            if offset >= committed:
                break
            self.image.replay(rec)
            self.bytes_since_snapshot += len(encode(rec))
        self.applied = committed
        if self.bytes_since_snapshot >= self.snapshot_bytes:
            self._write(committed)

    def _write(self, end: int) -> None:
        assert self.image is not None
        epochs = [e for e, start in self.log.log.epoch_cache.entries if start <= end - 1]
        own_epoch = self.log.epoch
        self.log.epoch = epochs[-1] if epochs else max(own_epoch, 0)
        try:
            self.log.write_snapshot(self.image.records(), end)
        finally:
            self.log.epoch = own_epoch
        self.snapshot_end = end
        self.bytes_since_snapshot = 0
