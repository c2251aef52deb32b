"""What the classic group APIs hand the group coordinator and get back: requests, answers, settings.

The API handlers (``kcli/server/apis/groups.py``, ``group_offsets.py``, ``transactions.py``) build
these from any wire version; the coordinator's modules answer with the dicts built here, so a
JoinGroup or SyncGroup answer has one shape wherever it is produced (the classic coordinator, a
classic member of a consumer group, a migration fencing the old group's waiters).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group import Group


@dataclass(frozen=True)
class Settings:
    """The broker settings the coordinator reads (names as in server.properties)."""

    initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    max_session_timeout_ms: int = 1_800_000  # group.max.session.timeout.ms
    offsets_retention_ms: int = 10080 * 60_000  # offsets.retention.minutes
    offsets_retention_check_ms: int = 600_000  # offsets.retention.check.interval.ms

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms=config.group_min_session_timeout_ms,
            max_session_timeout_ms=config.group_max_session_timeout_ms,
            offsets_retention_ms=config.offsets_retention_minutes * 60_000,
            offsets_retention_check_ms=config.offsets_retention_check_interval_ms,
        )


@dataclass(frozen=True)
class JoinRequest:
    group_id: str
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    require_known_member_id: bool
    # JoinGroup v9+ (KIP-814) can tell a rejoining static leader to skip the assignment step.
    supports_skip_assignment: bool = True


@dataclass(frozen=True)
class CommitEntry:
    topic: str
    partition: int
    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""


def resolve(fut: asyncio.Future[Any] | None, value: Any) -> None:
    """Answer a waiting JoinGroup or SyncGroup, unless it was answered already."""
    if fut is not None and not fut.done():
        fut.set_result(value)


def join_error(member_id: str, code: int) -> dict[str, Any]:
    return {
        "error_code": code,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }


def sync_result(code: int, group: Group | None = None, assignment: bytes = b"") -> dict[str, Any]:
    return {
        "error_code": code,
        "protocol_type": group.protocol_type if group is not None and code == E.NONE else None,
        "protocol_name": group.protocol_name if group is not None and code == E.NONE else None,
        "assignment": assignment,
    }
