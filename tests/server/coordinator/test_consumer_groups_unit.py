"""Unit tests of the KIP-848 pure logic: Kafka's record bytes, the assignors, reconciliation, and the
coordinator's state machine over an in-memory ``__consumer_offsets`` (replayed by a second
coordinator, as after a restart)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kcli.server.base.consumer_group_config import (
    ASSIGNOR_NAMES,
    CLASS_NAMES,
    ConsumerGroupConfig,
    SettingError,
)
from kcli.server.coordinator.assignors import BUILTIN, MemberSpec, RangeAssignor, UniformAssignor
from kcli.server.coordinator.consumer_coordinator import ConsumerGroupCoordinator, HeartbeatRequest
from kcli.server.coordinator.consumer_group import Member
from kcli.server.coordinator.consumer_group_records import (
    CURRENT_ASSIGNMENT,
    GROUP_EPOCH,
    MEMBER_METADATA,
    ClassicMetadata,
    CurrentAssignment,
    MemberState,
    Record,
    Subscription,
    TopicMetadata,
    decode,
    encode,
)
from kcli.server.coordinator.group_coordinator import GroupCoordinator
from kcli.server.coordinator.group_requests import Settings
from kcli.server.coordinator.reconciliation import reconcile
from kcli.server.coordinator.store import MemoryStore
from kcli.server.coordinator.subscriptions import InvalidRegex, compile_regex

T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


# --- records -------------------------------------------------------------------------------------


def test_records_have_kafkas_bytes_and_round_trip() -> None:
    key, value = encode(Record(GROUP_EPOCH, "g", None, 5))
    assert key == b"\x00\x03\x00\x01g"  # key version 3, int16-length group id
    assert value == b"\x00\x00" + b"\x00\x00\x00\x05" + b"\x00"  # value version 0, epoch, no tagged fields
    records = [
        Record(
            MEMBER_METADATA,
            "g",
            "m",
            Subscription(
                "i", "r", "c", "/h", ("a", "b"), None, 300, "range", ClassicMetadata(10, (("range", b"x"),))
            ),
        ),
        Record(
            CURRENT_ASSIGNMENT,
            "g",
            "m",
            CurrentAssignment(
                3, 2, MemberState.UNREVOKED_PARTITIONS, {T1: frozenset({1})}, {T2: frozenset({0, 2})}
            ),
        ),
        Record(CURRENT_ASSIGNMENT, "g", "m", None),
    ]
    for record in records:
        assert decode(*encode(record)) == record
    assert decode(b"\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x00", b"") is None  # an offset commit key


# --- assignors -----------------------------------------------------------------------------------


def owned_by(target: dict[str, Any]) -> list[tuple[uuid.UUID, int]]:
    return sorted((t, p) for a in target.values() for t, ps in a.items() for p in ps)


def sizes(target: dict[str, Any]) -> list[int]:
    return sorted(sum(len(ps) for ps in a.values()) for a in target.values())


def test_uniform_is_balanced_complete_and_sticky() -> None:
    uniform = UniformAssignor()
    partitions = {T1: 6, T2: 5}
    both = frozenset({T1, T2})
    first = uniform.assign({m: MemberSpec(both) for m in "ab"}, partitions)
    assert sizes(first) == [5, 6] and len(owned_by(first)) == 11
    specs = {m: MemberSpec(both, None, first[m]) for m in "ab"}
    specs["c"] = MemberSpec(both)
    second = uniform.assign(specs, partitions)
    assert sizes(second) == [3, 4, 4] and len(set(owned_by(second))) == 11
    moved = sum(len(set(owned_by({m: first[m]})) - set(owned_by({m: second[m]}))) for m in "ab")
    assert moved == sum(len(ps) for ps in second["c"].values())  # only what the newcomer gets moves


def test_uniform_with_different_subscriptions_gives_only_subscribed_topics() -> None:
    uniform = UniformAssignor()
    target = uniform.assign(
        {
            "a": MemberSpec(frozenset({T1})),
            "b": MemberSpec(frozenset({T1, T2})),
            "c": MemberSpec(frozenset({T2})),
        },
        {T1: 4, T2: 4},
    )
    assert set(target["a"]) <= {T1} and set(target["c"]) <= {T2}
    assert len(owned_by(target)) == 8 and sizes(target) == [2, 3, 3]


def test_range_co_partitions_equal_topics() -> None:
    target = RangeAssignor().assign(
        {"m2": MemberSpec(frozenset({T1, T2})), "m1": MemberSpec(frozenset({T1, T2}))}, {T1: 3, T2: 3}
    )
    assert target["m1"] == {T1: frozenset({0, 1}), T2: frozenset({0, 1})}
    assert target["m2"] == {T1: frozenset({2}), T2: frozenset({2})}


# --- reconciliation ------------------------------------------------------------------------------


def test_a_partition_is_revoked_before_it_is_given_to_another_member() -> None:
    owner = Member("a", epoch=1, assigned={T1: frozenset({0, 1})})
    joiner = Member("b", epoch=0)
    epochs = {(T1, 0): 1, (T1, 1): 1}
    revoking = reconcile(owner, 2, {T1: frozenset({0})}, lambda t, p: epochs.get((t, p), -1), [(T1, [0, 1])])
    assert (revoking.state, revoking.epoch) == (MemberState.UNREVOKED_PARTITIONS, 1)
    assert revoking.assigned == {T1: frozenset({0})} and revoking.pending_revocation == {T1: frozenset({1})}
    waiting = reconcile(joiner, 2, {T1: frozenset({1})}, lambda t, p: epochs.get((t, p), -1), [])
    assert (waiting.state, waiting.epoch, waiting.assigned) == (MemberState.UNRELEASED_PARTITIONS, 2, {})
    assert (
        reconcile(revoking, 2, {T1: frozenset({0})}, lambda t, p: -1, [(T1, [0, 1])]) is revoking
    )  # still owns it
    done = reconcile(revoking, 2, {T1: frozenset({0})}, lambda t, p: -1, [(T1, [0])])
    assert (done.state, done.epoch) == (MemberState.STABLE, 2)
    given = reconcile(waiting, 2, {T1: frozenset({1})}, lambda t, p: -1, [])
    assert (given.state, given.assigned) == (MemberState.STABLE, {T1: frozenset({1})})


# --- settings ------------------------------------------------------------------------------------


def test_settings_are_checked_as_kafka_checks_them() -> None:
    config = ConsumerGroupConfig.from_settings(
        {"group.consumer.assignors": "org.apache.kafka.coordinator.group.assignor.RangeAssignor,uniform"}
    )
    assert config.assignors == ("range", "uniform") and config.session_timeout_ms == 45_000
    for bad in (
        {"group.consumer.heartbeat.interval.ms": "50000"},
        {"group.consumer.assignors": "sticky"},
        {"group.coordinator.rebalance.protocols": "consumer"},
        {"group.coordinator.rebalance.protocols": "classic,share"},
        {"group.consumer.migration.policy": "sideways"},
        {"group.consumer.max.size": "0"},
    ):
        with pytest.raises(SettingError):
            ConsumerGroupConfig.from_settings(bad)
    assert not ConsumerGroupConfig.from_settings(
        {"group.coordinator.rebalance.protocols": "classic"}
    ).consumer_protocol_enabled


def test_the_settings_name_exactly_the_built_in_assignors() -> None:
    """The start-up checks (below the coordinator) name the assignors the coordinator builds."""
    assert set(ASSIGNOR_NAMES) == set(BUILTIN) == set(CLASS_NAMES.values())


def test_regexes_are_re2() -> None:
    assert compile_regex("orders-.*").fullmatch("orders-eu") is not None
    assert compile_regex("orders-.*").fullmatch("my-orders-eu") is None  # a full match, as Kafka's
    with pytest.raises(InvalidRegex, match="not a valid regular expression"):
        compile_regex("(?<=x)y")  # a look-behind: Python's re has it, RE2 has not


# --- the coordinator over an in-memory __consumer_offsets ---------------------------------------


class Topics:
    def __init__(self) -> None:
        self.topics = {"t": TopicMetadata(T1, "t", 6)}

    def metadata(self, name: str) -> TopicMetadata | None:
        return self.topics.get(name)

    def name_of(self, topic_id: uuid.UUID) -> str | None:
        return next((t.name for t in self.topics.values() if t.topic_id == topic_id), None)

    def names(self) -> list[str]:
        return list(self.topics)

    def version(self) -> int:
        return len(self.topics)


def coordinator(store: MemoryStore, session_ms: int = 45_000) -> ConsumerGroupCoordinator:
    classic = GroupCoordinator(None, store, Settings(initial_rebalance_delay_ms=0))
    config = ConsumerGroupConfig(
        session_timeout_ms=session_ms, min_session_timeout_ms=1, heartbeat_interval_ms=1
    )
    return ConsumerGroupCoordinator(classic, config, Topics())


class Client:
    """A member that acknowledges its assignment at once."""

    def __init__(self, c: ConsumerGroupCoordinator, member_id: str):
        self.c, self.member_id, self.epoch, self.owned = c, member_id, 0, []

    async def beat(self) -> dict[str, Any]:
        req = HeartbeatRequest(
            "g",
            self.member_id,
            self.epoch,
            rebalance_timeout_ms=60_000 if self.epoch == 0 else -1,
            topic_names=("t",) if self.epoch == 0 else None,
            owned=[] if self.epoch == 0 else [(T1, list(self.owned))],
        )
        answer = await self.c.heartbeat(req)
        assert answer["error_code"] == 0, answer
        self.epoch = answer["member_epoch"]
        if answer["assignment"] is not None:
            self.owned = [p for tp in answer["assignment"]["topic_partitions"] for p in tp["partitions"]]
        return answer


def test_members_converge_and_a_restarted_coordinator_replays_the_group() -> None:
    async def main() -> None:
        store = MemoryStore()
        c = coordinator(store)
        clients = [Client(c, f"m{i}") for i in range(3)]
        for _ in range(4):
            for client in clients:
                await client.beat()
        group = c.groups["g"]
        assert group.state.value == "Stable" and group.group_epoch == 3 == group.assignment_epoch
        assert sorted(p for cl in clients for p in cl.owned) == list(range(6))
        assert sorted(len(cl.owned) for cl in clients) == [2, 2, 2]
        replayed = coordinator(store)
        again = replayed.groups["g"]
        assert (again.group_epoch, again.assignment_epoch, again.target, again.members) == (
            group.group_epoch,
            group.assignment_epoch,
            group.target,
            group.members,
        )
        assert again.partition_epochs == group.partition_epochs
        await c.close()
        await replayed.close()

    asyncio.run(main())


def test_a_silent_member_is_fenced_after_the_session_timeout() -> None:
    async def main() -> None:
        c = coordinator(MemoryStore(), session_ms=200)
        live, silent = Client(c, "live"), Client(c, "silent")
        await live.beat()
        await silent.beat()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while "silent" in c.groups["g"].members:
            assert loop.time() < deadline, "the silent member was never fenced"
            await live.beat()
            await asyncio.sleep(0.05)
        for _ in range(3):
            await live.beat()
        assert sorted(live.owned) == list(range(6))
        await c.close()

    asyncio.run(main())


def test_a_failed_append_leaves_the_group_as_it_was() -> None:
    from kio.schema.errors import ErrorCode

    async def main() -> None:
        store = MemoryStore()
        c = coordinator(store)
        first = Client(c, "a")
        await first.beat()
        before = c.groups["g"].snapshot()
        store.fail = ErrorCode.not_enough_replicas
        answer = await c.heartbeat(
            HeartbeatRequest("g", "b", 0, rebalance_timeout_ms=1000, topic_names=("t",), owned=[])
        )
        assert answer["error_code"] == ErrorCode.coordinator_not_available
        assert c.groups["g"].snapshot() == before
        await c.close()

    asyncio.run(main())
