"""Unit tests of the replication quota's arithmetic (Kafka's Rate over sampled windows), of the
throttle configs' parsing and validation (Kafka's ThrottledReplicaListValidator and the broker
rates' LONG >= 0), of each side's decision (the follower's fetcher, the leader's Fetch) on a
stand-in broker, and of the reassignment tool's throttle lists."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kcli.server.base.config import ConfigError
from kcli.server.base.replication_quota import (
    FOLLOWER_RATE,
    FOLLOWER_REPLICAS,
    LEADER_RATE,
    LEADER_REPLICAS,
    UNLIMITED,
    QuotaConfigError,
    ReplicationQuotaManager,
    ReplicationQuotas,
    follower_fetchable,
    leader_throttled,
    record_follower_fetch,
    record_leader_fetch,
    throttled_partitions,
    validate_rate,
    validate_throttled_replicas,
)
from kcli.tools.reassignment_throttles import move_map, throttle_configs

MB = 1_000_000


def test_the_rate_spans_at_least_samples_minus_one_windows() -> None:
    q = ReplicationQuotaManager(MB, samples=11, window_s=1.0, clock=lambda: 0.0)
    q.record(5 * MB, now=0.0)
    assert q.rate(now=0.0) == pytest.approx(0.5 * MB)  # 5 MB over the minimum 10 s
    assert not q.is_quota_exceeded(now=0.0)
    q.record(6 * MB, now=0.5)
    assert q.rate(now=0.5) == pytest.approx(11 * MB / 10.5)  # 0.5 s elapsed, plus 10 windows
    assert q.is_quota_exceeded(now=0.5)
    # 12 s later every sample is older than 11 windows: reset, nothing measured
    assert q.rate(now=12.5) == 0.0


def test_two_samples_of_one_second() -> None:
    q = ReplicationQuotaManager(999, samples=2, window_s=1.0)
    q.record(1000, now=0.0)
    assert q.rate(now=0.0) == pytest.approx(1000.0)  # at least one window
    assert q.is_quota_exceeded(now=0.0)
    assert q.rate(now=1.5) == pytest.approx(1000 / 1.5)  # one full window has passed
    assert not q.is_quota_exceeded(now=1.5)
    q.record(500, now=1.6)  # a second sample
    assert q.rate(now=1.6) == pytest.approx(1500 / 1.6)
    # the first sample expired (2 windows) and restarted now: 500 over 0.9 s plus one window
    assert q.rate(now=2.5) == pytest.approx(500 / 1.9)


def test_a_throttled_copy_is_bounded_by_the_rate_plus_the_initial_allowance() -> None:
    """A fetcher that takes 64 KB whenever the quota is not exceeded, for 20 s: what it takes is
    within the rate times the time, plus (samples - 1) windows' worth, plus one fetch."""
    for samples in (2, 11):
        q = ReplicationQuotaManager(MB, samples=samples, window_s=1.0)
        taken, chunk, now = 0, 64 * 1024, 0.0
        while now < 20.0:
            if not q.is_quota_exceeded(now=now):
                q.record(chunk, now=now)
                taken += chunk
            now += 0.005
        assert taken <= MB * (20 + samples - 1) + chunk
        assert taken >= MB * 20 * 0.9  # and it does not starve


def test_an_unlimited_quota_is_never_exceeded_and_a_new_bound_keeps_the_samples() -> None:
    q = ReplicationQuotaManager(samples=2, window_s=1.0)
    q.record(10 * MB, now=0.0)
    assert q.unlimited and not q.is_quota_exceeded(now=0.0)
    q.update_quota(MB)
    assert q.is_quota_exceeded(now=0.0)


def test_the_rates_follow_the_dynamic_broker_configs() -> None:
    quotas = ReplicationQuotas(samples=2, window_s=1.0)
    quotas.sync({LEADER_RATE: "100", FOLLOWER_RATE: "200"})
    assert (quotas.leader.bound, quotas.follower.bound) == (100, 200)
    quotas.sync({FOLLOWER_RATE: "300"})
    assert (quotas.leader.bound, quotas.follower.bound) == (float(UNLIMITED), 300)
    assert ReplicationQuotas.from_settings({"replication.quota.window.num": "3"}).leader.samples_count == 3
    with pytest.raises(
        ConfigError,
        match=r"^Invalid value 0 for configuration replication\.quota\.window\.num: Value must be at least 1$",
    ):
        ReplicationQuotas.from_settings({"replication.quota.window.num": "0"})
    with pytest.raises(
        ConfigError,
        match=r"^Invalid value 1s for configuration replication\.quota\.window\.size\.seconds: Not a number",
    ):
        ReplicationQuotas.from_settings({"replication.quota.window.size.seconds": "1s"})


def test_throttled_partitions_of_a_broker() -> None:
    assert throttled_partitions("0:1, 1:2,2:1", 1) == {0, 2}
    assert throttled_partitions("0:1,1:2", 3) == set()
    assert throttled_partitions(" * ", 5) is None
    assert throttled_partitions("", 1) == set()
    quotas = ReplicationQuotas()
    assert quotas.is_throttled("*", 7, 1) and quotas.is_throttled("7:1", 7, 1)
    assert not quotas.is_throttled("7:2", 7, 1) and not quotas.is_throttled(None, 7, 1)


def test_throttled_replicas_validated_as_kafka() -> None:
    for good in ("", "*", " * ", "0:1", "0:1, 1:2", "0:1,,1:2"):
        validate_throttled_replicas(LEADER_REPLICAS, good)
    for bad, shown in (
        ("foo", "[foo]"),
        ("0:1,*", "[0:1, *]"),
        ("0:1 , x:2", "[0:1, x:2]"),
        ("0-1", "[0-1]"),
    ):
        with pytest.raises(QuotaConfigError) as caught:
            validate_throttled_replicas(LEADER_REPLICAS, bad)
        assert str(caught.value) == (
            f"Invalid value {shown} for configuration leader.replication.throttled.replicas: "
            "leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the "
            "following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
        )


def test_rates_validated_as_kafka() -> None:
    validate_rate(LEADER_RATE, "0")
    validate_rate(LEADER_RATE, "1048576")
    with pytest.raises(
        QuotaConfigError,
        match=r"^Invalid value -5 for configuration leader\.replication\.throttled\.rate: Value must be at least 0$",
    ):
        validate_rate(LEADER_RATE, "-5")
    with pytest.raises(
        QuotaConfigError,
        match=r"^Invalid value 1MB for configuration follower\.replication\.throttled\.rate: Not a number of type LONG$",
    ):
        validate_rate(FOLLOWER_RATE, "1MB")


def test_the_tool_throttles_the_moving_replicas_as_kafka() -> None:
    """Sources throttle as leaders, new replicas as followers; a running reassignment's own
    sources are kept (Kafka's calculateProposedMoveMap / calculateLeaderThrottles)."""

    class Running:
        replicas = [0, 1, 2, 3]
        adding_replicas = [3]

    moves = move_map(
        {("t", 1): Running()},
        {("t", 0): [1, 2, 3], ("t", 1): [1, 2, 3], ("u", 0): [0, 1]},
        {("t", 0): [0, 1, 2], ("t", 1): [0, 1, 2, 3], ("u", 0): [1, 0]},
    )
    leaders, followers, brokers = throttle_configs(moves)
    assert leaders == {"t": "0:0,0:1,0:2,1:0,1:1,1:2", "u": "0:0,0:1"}
    assert followers == {"t": "0:3,1:3", "u": ""}
    assert brokers == [0, 1, 2, 3]


def fake_broker(
    node_id: int, rates: dict[str, str], topic_configs: dict[str, dict[str, str]]
) -> SimpleNamespace:
    """What the hooks read of a broker: its id, quotas, dynamic broker configs and topic configs."""
    return SimpleNamespace(
        node_id=node_id,
        replication_quotas=ReplicationQuotas(samples=2, window_s=1.0, clock=lambda: 100.0),
        catalog=SimpleNamespace(broker_configs=rates),
        topic=lambda name: SimpleNamespace(configs=topic_configs[name]) if name in topic_configs else None,
        topics_by_id={},
    )


def test_the_follower_holds_back_its_throttled_replicas_while_over_its_quota() -> None:
    broker = fake_broker(2, {FOLLOWER_RATE: "1000"}, {"t": {FOLLOWER_REPLICAS: "0:2,1:3"}, "u": {}})

    def state(topic: str, index: int) -> SimpleNamespace:
        return SimpleNamespace(
            partition=SimpleNamespace(topic=topic, index=index, log=SimpleNamespace(log_end_offset=0))
        )

    t0, t1, u0 = state("t", 0), state("t", 1), state("u", 0)
    assert follower_fetchable(broker, [t0, t1, u0]) == [t0, t1, u0]  # under the quota
    answers = [
        SimpleNamespace(partition_index=0, error_code=0, high_watermark=5000, records=b"x" * 2000),
        SimpleNamespace(partition_index=1, error_code=0, high_watermark=10, records=b"y" * 9000),
    ]
    record_follower_fetch(broker, SimpleNamespace(responses=[SimpleNamespace(topic="t", partitions=answers)]))
    assert broker.replication_quotas.follower.rate() == pytest.approx(2000)  # only t-0 is throttled on 2
    assert follower_fetchable(broker, [t0, t1, u0]) == [t1, u0]
    t0.partition.log.log_end_offset = 5000  # caught up with the leader's high watermark: in sync
    assert follower_fetchable(broker, [t0, t1, u0]) == [t0, t1, u0]
    t0.partition.log.log_end_offset = 0
    broker.catalog.broker_configs = {}  # the rate removed: unthrottled
    assert follower_fetchable(broker, [t0, t1, u0]) == [t0, t1, u0]


def test_the_leader_serves_no_data_to_throttled_replicas_out_of_the_isr_while_over_its_quota() -> None:
    broker = fake_broker(0, {LEADER_RATE: "1000"}, {"t": {LEADER_REPLICAS: "0:0,0:1"}})
    p0 = SimpleNamespace(topic="t", index=0, isr=[0, 1])
    p1 = SimpleNamespace(topic="t", index=1, isr=[0, 1])
    assert not leader_throttled(broker, p0, 2)  # under the quota
    response = [
        {
            "topic": "t",
            "partitions": [
                {"partition_index": 0, "records": b"x" * 2000},
                {"partition_index": 1, "records": b"y" * 9000},
            ],
        }
    ]
    record_leader_fetch(broker, response)
    assert broker.replication_quotas.leader.rate() == pytest.approx(2000)  # only t-0 is throttled on 0
    assert leader_throttled(broker, p0, 2)
    assert not leader_throttled(broker, p0, 1)  # an in-sync follower is never throttled
    assert not leader_throttled(broker, p1, 2)  # nor a replica the config does not name here
    broker.catalog.broker_configs = {LEADER_RATE: "5000"}
    assert not leader_throttled(broker, p0, 2)
