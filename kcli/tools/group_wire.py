"""Group requests the Python admin client lacks, sent over :mod:`kcli.protocol` (kio).

confluent-kafka has no OffsetDelete call, so ``kafka-consumer-groups --delete-offsets`` sends
FindCoordinator and OffsetDelete itself (:func:`delete_offsets`). Its ``describe_consumer_groups``
has no group epoch, target assignment epoch, member epoch or member protocol, and maps the
KIP-848 states Assigning and Reconciling to UNKNOWN; its ``list_consumer_groups`` has no protocol type. Kafka 4.x's tools show all of them, so
``kafka-consumer-groups`` and ``kafka-groups`` ask for them directly: ConsumerGroupDescribe at the
group's coordinator and ListGroups v5 at every broker, as Kafka's admin client does. Only on
PLAINTEXT listeners; elsewhere (or against a broker without these APIs) the callers fall back to
what the admin client gives, and show ``-`` for what it does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kcli.client import split_bootstrap
from kcli.protocol.connection import BrokerConnection, WireError
from kcli.protocol.errors import error_code
from kcli.tools.cli import ToolError

CONSUMER_GROUP_DESCRIBE = 69
LIST_GROUPS = 16
FIND_COORDINATOR = 10
OFFSET_DELETE = 47
CLIENT_ID = "kcli-admin"


class WireUnavailable(Exception):
    """The facts cannot be asked for here (not PLAINTEXT, unreachable, API not served)."""


@dataclass
class MemberFacts:
    member_id: str
    epoch: int
    upgraded: bool | None  # True: consumer protocol; False: classic; None: unknown (v0)
    target: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class GroupFacts:
    state: str
    group_epoch: int
    assignment_epoch: int
    assignor: str
    members: dict[str, MemberFacts]


@dataclass(frozen=True)
class ListedGroup:
    group_id: str
    group_type: str
    protocol_type: str
    state: str


def _plaintext(conf: dict[str, Any]) -> None:
    if str(conf.get("security.protocol", "plaintext")).lower() != "plaintext":
        raise WireUnavailable("not a PLAINTEXT listener")


def _max_version(conn: BrokerConnection, api_key: int) -> int:
    """The highest version of ``api_key`` the broker serves, -1 when it does not."""
    return conn.versions().get(api_key, (-1, -1))[1]


def _connect(bootstrap: str, timeout_s: float) -> BrokerConnection:
    last: Exception | None = None
    for host, port in split_bootstrap(bootstrap):
        try:
            return BrokerConnection(host, port, timeout_s, CLIENT_ID)
        except WireError as exc:
            last = exc
    raise WireUnavailable(f"no broker reachable: {last}")


def describe_consumer_groups(
    bootstrap: str, conf: dict[str, Any], groups: Iterable[str], timeout_s: float
) -> dict[str, GroupFacts]:
    """ConsumerGroupDescribe of each group at its coordinator; groups that are not consumer
    groups (or cannot be asked) are left out."""
    _plaintext(conf)
    facts: dict[str, GroupFacts] = {}
    try:
        first = _connect(bootstrap, timeout_s)
    except WireUnavailable:
        return facts
    try:
        version = min(_max_version(first, CONSUMER_GROUP_DESCRIBE), 1)
        if version < 0:
            return facts
        for group in groups:
            found = first.request(FIND_COORDINATOR, 1, {"key": group, "key_type": 0})
            if error_code(found.error_code) != 0:
                continue
            with BrokerConnection(found.host, found.port, timeout_s, CLIENT_ID) as conn:
                answer = conn.request(
                    CONSUMER_GROUP_DESCRIBE,
                    version,
                    {"group_ids": [group], "include_authorized_operations": False},
                )
            for g in answer.groups:
                if error_code(g.error_code) != 0:
                    continue
                members = {
                    m.member_id: MemberFacts(
                        m.member_id,
                        int(m.member_epoch),
                        None if getattr(m, "member_type", -1) == -1 else m.member_type == 1,
                        [
                            (tp.topic_name, int(p))
                            for tp in m.target_assignment.topic_partitions
                            for p in tp.partitions
                        ],
                    )
                    for m in g.members
                }
                facts[g.group_id] = GroupFacts(
                    g.group_state, int(g.group_epoch), int(g.assignment_epoch), g.assignor_name, members
                )
    except (WireError, WireUnavailable):
        return facts
    finally:
        first.close()
    return facts


def list_groups(
    bootstrap: str, conf: dict[str, Any], brokers: Iterable[tuple[str, int]], timeout_s: float
) -> list[ListedGroup]:
    """ListGroups (v5 where served) at every broker: each lists the groups it coordinates."""
    _plaintext(conf)
    listed: dict[str, ListedGroup] = {}
    for host, port in brokers:
        try:
            conn = BrokerConnection(host, port, timeout_s, CLIENT_ID)
        except WireError as exc:
            raise WireUnavailable(f"broker {host}:{port} unreachable: {exc}") from None
        try:
            version = min(_max_version(conn, LIST_GROUPS), 5)
            if version < 0:
                raise WireUnavailable("ListGroups is not served")
            answer = conn.request(LIST_GROUPS, version, {"states_filter": [], "types_filter": []})
            if error_code(answer.error_code) != 0:
                raise WireUnavailable(f"ListGroups failed with error {error_code(answer.error_code)}")
            for g in answer.groups:
                listed[g.group_id] = ListedGroup(
                    g.group_id,
                    getattr(g, "group_type", "") or "",
                    g.protocol_type or "",
                    getattr(g, "group_state", "") or "",
                )
        except WireError as exc:
            raise WireUnavailable(str(exc)) from None
        finally:
            conn.close()
    return sorted(listed.values(), key=lambda g: g.group_id)


def delete_offsets(
    bootstrap: str, conf: dict[str, Any], group: str, partitions: list[tuple[str, int]], timeout_s: float
) -> tuple[int, dict[tuple[str, int], int]]:
    """FindCoordinator v1 then OffsetDelete v0: (group error, error per partition)."""
    if str(conf.get("security.protocol", "plaintext")).lower() != "plaintext":
        raise ToolError(
            "--delete-offsets needs a PLAINTEXT listener (the Python admin client has no OffsetDelete)"
        )
    by_topic: dict[str, list[int]] = {}
    for t, p in partitions:
        by_topic.setdefault(t, []).append(p)
    body = {
        "group_id": group,
        "topics": [
            {"name": t, "partitions": [{"partition_index": p} for p in ps]} for t, ps in by_topic.items()
        ],
    }
    last_error: Exception | None = None
    for host, port in split_bootstrap(bootstrap):
        try:
            with BrokerConnection(host, port, timeout_s + 5, "kafka-consumer-groups") as conn:
                found = conn.request(FIND_COORDINATOR, 1, {"key": group, "key_type": 0})
            if error_code(found.error_code) != 0:
                return error_code(found.error_code), {}
            with BrokerConnection(found.host, found.port, timeout_s + 5, "kafka-consumer-groups") as conn:
                response = conn.request(OFFSET_DELETE, 0, body)
            per = {
                (t.name, p.partition_index): error_code(p.error_code)
                for t in response.topics
                for p in t.partitions
            }
            return error_code(response.error_code), per
        except WireError as exc:
            last_error = exc
    raise ToolError(f"Could not reach the group coordinator: {last_error}")
