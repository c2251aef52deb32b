"""The group state machine on a real event loop with an in-memory ``__consumer_offsets``.

Timeouts are tens of milliseconds so that expiry paths run quickly; tests wait on observable
state (futures, group state) with deadlines, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group import GroupState
from kcli.server.coordinator.group_coordinator import GroupCoordinator
from kcli.server.coordinator.group_requests import CommitEntry, JoinRequest, Settings
from kcli.server.coordinator.schema import (
    GroupKey,
    OffsetKey,
    decode_group_value,
    decode_key,
    decode_offset_value,
)
from kcli.server.coordinator.store import MemoryStore

SETTINGS = Settings(
    initial_rebalance_delay_ms=0,
    min_session_timeout_ms=10,
    max_session_timeout_ms=60_000,
    offsets_retention_ms=60_000,
    offsets_retention_check_ms=600_000,
)


def coordinator(store: MemoryStore | None = None, **changes: int) -> GroupCoordinator:
    settings = Settings(**{**SETTINGS.__dict__, **changes})
    return GroupCoordinator(None, store or MemoryStore(), settings)


def join_req(
    group: str = "g",
    member_id: str = "",
    *,
    instance: str | None = None,
    protocols: list[tuple[str, bytes]] | None = None,
    session: int = 5000,
    rebalance: int = 5000,
    client_id: str = "client",
) -> JoinRequest:
    return JoinRequest(
        group_id=group,
        member_id=member_id,
        group_instance_id=instance,
        client_id=client_id,
        client_host="/127.0.0.1",
        session_timeout_ms=session,
        rebalance_timeout_ms=rebalance,
        protocol_type="consumer",
        protocols=protocols or [("range", b"meta")],
        require_known_member_id=True,
    )


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll observable state until true, failing after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.005)


async def join_new(coord: GroupCoordinator, **kw: Any) -> asyncio.Task[dict[str, Any]]:
    """First join gets MEMBER_ID_REQUIRED; the second (with that id) is started as a task."""
    first = await coord.join_group(join_req(**kw))
    assert first["error_code"] == E.MEMBER_ID_REQUIRED
    assert first["member_id"].startswith(kw.get("client_id", "client") + "-")
    return asyncio.create_task(coord.join_group(join_req(member_id=first["member_id"], **kw)))


async def stable_group_of(coord: GroupCoordinator, n: int, **kw: Any) -> list[dict[str, Any]]:
    """n members joined and synced; returns their join responses (leader first)."""
    tasks = [await join_new(coord, client_id=f"c{i}", **kw) for i in range(n)]
    joins = await asyncio.gather(*tasks)
    leader = next(j for j in joins if j["members"])
    assignments = [(m["member_id"], m["member_id"].encode()) for m in leader["members"]]
    syncs = await asyncio.gather(
        *(
            coord.sync_group(
                "g",
                j["generation_id"],
                j["member_id"],
                None,
                "consumer",
                j["protocol_name"],
                assignments if j is leader else [],
            )
            for j in joins
        )
    )
    for j, s in zip(joins, syncs, strict=True):
        assert s["error_code"] == E.NONE
        assert s["assignment"] == j["member_id"].encode()
    assert coord.groups["g"].state is GroupState.STABLE
    return sorted(joins, key=lambda j: not j["members"])


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def test_first_join_requires_member_id_then_single_member_becomes_stable() -> None:
    async def main() -> None:
        coord = coordinator()
        (leader,) = await stable_group_of(coord, 1)
        assert leader["generation_id"] == 1
        assert leader["leader"] == leader["member_id"]
        assert leader["protocol_name"] == "range"
        assert coord.heartbeat("g", 1, leader["member_id"], None) == E.NONE
        assert coord.heartbeat("g", 0, leader["member_id"], None) == E.ILLEGAL_GENERATION
        assert coord.heartbeat("g", 1, "nobody", None) == E.UNKNOWN_MEMBER_ID
        await coord.close()

    run(main)


def test_new_member_triggers_rebalance_and_heartbeat_says_rebalance_in_progress() -> None:
    async def main() -> None:
        coord = coordinator()
        (first,) = await stable_group_of(coord, 1)
        second = await join_new(coord, client_id="late")
        await wait_for(lambda: coord.groups["g"].state is GroupState.PREPARING_REBALANCE)
        assert coord.heartbeat("g", 1, first["member_id"], None) == E.REBALANCE_IN_PROGRESS
        assert not second.done()  # waits for the first member to rejoin
        again = await coord.join_group(join_req(member_id=first["member_id"]))
        late = await second
        assert again["generation_id"] == late["generation_id"] == 2
        assert again["leader"] == first["member_id"]
        assert {m["member_id"] for m in again["members"]} == {first["member_id"], late["member_id"]}
        assert late["members"] == []
        assert coord.groups["g"].state is GroupState.COMPLETING_REBALANCE
        await coord.close()

    run(main)


def test_sync_waits_for_the_leader_and_relays_its_assignment_untouched() -> None:
    async def main() -> None:
        coord = coordinator()
        a = await join_new(coord, client_id="a")
        b = await join_new(coord, client_id="b")
        ja, jb = await asyncio.gather(a, b)
        leader, follower = (ja, jb) if ja["members"] else (jb, ja)
        waiting = asyncio.create_task(
            coord.sync_group("g", follower["generation_id"], follower["member_id"], None, None, None, [])
        )
        await asyncio.sleep(0)
        assert not waiting.done()
        blob = b"\x00\x01opaque-bytes\xff"
        mine = await coord.sync_group(
            "g",
            leader["generation_id"],
            leader["member_id"],
            None,
            None,
            None,
            [(follower["member_id"], blob)],  # the leader's own entry is missing: it gets b""
        )
        assert mine["assignment"] == b""
        assert (await waiting)["assignment"] == blob
        await coord.close()

    run(main)


def test_protocol_is_chosen_by_member_votes_among_common_protocols() -> None:
    async def main() -> None:
        coord = coordinator()
        prefs = [
            [("roundrobin", b"1"), ("range", b"1")],
            [("range", b"2"), ("roundrobin", b"2")],
            [("range", b"3"), ("roundrobin", b"3"), ("cooperative-sticky", b"3")],
        ]
        tasks = [await join_new(coord, client_id=f"c{i}", protocols=p) for i, p in enumerate(prefs)]
        joins = await asyncio.gather(*tasks)
        assert {j["protocol_name"] for j in joins} == {"range"}
        leader = next(j for j in joins if j["members"])
        assert sorted(m["metadata"] for m in leader["members"]) == [b"1", b"2", b"3"]
        # A member with nothing in common is refused.
        refused = await coord.join_group(join_req(protocols=[("sticky", b"")]))
        assert refused["error_code"] == E.INCONSISTENT_GROUP_PROTOCOL
        await coord.close()

    run(main)


def test_leave_moves_partitions_and_last_leave_empties_the_group() -> None:
    async def main() -> None:
        coord = coordinator()
        leader, follower = await stable_group_of(coord, 2)
        top, results = coord.leave_group("g", [(follower["member_id"], None), ("ghost", None)])
        assert top == E.NONE
        assert [r[2] for r in results] == [E.NONE, E.UNKNOWN_MEMBER_ID]
        assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
        again = await coord.join_group(join_req(member_id=leader["member_id"]))
        # Both members joined generation 1 (the pending second member held the first join back).
        assert again["generation_id"] == 2 and len(again["members"]) == 1
        coord.leave_group("g", [(leader["member_id"], None)])
        assert coord.groups["g"].state is GroupState.EMPTY
        assert coord.groups["g"].generation == 3
        await coord.close()

    run(main)


def test_silent_member_expires_after_its_session_timeout() -> None:
    async def main() -> None:
        coord = coordinator()
        # 600 ms: long enough that a loaded CI machine never starves the alive member's beats.
        alive, silent = await stable_group_of(coord, 2, session=600)

        async def keep_alive() -> None:
            while True:
                coord.heartbeat("g", coord.groups["g"].generation, alive["member_id"], None)
                await asyncio.sleep(0.03)

        beating = asyncio.create_task(keep_alive())
        try:
            await wait_for(lambda: silent["member_id"] not in coord.groups["g"].members)
            assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
            rejoin = await coord.join_group(join_req(member_id=alive["member_id"], session=600))
            assert rejoin["error_code"] == E.NONE and len(rejoin["members"]) == 1
        finally:
            beating.cancel()
        await coord.close()

    run(main)


def test_members_that_do_not_rejoin_within_the_rebalance_timeout_are_removed() -> None:
    async def main() -> None:
        coord = coordinator()
        first, second = await stable_group_of(coord, 2, rebalance=200)
        started = asyncio.get_running_loop().time()
        rejoin = await coord.join_group(join_req(member_id=first["member_id"], rebalance=200))
        elapsed = asyncio.get_running_loop().time() - started
        assert rejoin["error_code"] == E.NONE
        assert [m["member_id"] for m in rejoin["members"]] == [first["member_id"]]
        assert 0.15 <= elapsed < 3
        assert coord.heartbeat("g", 2, second["member_id"], None) == E.UNKNOWN_MEMBER_ID
        await coord.close()

    run(main)


def test_initial_rebalance_delay_collects_members_into_one_generation() -> None:
    async def main() -> None:
        coord = coordinator(initial_rebalance_delay_ms=150)
        a = await join_new(coord, client_id="a", rebalance=2000)
        b = await join_new(coord, client_id="b", rebalance=2000)
        ja, jb = await asyncio.gather(a, b)
        assert ja["generation_id"] == jb["generation_id"] == 1
        await coord.close()

    run(main)


def test_static_member_restart_keeps_assignment_without_rebalance() -> None:
    async def main() -> None:
        coord = coordinator()
        first = await coord.join_group(join_req(instance="pod-1", client_id="x"))
        assert first["error_code"] == E.NONE  # static members skip MEMBER_ID_REQUIRED
        assert first["member_id"].startswith("pod-1-")
        await coord.sync_group("g", 1, first["member_id"], "pod-1", None, None, [(first["member_id"], b"A")])
        restarted = await coord.join_group(join_req(instance="pod-1", client_id="x"))
        assert restarted["error_code"] == E.NONE
        assert restarted["generation_id"] == 1
        assert restarted["member_id"] != first["member_id"]
        assert restarted["skip_assignment"] is True
        assert coord.groups["g"].state is GroupState.STABLE
        sync = await coord.sync_group("g", 1, restarted["member_id"], "pod-1", None, None, [])
        assert sync["assignment"] == b"A"
        # The old incarnation is fenced.
        assert coord.heartbeat("g", 1, first["member_id"], "pod-1") == E.FENCED_INSTANCE_ID
        await coord.close()

    run(main)


async def two_static_members(coord: GroupCoordinator) -> tuple[str, str]:
    """pod-0 (the leader) and pod-1 in one Stable generation; returns their member ids."""
    t0 = asyncio.ensure_future(coord.join_group(join_req(instance="pod-0")))
    t1 = asyncio.ensure_future(coord.join_group(join_req(instance="pod-1")))
    j0, j1 = await t0, await t1
    assert j0["generation_id"] == j1["generation_id"]
    leader = j0["leader"]
    s0 = asyncio.ensure_future(
        coord.sync_group(
            "g",
            j0["generation_id"],
            j0["member_id"],
            "pod-0",
            None,
            None,
            [(j0["member_id"], b"A"), (j1["member_id"], b"B")],
        )
    )
    s1 = asyncio.ensure_future(
        coord.sync_group(
            "g",
            j1["generation_id"],
            j1["member_id"],
            "pod-1",
            None,
            None,
            [(j0["member_id"], b"A"), (j1["member_id"], b"B")],
        )
    )
    await s0, await s1
    assert coord.groups["g"].state is GroupState.STABLE and leader == j0["member_id"]
    return j0["member_id"], j1["member_id"]


def test_restarted_static_leader_is_not_told_to_assign_before_join_v9() -> None:
    """Kafka answers a pre-v9 rejoin with the previous leader id and no members (no assignor run)."""

    async def main() -> None:
        coord = coordinator(initial_rebalance_delay_ms=20)  # both first joins in one generation
        old0, _ = await two_static_members(coord)
        req = dataclasses.replace(join_req(instance="pod-0"), supports_skip_assignment=False)
        again = await coord.join_group(req)
        assert again["error_code"] == E.NONE and again["generation_id"] == 1
        assert again["leader"] == old0 != again["member_id"]
        assert again["members"] == [] and again["skip_assignment"] is False
        assert coord.groups["g"].leader_id == again["member_id"]  # the coordinator moved leadership
        sync = await coord.sync_group("g", 1, again["member_id"], "pod-0", None, None, [])
        assert sync["error_code"] == E.NONE and sync["assignment"] == b"A"
        assert coord.groups["g"].state is GroupState.STABLE
        await coord.close()

    run(main)


def test_static_rejoin_with_new_metadata_but_same_protocol_does_not_rebalance() -> None:
    """Only a change of the group's selected protocol rebalances a Stable group (as Kafka)."""

    async def main() -> None:
        coord = coordinator(initial_rebalance_delay_ms=20)  # both first joins in one generation
        await two_static_members(coord)
        again = await coord.join_group(join_req(instance="pod-1", protocols=[("range", b"owned-partitions")]))
        assert again["error_code"] == E.NONE and again["generation_id"] == 1
        group = coord.groups["g"]
        assert group.state is GroupState.STABLE
        assert group.members[again["member_id"]].protocols == [("range", b"owned-partitions")]
        await coord.close()

    run(main)


def test_static_rejoin_while_completing_rebalance_starts_another_rebalance() -> None:
    """The leader may be assigning to the old member id: Kafka rebalances again."""

    async def main() -> None:
        coord = coordinator(initial_rebalance_delay_ms=20)  # both first joins in one generation
        t0 = asyncio.ensure_future(coord.join_group(join_req(instance="pod-0")))
        t1 = asyncio.ensure_future(coord.join_group(join_req(instance="pod-1")))
        j0, j1 = await t0, await t1
        assert coord.groups["g"].state is GroupState.COMPLETING_REBALANCE
        pending = asyncio.ensure_future(coord.sync_group("g", 1, j1["member_id"], "pod-1", None, None, []))
        again = asyncio.ensure_future(coord.join_group(join_req(instance="pod-1")))
        assert (await pending)["error_code"] == E.FENCED_INSTANCE_ID
        assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
        rejoin0 = asyncio.ensure_future(
            coord.join_group(join_req(member_id=j0["member_id"], instance="pod-0"))
        )
        assert (await again)["generation_id"] == (await rejoin0)["generation_id"] == 2
        await coord.close()

    run(main)


def test_commit_validation_follows_kafka() -> None:
    async def main() -> None:
        coord = coordinator()
        exists = lambda topic, partition: topic == "t"  # noqa: E731

        async def commit(gen: int, member: str, group: str = "g", topic: str = "t") -> int:
            found = await coord.commit_offsets(group, gen, member, None, [CommitEntry(topic, 0, 5)], exists)
            return found[(topic, 0)]

        assert await commit(-1, "", group="simple") == E.NONE  # assign() consumer, no group yet
        assert await commit(-1, "", group="simple", topic="nope") == E.UNKNOWN_TOPIC_OR_PARTITION
        assert await commit(3, "m", group="unknown") == E.ILLEGAL_GENERATION
        a = await join_new(coord, client_id="a")
        b = await join_new(coord, client_id="b")
        ja, _ = await asyncio.gather(a, b)
        assert coord.groups["g"].state is GroupState.COMPLETING_REBALANCE
        assert await commit(ja["generation_id"], ja["member_id"]) == E.REBALANCE_IN_PROGRESS
        assert await commit(-1, "") == E.UNKNOWN_MEMBER_ID
        assert await commit(ja["generation_id"], "stranger") == E.UNKNOWN_MEMBER_ID
        assert await commit(ja["generation_id"] - 1, ja["member_id"]) == E.ILLEGAL_GENERATION
        await coord.close()

    run(main)


def test_offsets_and_groups_are_written_in_kafka_format_and_reloaded() -> None:
    async def main() -> None:
        store = MemoryStore(partitions=50)
        coord = coordinator(store)
        (leader,) = await stable_group_of(coord, 1)
        errors = await coord.commit_offsets(
            "g",
            1,
            leader["member_id"],
            None,
            [CommitEntry("t", 0, 42, 3, "meta"), CommitEntry("t", 1, 7)],
            lambda t, p: True,
        )
        assert set(errors.values()) == {E.NONE}
        records = store.logs[48 if False else coord.partition_for("g")]
        keys = [decode_key(k) for k, _ in records]
        assert GroupKey("g") in keys and OffsetKey("g", "t", 0) in keys
        value = decode_offset_value(dict(records)[records[-2][0]])
        assert (value.offset, value.leader_epoch, value.metadata) == (42, 3, "meta")
        group_value = decode_group_value(next(v for k, v in records if decode_key(k) == GroupKey("g")))
        assert (
            group_value.protocol == "range"
            and group_value.members[0].assignment == leader["member_id"].encode()
        )
        await coord.close()

        reloaded = coordinator(store)
        status, found = reloaded.fetch_offsets("g", None)
        assert status == E.NONE
        assert [(t, [(p, v.offset) for p, v in parts]) for t, parts in found] == [("t", [(0, 42), (1, 7)])]
        assert reloaded.groups["g"].state is GroupState.STABLE
        assert reloaded.heartbeat("g", 1, leader["member_id"], None) == E.NONE
        await reloaded.close()

    run(main)


def test_delete_group_writes_tombstones_and_refuses_active_groups() -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store)
        await coord.commit_offsets("idle", -1, "", None, [CommitEntry("t", 0, 1)], lambda t, p: True)
        await stable_group_of(coord, 1)
        assert await coord.delete_groups(["idle", "g", "missing"]) == {
            "idle": E.NONE,
            "g": E.NON_EMPTY_GROUP,
            "missing": E.GROUP_ID_NOT_FOUND,
        }
        tail = store.logs[coord.partition_for("idle")][-2:]
        assert [v for _, v in tail] == [None, None]
        assert coordinator(store).fetch_offsets("idle", [("t", [0])])[1] == [("t", [(0, None)])]
        await coord.close()

    run(main)


def test_offset_delete_refuses_subscribed_topics_of_active_consumer_groups() -> None:
    async def main() -> None:
        coord = coordinator()
        subscription = b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x01t"  # v0: topics ["t"]
        (leader,) = await stable_group_of(coord, 1, protocols=[("range", subscription)])
        await coord.commit_offsets(
            "g",
            1,
            leader["member_id"],
            None,
            [CommitEntry("t", 0, 1), CommitEntry("u", 0, 1)],
            lambda t, p: True,
        )
        top, results = await coord.delete_offsets("g", [("t", [0]), ("u", [0])])
        assert top == E.NONE
        assert results == {("t", 0): E.GROUP_SUBSCRIBED_TO_TOPIC, ("u", 0): E.NONE}
        assert ("u", 0) not in coord.groups["g"].offsets
        assert (await coord.delete_offsets("missing", [("t", [0])]))[0] == E.GROUP_ID_NOT_FOUND
        await coord.close()

    run(main)


def test_list_and_describe_report_state_members_and_filters() -> None:
    async def main() -> None:
        coord = coordinator()
        (leader,) = await stable_group_of(coord, 1)
        await coord.commit_offsets("simple", -1, "", None, [CommitEntry("t", 0, 1)], lambda t, p: True)
        listed = {g["group_id"]: g for g in coord.list_groups()}
        assert listed["g"]["group_state"] == "Stable" and listed["g"]["protocol_type"] == "consumer"
        assert listed["simple"]["group_state"] == "Empty" and listed["simple"]["protocol_type"] == ""
        assert [g["group_id"] for g in coord.list_groups(["STABLE"])] == ["g"]
        assert coord.list_groups(types=["consumer"]) == []
        described = coord.describe_group("g")
        assert described is not None
        assert described["protocol_data"] == "range"
        (member,) = described["members"]
        assert member["client_host"] == "/127.0.0.1" and member["client_id"] == "c0"
        assert member["member_assignment"] == leader["member_id"].encode()
        assert coord.describe_group("missing") is None
        await coord.close()

    run(main)


def test_offsets_of_empty_groups_expire_with_tombstones() -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store, offsets_retention_ms=1000)
        await coord.commit_offsets("simple", -1, "", None, [CommitEntry("t", 0, 1)], lambda t, p: True)
        commit_ts = coord.groups["simple"].offsets[("t", 0)].commit_timestamp
        assert coord.expire_offsets(commit_ts + 500) == 0
        assert coord.expire_offsets(commit_ts + 1000) == 1
        assert "simple" not in coord.groups
        assert store.logs[coord.partition_for("simple")][-2][1] is None
        await coord.close()

    run(main)


def test_invalid_session_timeout_and_unknown_member_on_missing_group() -> None:
    async def main() -> None:
        coord = coordinator(min_session_timeout_ms=1000)
        assert (await coord.join_group(join_req(session=10)))["error_code"] == E.INVALID_SESSION_TIMEOUT
        assert (await coord.join_group(join_req(member_id="x")))["error_code"] == E.UNKNOWN_MEMBER_ID
        assert (await coord.join_group(join_req(group="")))["error_code"] == E.INVALID_GROUP_ID
        await coord.close()

    run(main)


@pytest.mark.parametrize(("group", "expected"), [("test", 48), ("", 0), ("console-consumer-12345", None)])
def test_partition_for_matches_java_string_hash(group: str, expected: int | None) -> None:
    from kcli.server.coordinator.schema import java_string_hash, partition_for

    if expected is None:
        h = 0
        for ch in group:
            h = (31 * h + ord(ch)) & 0xFFFFFFFF
        h = h - (1 << 32) if h >= 1 << 31 else h
        expected = abs(h) % 50
    assert partition_for(group, 50) == expected
    assert java_string_hash("hello") == 99162322
