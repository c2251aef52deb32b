"""Unit tests: the group coordinator answers only once its ``__consumer_offsets`` write is
acknowledged (issue 12), with Kafka's mapping of append errors, on a real event loop with an
in-memory store whose acknowledgements the test holds and releases."""

from __future__ import annotations

import asyncio

import pytest
from kio.schema.errors import ErrorCode

from kcli.server.coordinator import errors as E
from kcli.server.coordinator.group import GroupState
from kcli.server.coordinator.group_requests import CommitEntry
from kcli.server.coordinator.store import MemoryStore
from tests.server.coordinator.test_group_coordinator import coordinator, join_new, run, wait_for


def everything(_topic: str, _partition: int) -> bool:
    return True


@pytest.mark.parametrize(
    ("append_error", "answer"),
    [
        (ErrorCode.not_enough_replicas, E.COORDINATOR_NOT_AVAILABLE),
        (ErrorCode.not_enough_replicas_after_append, E.COORDINATOR_NOT_AVAILABLE),
        (ErrorCode.request_timed_out, E.COORDINATOR_NOT_AVAILABLE),
        (ErrorCode.not_leader_or_follower, E.NOT_COORDINATOR),
        (ErrorCode.message_too_large, E.INVALID_COMMIT_OFFSET_SIZE),
    ],
)
def test_a_commit_is_answered_after_its_acknowledgement_and_not_cached_when_it_fails(
    append_error: ErrorCode, answer: ErrorCode
) -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store)
        assert (await coord.commit_offsets("g", -1, "", None, [CommitEntry("t", 0, 5)], everything)) == {
            ("t", 0): E.NONE
        }
        store.hold = True
        commit = asyncio.create_task(
            coord.commit_offsets("g", -1, "", None, [CommitEntry("t", 0, 15)], everything)
        )
        await wait_for(lambda: len(store.pending) == 1)
        assert not commit.done()  # written, not yet acknowledged: no answer
        assert coord.fetch_offsets("g", [("t", [0])])[1][0][1][0][1].offset == 5  # type: ignore[union-attr]
        store.release(append_error)
        assert await commit == {("t", 0): answer}
        assert coord.groups["g"].offsets[("t", 0)].offset == 5
        await coord.close()

    run(main)


def test_a_late_acknowledgement_never_replaces_a_later_commit() -> None:
    async def main() -> None:
        store = MemoryStore()
        store.hold = True
        coord = coordinator(store)
        first = asyncio.create_task(
            coord.commit_offsets("g", -1, "", None, [CommitEntry("t", 0, 1)], everything)
        )
        await wait_for(lambda: len(store.pending) == 1)
        second = asyncio.create_task(
            coord.commit_offsets("g", -1, "", None, [CommitEntry("t", 0, 2)], everything)
        )
        await wait_for(lambda: len(store.pending) == 2)
        store.pending[1].set_result(None)  # the later append is acknowledged first
        await second
        store.pending[0].set_result(None)
        await first
        assert coord.groups["g"].offsets[("t", 0)].offset == 2
        await coord.close()

    run(main)


def test_sync_group_takes_the_assignment_only_once_the_group_record_is_acknowledged() -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store)
        joined = await (await join_new(coord, client_id="c0"))
        store.hold = True
        sync = asyncio.create_task(
            coord.sync_group(
                "g",
                joined["generation_id"],
                joined["member_id"],
                None,
                "consumer",
                "range",
                [(joined["member_id"], b"A")],
            )
        )
        await wait_for(lambda: len(store.pending) == 1)
        assert not sync.done() and coord.groups["g"].state is GroupState.COMPLETING_REBALANCE
        store.release()
        answer = await sync
        assert (answer["error_code"], answer["assignment"]) == (E.NONE, b"A")
        assert coord.groups["g"].state is GroupState.STABLE
        await coord.close()

    run(main)


def test_sync_group_fails_and_rebalances_when_the_group_record_is_not_acknowledged() -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store)
        joined = await (await join_new(coord, client_id="c0"))
        store.hold = True
        sync = asyncio.create_task(
            coord.sync_group(
                "g",
                joined["generation_id"],
                joined["member_id"],
                None,
                "consumer",
                "range",
                [(joined["member_id"], b"A")],
            )
        )
        await wait_for(lambda: len(store.pending) == 1)
        store.release(ErrorCode.not_enough_replicas)
        answer = await sync
        assert answer["error_code"] == E.COORDINATOR_NOT_AVAILABLE
        assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
        assert coord.groups["g"].members[joined["member_id"]].assignment == b""
        await coord.close()

    run(main)


def test_delete_groups_answers_the_append_error() -> None:
    async def main() -> None:
        store = MemoryStore()
        coord = coordinator(store)
        await coord.commit_offsets("idle", -1, "", None, [CommitEntry("t", 0, 1)], everything)
        store.fail = ErrorCode.not_leader_or_follower
        assert await coord.delete_groups(["idle"]) == {"idle": E.NOT_COORDINATOR}
        await coord.close()

    run(main)


def test_offsets_commit_required_acks_other_than_minus_one_zero_or_one_refuses_to_start() -> None:
    from kcli.server.base.config import BrokerConfig, ConfigError

    assert BrokerConfig.from_properties({}).offsets_commit_required_acks == -1
    assert (
        BrokerConfig.from_properties({"offsets.commit.required.acks": "1"}).offsets_commit_required_acks == 1
    )
    with pytest.raises(ConfigError, match=r"offsets\.commit\.required\.acks"):
        BrokerConfig.from_properties({"offsets.commit.required.acks": "2"})
