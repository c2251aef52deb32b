"""Unit tests of pure logic: the controller's KIP-455 reassignment rules (records replayed on
its image and its log), and rack-aware replica placement as Kafka's AdminUtils."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

from kcli.server.cluster.controller import Controller
from kcli.server.cluster.image import BrokerRegistration
from kcli.server.cluster.placement import assign_replicas, rack_alternated
from kcli.server.cluster.reassignment import Reassignment
from kcli.server.cluster.replication_control import ControllerError


def controller(tmp_path: Path, brokers: int = 4, racks: list[str] | None = None) -> Controller:
    c = Controller(tmp_path, "cluster-1")
    for i in range(brokers):
        c.register_broker(BrokerRegistration(i, "localhost", 9092 + i, racks[i] if racks else None))
    return c


def test_reassignment_adds_then_completes_when_the_new_replica_joins_the_isr(tmp_path: Path) -> None:
    c = controller(tmp_path)
    c.create_topic("t", 1, 3, {0: [0, 1, 2]}, {}, False, False)
    assert c.alter_reassignments([Reassignment("t", 0, [1, 2, 3])]) == [None]
    st = c.image.topics["t"].partitions[0]
    assert (st.replicas, st.adding, st.removing, st.leader) == ([1, 2, 3, 0], [3], [0], 0)
    assert [(t, p) for t, p, _ in c.list_reassignments(None)] == [("t", 0)]
    c.alter_partition("t", 0, 0, st.leader_epoch, st.partition_epoch, [0, 1, 2, 3])
    st = c.image.topics["t"].partitions[0]
    assert (st.replicas, st.isr, st.adding, st.removing) == ([1, 2, 3], [1, 2, 3], [], [])
    assert st.leader == 1  # the removed leader hands over to the first in-sync target replica
    assert c.list_reassignments(None) == []
    # The log holds the same: a restarted controller replays it to the same state.
    c.close()
    again = Controller(tmp_path, "cluster-1")
    st2 = again.image.topics["t"].partitions[0]
    assert (st2.replicas, st2.isr, st2.leader, st2.adding) == ([1, 2, 3], [1, 2, 3], 1, [])
    again.close()


def test_cancel_reverts_to_the_original_replicas(tmp_path: Path) -> None:
    c = controller(tmp_path)
    c.create_topic("t", 1, 3, {0: [0, 1, 2]}, {}, False, False)
    c.alter_reassignments([Reassignment("t", 0, [1, 2, 3])])
    (error,) = c.alter_reassignments([Reassignment("t", 0, None)])
    assert error is None
    st = c.image.topics["t"].partitions[0]
    # As Kafka's PartitionReassignmentRevert: the adding replicas leave, the order of the merged
    # list (target, then removing) stays - the original order is not remembered by the records.
    assert (st.replicas, st.isr, st.leader, st.adding, st.removing) == ([1, 2, 0], [0, 1, 2], 0, [], [])
    (error,) = c.alter_reassignments([Reassignment("t", 0, None)])
    assert error is not None and error.code == ErrorCode.no_reassignment_in_progress


def test_pure_removal_completes_at_once_and_bad_targets_are_refused(tmp_path: Path) -> None:
    c = controller(tmp_path)
    c.create_topic("t", 1, 3, {0: [0, 1, 2]}, {}, False, False)
    results = c.alter_reassignments(
        [
            Reassignment("t", 0, [2, 1]),
            Reassignment("t", 5, [1]),
            Reassignment("nope", 0, [1]),
            Reassignment("t", 0, [1, 1]),
            Reassignment("t", 0, [9]),
        ]
    )
    assert results[0] is None
    st = c.image.topics["t"].partitions[0]
    assert (st.replicas, st.isr, st.leader, st.reassigning) == ([2, 1], [1, 2], 2, False)  # target order
    assert [r.code for r in results[1:]] == [
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.invalid_replica_assignment,
        ErrorCode.invalid_replica_assignment,
    ]


def test_replication_factor_above_registered_brokers_uses_kraft_wording(tmp_path: Path) -> None:
    c = controller(tmp_path, brokers=1)
    with pytest.raises(ControllerError) as exc:
        c.create_topic("t", 1, 3, None, {}, False, False)
    assert exc.value.message == (
        "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be "
        "reached because only 1 broker(s) are registered."
    )


def test_rack_alternated_list_is_kafkas() -> None:
    # AdminUtilsTest's example: racks alternate, brokers in id order within a rack
    racks = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
    assert rack_alternated(racks) == [0, 3, 1, 5, 4, 2]


def test_rack_aware_placement_spreads_every_partition_over_all_racks() -> None:
    racks = {0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"}
    for seed in range(10):
        assignment = assign_replicas(list(racks), 12, 3, racks=racks, rng=random.Random(seed))
        for replicas in assignment:
            assert len(set(replicas)) == 3
            assert {racks[r] for r in replicas} == {"a", "b", "c"}
        leaders = [r[0] for r in assignment]
        assert sorted(leaders) == sorted(list(racks) * 2)


def test_rack_aware_placement_with_fixed_start_matches_adminutils() -> None:
    # AdminUtilsTest.testAssignmentWithRackAware: 6 brokers, 6 partitions, rf 3, start index 2
    racks = {0: "rack1", 1: "rack2", 2: "rack2", 3: "rack3", 4: "rack3", 5: "rack1"}
    assignment = assign_replicas(list(racks), 6, 3, racks=racks, start_index=2, shift=2)
    arranged = rack_alternated(racks)
    assert arranged == [0, 1, 3, 5, 2, 4]
    for replicas in assignment:
        assert len({racks[r] for r in replicas}) == 3
    assert [r[0] for r in assignment] == [arranged[(p + 2) % 6] for p in range(6)]


def test_controller_places_by_rack(tmp_path: Path) -> None:
    c = controller(tmp_path, brokers=4, racks=["a", "a", "b", "b"])
    topic = c.create_topic("t", 8, 2, None, {}, False, False)
    for st in topic.partitions:
        assert {["a", "a", "b", "b"][r] for r in st.replicas} == {"a", "b"}
