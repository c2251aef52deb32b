"""Consumer groups read over the Kafka protocol, one fresh coordinator lookup per refresh.

Why not the AdminClient: librdkafka's coordinator-routed admin calls (DescribeConsumerGroups,
ListConsumerGroupOffsets) break when a group's coordinator moves, which is exactly what a broker
outage and its recovery do (the leaders of ``__consumer_offsets`` fail over, then move back to
their preferred replicas):

* its coordinator cache only forgets an entry after ``metadata.max.age.ms`` (15 minutes) *without
  use*, and a NOT_COORDINATOR answer to an admin request does not evict it; a TUI that refreshes
  every few seconds therefore keeps asking the old coordinator forever - the group showed
  "Unknown" with lag 0 for more than 14 minutes while a fresh process saw it fine;
* a NOT_COORDINATOR answer to its OffsetFetch makes it re-query the coordinator of the client's
  own consumer group, which an admin client does not have: a NULL dereference kills the process
  (librdkafka issue #5040, still open in 2.16; reproduced here with a 3-broker kcli cluster);
* a coordinator request that fails while being sent frees an object still in use
  (``rd_kafka_enq_once_del_source_return: Assertion `eonce->refcnt > 0' failed``, librdkafka
  #4605, PR #5397 unmerged), which aborts the process.

So on PLAINTEXT listeners the TUI asks the brokers itself, with kio: ListGroups to every broker,
FindCoordinator for the groups on every refresh (nothing cached, so nothing goes stale),
DescribeGroups and OffsetFetch to each coordinator, and one more lookup and attempt for the groups
whose coordinator answered that it no longer is (or could not be reached). Every failure is kept,
per group and per broker, so the screens show what is unknown and why instead of guessing.
"""

from __future__ import annotations

import importlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kcli.cluster_view.model import GroupMemberInfo
from kcli.protocol.connection import BrokerConnection, WireError
from kcli.protocol.errors import error_code, error_name

FIND_COORDINATOR, DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_FETCH = 10, 15, 16, 9
CONSUMER_GROUP_DESCRIBE = 69

#: Group errors after which the coordinator must be looked up again (Kafka's own client does so).
_MOVED = {"NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS"}
_STATE_SPELLING = {"": "Unknown"}

Address = tuple[str, int]
TopicPartitionKey = tuple[str, int]


@dataclass
class ListedGroup:
    group_id: str
    protocol_type: str
    state: str | None = None  # ListGroups v4+ tells the state; older brokers do not


@dataclass
class GroupListing:
    """Every group the answering brokers know, and the brokers that could not be asked."""

    groups: dict[str, ListedGroup] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class GroupRead:
    """What one refresh learnt about one group; ``None`` fields could not be read (see ``errors``)."""

    group_id: str
    coordinator: int | None = None
    state: str | None = None
    protocol_type: str = ""
    protocol: str = ""
    members: tuple[GroupMemberInfo, ...] | None = None
    offsets: dict[TopicPartitionKey, int | None] | None = None
    errors: list[str] = field(default_factory=list)
    group_type: str = "classic"  # "consumer": a KIP-848 group, read with ConsumerGroupDescribe
    group_epoch: int | None = None
    assignment_epoch: int | None = None
    maybe_consumer_group: bool = False  # DescribeGroups did not know it as a classic group

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


def decode_assignment(data: bytes | None) -> tuple[TopicPartitionKey, ...]:
    """The partitions in a member's ``consumer`` protocol assignment (empty when unreadable)."""
    from kio.serial import entity_reader

    if not data or len(data) < 2:
        return ()
    (version,) = struct.unpack(">h", data[:2])
    # Versions only ever append fields, so a newer assignment reads as the newest one kio knows.
    version = max(0, min(int(version), 3))
    module = importlib.import_module(f"kio.schema.consumer_protocol_assignment.v{version}.data")
    try:
        value, _ = entity_reader(module.ConsumerProtocolAssignment)(data, 2)
    except Exception:  # a non-standard assignor's bytes: show the member without partitions
        return ()
    return tuple(sorted((str(t.topic), int(p)) for t in value.assigned_partitions for p in t.partitions))


class WireGroupReader:
    """Reads groups from the brokers in ``brokers`` (id -> (host, port)); one pool per call."""

    def __init__(self, brokers: dict[int, Address], timeout_s: float) -> None:
        self.brokers = brokers
        self.timeout_s = timeout_s
        self._pool: dict[int, BrokerConnection] = {}
        self._dead: dict[int, str] = {}

    # -- connections ------------------------------------------------------------------------

    def __enter__(self) -> WireGroupReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        for conn in self._pool.values():
            conn.close()
        self._pool.clear()

    def _conn(self, broker_id: int) -> BrokerConnection:
        if broker_id in self._dead:
            raise WireError(self._dead[broker_id])
        if broker_id not in self._pool:
            if broker_id not in self.brokers:
                raise WireError(f"broker {broker_id} is not in the cluster's metadata")
            host, port = self.brokers[broker_id]
            try:
                self._pool[broker_id] = BrokerConnection(host, port, self.timeout_s, "kcli-tui")
            except WireError as exc:
                raise WireError(self._drop(broker_id, exc)) from exc
        return self._pool[broker_id]

    def _drop(self, broker_id: int, exc: WireError) -> str:
        """Close and remember a broker that failed: ``broker 1 at host:port: connection refused``."""
        conn = self._pool.pop(broker_id, None)
        if conn is not None:
            conn.close()
        if broker_id not in self._dead:
            text = str(exc)
            self._dead[broker_id] = text if text.startswith("broker ") else f"broker {broker_id} at {text}"
        return self._dead[broker_id]

    # -- listing ----------------------------------------------------------------------------

    def list_groups(self) -> GroupListing:
        """ListGroups on every broker: each knows the groups it coordinates."""
        listing = GroupListing()
        for broker_id in sorted(self.brokers):
            try:
                conn = self._conn(broker_id)
                version, response = conn.call(LIST_GROUPS, 0, 4, {"states_filter": [], "types_filter": []})
            except WireError as exc:
                listing.failed[broker_id] = self._drop(broker_id, exc)
                continue
            if error_code(response.error_code):
                listing.failed[broker_id] = f"broker {broker_id}: {error_name(response.error_code)}"
                continue
            for g in response.groups:
                state = str(g.group_state) if version >= 4 and g.group_state else None
                listing.groups[str(g.group_id)] = ListedGroup(str(g.group_id), str(g.protocol_type), state)
        return listing

    # -- coordinators -----------------------------------------------------------------------

    def find_coordinators(self, group_ids: Iterable[str]) -> dict[str, int | str]:
        """group -> coordinator broker id, or the reason it has none right now."""
        ids = list(dict.fromkeys(group_ids))
        if not ids:
            return {}
        last_error = "no broker in the metadata"
        for broker_id in sorted(self.brokers, key=lambda b: (b in self._dead, b)):
            try:
                return self._find_via(broker_id, ids)
            except WireError as exc:
                last_error = self._drop(broker_id, exc)
        return dict.fromkeys(ids, f"cannot look up the coordinator: {last_error}")

    def _find_via(self, broker_id: int, ids: list[str]) -> dict[str, int | str]:
        conn = self._conn(broker_id)
        out: dict[str, int | str] = {}
        if conn.version(FIND_COORDINATOR, 0, 4) >= 4:  # KIP-699: many keys in one request
            response = conn.exchange([(FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": ids})])[0]
            for c in response.coordinators:
                out[str(c.key)] = self._coordinator(int(c.node_id), str(c.host), int(c.port), c.error_code)
            return out
        version = conn.version(FIND_COORDINATOR, 0, 3)
        body = {"key_type": 0} if version >= 1 else {}
        responses = conn.exchange([(FIND_COORDINATOR, version, {**body, "key": gid}) for gid in ids])
        for gid, r in zip(ids, responses, strict=True):
            out[gid] = self._coordinator(int(r.node_id), str(r.host), int(r.port), r.error_code)
        return out

    def _coordinator(self, node_id: int, host: str, port: int, code: Any) -> int | str:
        if error_code(code):
            return error_name(code)
        # The answer names the coordinator's address too: trust it over metadata that may lag.
        self.brokers.setdefault(node_id, (host, port))
        return node_id

    # -- describe and offsets ---------------------------------------------------------------

    def read(
        self,
        group_ids: Iterable[str],
        describe: bool = True,
        offsets: bool = True,
        topics: dict[str, list[int]] | None = None,
    ) -> dict[str, GroupRead]:
        """Describe and/or fetch the committed offsets of ``group_ids`` (``topics``: only those)."""
        reads = {gid: GroupRead(gid) for gid in dict.fromkeys(group_ids)}
        todo = list(reads)
        for attempt in range(2):
            if not todo:
                break
            for read in (reads[g] for g in todo):
                read.errors.clear()
            coordinators = self.find_coordinators(todo)
            by_coordinator: dict[int, list[str]] = {}
            for gid in todo:
                found = coordinators.get(gid, "no answer for this group")
                if isinstance(found, str):
                    reads[gid].coordinator = None
                    reads[gid].errors.append(f"coordinator: {found}")
                    continue
                reads[gid].coordinator = found
                by_coordinator.setdefault(found, []).append(gid)
            for coordinator, gids in sorted(by_coordinator.items()):
                self._ask(coordinator, [reads[g] for g in gids], describe, offsets, topics)
            last = attempt == 1
            todo = [] if last else [g for g in todo if _retry(reads[g])]
        return reads

    def _ask(
        self,
        coordinator: int,
        reads: list[GroupRead],
        describe: bool,
        offsets: bool,
        topics: dict[str, list[int]] | None,
    ) -> None:
        try:
            conn = self._conn(coordinator)
            requests: list[tuple[int, int, dict[str, Any]]] = []
            kinds: list[str] = []
            if describe:
                version = conn.version(DESCRIBE_GROUPS, 0, 5)
                body = {"groups": [r.group_id for r in reads], "include_authorized_operations": False}
                requests.append((DESCRIBE_GROUPS, version, body))
                kinds.append("describe")
            if offsets:
                requested = (
                    None
                    if topics is None
                    else [{"name": t, "partition_indexes": ps} for t, ps in sorted(topics.items())]
                )
                version = conn.version(OFFSET_FETCH, 1, 8)
                if version >= 8:  # KIP-709: many groups in one request
                    groups = [{"group_id": r.group_id, "topics": requested} for r in reads]
                    requests.append((OFFSET_FETCH, version, {"groups": groups, "require_stable": False}))
                    kinds.append("offsets")
                else:
                    if requested is None and version < 2:  # "all partitions" needs v2+ (KIP-88)
                        raise WireError(
                            f"{conn.address} cannot list a group's offsets (OffsetFetch v{version})"
                        )
                    for r in reads:
                        body = {"group_id": r.group_id, "topics": requested, "require_stable": False}
                        requests.append((OFFSET_FETCH, version, body))
                        kinds.append(f"offsets:{r.group_id}")
            responses = conn.exchange(requests)
        except WireError as exc:
            reason = self._drop(coordinator, exc)
            for r in reads:
                r.errors.append(f"coordinator: {reason}")
            return
        by_id = {r.group_id: r for r in reads}
        for kind, response in zip(kinds, responses, strict=True):
            if kind == "describe":
                for g in response.groups:
                    _apply_description(by_id.get(str(g.group_id)), g)
            elif kind == "offsets":
                for g in response.groups:
                    _apply_offsets(by_id.get(str(g.group_id)), g.error_code, g.topics, coordinator)
            else:
                code = getattr(response, "error_code", 0)  # OffsetFetch v1 has partition errors only
                _apply_offsets(by_id.get(kind.split(":", 1)[1]), code, response.topics, coordinator)
        self._describe_consumer_groups(coordinator, [r for r in reads if r.maybe_consumer_group])

    def _describe_consumer_groups(self, coordinator: int, reads: list[GroupRead]) -> None:
        """A KIP-848 group is not a classic group: DescribeGroups calls it Dead (v5-) or not
        found (v6), so it is asked again with ConsumerGroupDescribe where the broker serves it."""
        if not reads:
            return
        try:
            conn = self._conn(coordinator)
            version = conn.version(CONSUMER_GROUP_DESCRIBE, 0, 1)
            body = {"group_ids": [r.group_id for r in reads], "include_authorized_operations": False}
            response = conn.exchange([(CONSUMER_GROUP_DESCRIBE, version, body)])[0]
        except WireError:
            return  # not served: the group stays as DescribeGroups described it
        by_id = {r.group_id: r for r in reads}
        for g in response.groups:
            read = by_id.get(str(g.group_id))
            if read is None or error_code(g.error_code):
                continue
            read.state = str(g.group_state)
            read.group_type = "consumer"
            read.protocol_type = "consumer"
            read.protocol = str(g.assignor_name)
            read.group_epoch, read.assignment_epoch = int(g.group_epoch), int(g.assignment_epoch)
            read.members = tuple(
                GroupMemberInfo(
                    member_id=str(m.member_id),
                    client_id=str(m.client_id),
                    host=str(m.client_host),
                    assignment=_partitions(m.assignment),
                    epoch=int(m.member_epoch),
                    target=_partitions(m.target_assignment),
                    upgraded=None if getattr(m, "member_type", -1) == -1 else int(m.member_type) == 1,
                )
                for m in g.members
            )


def _partitions(assignment: Any) -> tuple[TopicPartitionKey, ...]:
    return tuple(
        sorted((str(tp.topic_name), int(p)) for tp in assignment.topic_partitions for p in tp.partitions)
    )


def _retry(read: GroupRead) -> bool:
    """Whether another coordinator lookup may help: it moved, or the one we had did not answer."""
    return any(e.split(": ", 1)[-1] in _MOVED or e.startswith("coordinator:") for e in read.errors)


def _apply_description(read: GroupRead | None, g: Any) -> None:
    if read is None:
        return
    if error_code(g.error_code):
        name = error_name(g.error_code)
        if name == "GROUP_ID_NOT_FOUND":  # DescribeGroups v6: the group is gone, or not classic
            read.state, read.members = "Dead", ()
            read.maybe_consumer_group = True
            return
        read.errors.append(f"describe: {name}")
        return
    read.state = _STATE_SPELLING.get(str(g.group_state), str(g.group_state))
    read.maybe_consumer_group = read.state == "Dead"  # v5-: a KIP-848 group is described as Dead
    read.protocol_type = str(g.protocol_type)
    read.protocol = str(g.protocol_data)
    consumer = read.protocol_type in ("consumer", "")
    read.members = tuple(
        GroupMemberInfo(
            member_id=str(m.member_id),
            client_id=str(m.client_id),
            host=str(m.client_host),
            assignment=decode_assignment(m.member_assignment) if consumer else (),
        )
        for m in g.members
    )


def _apply_offsets(read: GroupRead | None, code: Any, topics: Any, coordinator: int) -> None:
    if read is None:
        return
    if error_code(code):
        read.errors.append(f"committed offsets: {error_name(code)}")
        return
    found: dict[TopicPartitionKey, int | None] = {}
    bad: list[str] = []
    for t in topics:
        for p in t.partitions:
            if error_code(p.error_code):
                bad.append(f"{t.name}-{p.partition_index} {error_name(p.error_code)}")
                continue
            offset = int(p.committed_offset)
            if offset >= 0:  # -1: nothing committed (asked for by name, or a cleared offset)
                found[(str(t.name), int(p.partition_index))] = offset
    if bad:
        read.errors.append("committed offsets: " + ", ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""))
    read.offsets = found
