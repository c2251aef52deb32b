"""Log compaction placeholder (replaced by the real cleaner below in a later commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kcli.server.storage.partition_log import PartitionLog


def clean_log(log: PartitionLog, now_ms: int) -> None:
    return None
