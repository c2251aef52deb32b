"""Group facts the Python admin client does not expose, asked with plain Kafka requests (kio).

confluent-kafka's ``describe_consumer_groups`` has no group epoch, target assignment epoch,
member epoch or member protocol, and maps the KIP-848 states Assigning and Reconciling to
UNKNOWN; its ``list_consumer_groups`` has no protocol type. Kafka 4.x's tools show all of them, so
``kafka-consumer-groups`` and ``kafka-groups`` ask for them directly: ConsumerGroupDescribe at the
group's coordinator and ListGroups v5 at every broker, as Kafka's admin client does. Only on
PLAINTEXT listeners; elsewhere (or against a broker without these APIs) the callers fall back to
what the admin client gives, and show ``-`` for what it does not.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kcli.client import split_bootstrap

CONSUMER_GROUP_DESCRIBE = 69
LIST_GROUPS = 16
FIND_COORDINATOR = 10
API_VERSIONS = 18
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


class _Conn:
    def __init__(self, host: str, port: int, timeout_s: float):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def _read(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(n)
            if not chunk:
                raise WireUnavailable("the broker closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def ask(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        from kio.index import load_request_schema, load_response_schema
        from kio.serial import entity_reader, entity_writer

        from kcli.server.protocol.codec import build

        self.correlation += 1
        request_cls = load_request_schema(api_key, version)
        header_cls = request_cls.__header_schema__
        buf = io.BytesIO()
        entity_writer(header_cls)(
            buf,
            header_cls(
                request_api_key=api_key,
                request_api_version=version,
                correlation_id=self.correlation,
                client_id=CLIENT_ID,
            ),
        )
        entity_writer(request_cls)(buf, build(request_cls, body))
        payload = buf.getvalue()
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._read(4))
        frame = self._read(size)
        response_cls = load_response_schema(api_key, version)
        _, used = entity_reader(response_cls.__header_schema__)(frame, 0)
        response, _ = entity_reader(response_cls)(frame, used)
        return response

    def max_version(self, api_key: int) -> int:
        """The highest version of ``api_key`` the broker serves, -1 when it does not."""
        answer = self.ask(API_VERSIONS, 0, {})
        for entry in answer.api_keys:
            if entry.api_key == api_key:
                return int(entry.max_version)
        return -1


def _int(value: Any) -> int:
    return int(getattr(value, "value", value))


def _plaintext(conf: dict[str, Any]) -> None:
    if str(conf.get("security.protocol", "plaintext")).lower() != "plaintext":
        raise WireUnavailable("not a PLAINTEXT listener")


def _connect(bootstrap: str, timeout_s: float) -> _Conn:
    last: Exception | None = None
    for host, port in split_bootstrap(bootstrap):
        try:
            return _Conn(host, port, timeout_s)
        except OSError as exc:
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
        version = min(first.max_version(CONSUMER_GROUP_DESCRIBE), 1)
        if version < 0:
            return facts
        for group in groups:
            found = first.ask(FIND_COORDINATOR, 1, {"key": group, "key_type": 0})
            if _int(found.error_code) != 0:
                continue
            conn = _Conn(found.host, found.port, timeout_s)
            try:
                answer = conn.ask(
                    CONSUMER_GROUP_DESCRIBE,
                    version,
                    {"group_ids": [group], "include_authorized_operations": False},
                )
            finally:
                conn.close()
            for g in answer.groups:
                if _int(g.error_code) != 0:
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
    except (OSError, WireUnavailable, ValueError):
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
            conn = _Conn(host, port, timeout_s)
        except OSError as exc:
            raise WireUnavailable(f"broker {host}:{port} unreachable: {exc}") from None
        try:
            version = min(conn.max_version(LIST_GROUPS), 5)
            if version < 0:
                raise WireUnavailable("ListGroups is not served")
            answer = conn.ask(LIST_GROUPS, version, {"states_filter": [], "types_filter": []})
            if _int(answer.error_code) != 0:
                raise WireUnavailable(f"ListGroups failed with error {_int(answer.error_code)}")
            for g in answer.groups:
                listed[g.group_id] = ListedGroup(
                    g.group_id,
                    getattr(g, "group_type", "") or "",
                    g.protocol_type or "",
                    getattr(g, "group_state", "") or "",
                )
        except OSError as exc:
            raise WireUnavailable(str(exc)) from None
        finally:
            conn.close()
    return sorted(listed.values(), key=lambda g: g.group_id)
