"""The broker honours ``group.coordinator.rebalance.protocols`` and refuses consumer-group settings it
cannot honour, with one line and before touching the log directory."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

from tests.broker_process import BrokerProcess, start_refused
from tests.kafka_wire import Connection, code


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("group.coordinator.rebalance.protocols", "classic,share"),
        ("group.coordinator.rebalance.protocols", "consumer"),
        ("group.consumer.assignors", "sticky"),
        ("group.consumer.heartbeat.interval.ms", "60000"),
        ("group.consumer.migration.policy", "sideways"),
    ],
)
def test_broker_refuses_settings_it_cannot_honour(tmp_path: Path, key: str, value: str) -> None:
    (line,) = start_refused(tmp_path, f"{key}={value}")
    assert "group." in line
    assert not (tmp_path / "logs").exists()


def test_classic_only_broker_does_not_serve_the_consumer_protocol(tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path, {"group.coordinator.rebalance.protocols": "classic"}).start()
    try:
        with Connection(broker.bootstrap) as conn:
            served = {
                int(k.api_key)
                for k in conn.request(
                    18, 3, {"client_software_name": "t", "client_software_version": "1"}
                ).api_keys
            }
            assert 11 in served and 68 not in served and 69 not in served
            answer = conn.request(
                68,
                0,
                {
                    "group_id": f"g-{uuid.uuid4().hex[:6]}",
                    "member_id": "",
                    "member_epoch": 0,
                    "instance_id": None,
                    "rack_id": None,
                    "rebalance_timeout": 30000,
                    "subscribed_topic_names": ["t"],
                    "server_assignor": None,
                    "topic_partitions": [],
                },
            )
            assert code(answer.error_code) == ErrorCode.unsupported_version
    finally:
        broker.kill()
