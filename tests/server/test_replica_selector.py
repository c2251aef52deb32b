"""``replica.selector.class`` (KIP-392): unit tests of the rack-aware selector's rules, and the
broker refusing, with one line, a selector class it does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcli.server.base.config import BrokerConfig, ConfigError
from kcli.server.base.replica_selector import (
    RACK_AWARE,
    RackAwareReplicaSelector,
    ReplicaView,
    replica_selector,
)
from tests.broker_process import start_refused

LEADER = ReplicaView(0, "a", 100)


def pick(client_rack: str | None, *followers: ReplicaView, leader: ReplicaView = LEADER) -> int:
    return RackAwareReplicaSelector().select(client_rack, leader, [leader, *followers]).node_id


def test_without_a_client_rack_the_leader_serves() -> None:
    assert pick(None, ReplicaView(1, "b", 100)) == 0
    assert pick("", ReplicaView(1, "b", 100)) == 0


def test_a_follower_in_the_clients_rack_is_preferred() -> None:
    assert pick("b", ReplicaView(1, "b", 100), ReplicaView(2, "c", 100)) == 1
    assert pick("c", ReplicaView(1, "b", 100), ReplicaView(2, "c", 100)) == 2


def test_the_leader_wins_in_its_own_rack_and_when_no_replica_is_in_the_clients_rack() -> None:
    assert pick("a", ReplicaView(1, "a", 100)) == 0
    assert pick("z", ReplicaView(1, "b", 100)) == 0
    assert pick("b", ReplicaView(1, None, 100)) == 0  # a broker without broker.rack matches no rack


def test_among_same_rack_followers_the_most_caught_up_wins() -> None:
    assert pick("b", ReplicaView(1, "b", 90), ReplicaView(2, "b", 95)) == 2
    # Same log end offset: the one caught up most recently.
    assert pick("b", ReplicaView(1, "b", 95, 800), ReplicaView(2, "b", 95, 10)) == 2


def test_unset_means_no_selector_and_an_unknown_class_is_refused() -> None:
    assert replica_selector(None) is None
    assert isinstance(replica_selector(RACK_AWARE), RackAwareReplicaSelector)
    assert (
        BrokerConfig.from_properties({"replica.selector.class": RACK_AWARE}).replica_selector_class
        == RACK_AWARE
    )
    with pytest.raises(ConfigError, match=r"replica\.selector\.class"):
        BrokerConfig.from_properties({"replica.selector.class": "com.example.MySelector"})


def test_the_broker_refuses_to_start_with_a_selector_it_does_not_have(tmp_path: Path) -> None:
    (line,) = start_refused(tmp_path, "replica.selector.class=com.example.MySelector")
    assert "replica.selector.class" in line and "com.example.MySelector" in line
    assert not (tmp_path / "logs").exists()
