"""``quorum-state``: what a KRaft voter must remember across a crash to keep Raft safe.

Kafka's file (``__cluster_metadata-0/quorum-state``, JSON with ``leaderId``, ``leaderEpoch``,
``votedId``, ``currentVoters``, ``data_version``): the epoch a voter has seen and whom it voted
for in it. Raft's safety rests on both being on disk before a vote is granted or an epoch is
acted on - a voter that forgot its vote could vote twice in one epoch and let two leaders be
elected - so every change is written to a temporary file, fsynced and renamed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "quorum-state"


@dataclass
class ElectionState:
    epoch: int = 0
    leader_id: int = -1
    voted_id: int = -1


class QuorumStateStore:
    def __init__(self, directory: Path, voters: list[int]):
        self.path = Path(directory) / FILE_NAME
        self.voters = sorted(voters)

    def read(self) -> ElectionState:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return ElectionState()
        except (OSError, ValueError) as exc:
            raise OSError(f"Cannot read {self.path}: {exc}") from None
        return ElectionState(
            int(data.get("leaderEpoch", 0)), int(data.get("leaderId", -1)), int(data.get("votedId", -1))
        )

    def write(self, state: ElectionState) -> None:
        data = {
            "leaderId": state.leader_id,
            "leaderEpoch": state.epoch,
            "votedId": state.voted_id,
            "appliedOffset": 0,
            "currentVoters": [{"voterId": v} for v in self.voters],
            "data_version": 0,
        }
        tmp = self.path.with_name(FILE_NAME + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
