"""``kcli env``'s ``$CONFLUENT_HOME`` holds Kafka's client, Connect and KRaft node files (unit test)."""

from __future__ import annotations

from pathlib import Path

from kcli.connect.worker_config import load
from kcli.home import layout
from kcli.properties import load_properties


def test_layout_writes_the_quickstart_files(tmp_path: Path) -> None:
    home = layout(tmp_path / "confluent")
    for base in ("config", "etc/kafka"):
        assert load_properties(home / base / "producer.properties")["bootstrap.servers"] == "localhost:9092"
        assert load_properties(home / base / "consumer.properties")["group.id"] == "test-consumer-group"
        assert load_properties(home / base / "connect-file-source.properties") == {
            "name": "local-file-source",
            "connector.class": "FileStreamSource",
            "tasks.max": "1",
            "file": "test.txt",
            "topic": "connect-test",
        }
        assert load_properties(home / base / "connect-file-sink.properties")["topics"] == "connect-test"
        standalone = load(load_properties(home / base / "connect-standalone.properties"), distributed=False)
        assert standalone.rest_port == 8083 and standalone.offset_flush_interval_ms == 10000
        distributed = load_properties(home / base / "connect-distributed.properties")
        assert load(distributed, distributed=True).props["group.id"] == "connect-cluster"
        assert (home / base / "connect-log4j.properties").exists()
        broker = load_properties(home / base / "kraft/broker.properties")
        controller = load_properties(home / base / "kraft/controller.properties")
        assert (broker["process.roles"], broker["node.id"]) == ("broker", "2")
        assert (controller["process.roles"], controller["node.id"]) == ("controller", "1")
    assert (
        load_properties(home / "config/broker.properties")["controller.quorum.bootstrap.servers"]
        == "localhost:9093"
    )
    assert (
        load_properties(home / "etc/kafka/kraft/broker.properties")["controller.quorum.voters"]
        == "1@localhost:9093"
    )
    for name in ("connect-standalone", "connect-distributed", "kafka-run-class"):
        assert (home / "bin" / name).exists() and (home / "bin" / f"{name}.sh").exists()
