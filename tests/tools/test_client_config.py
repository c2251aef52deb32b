"""Java client settings -> librdkafka settings (one table), and config errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcli import client
from kcli.tools.cli import ToolError


def test_properties_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / "client.properties"
    path.write_text(
        "# a comment\n"
        "! another comment\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism : PLAIN\n"
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n"
        '    username="alice" password="s3cr\\=t";\n'
        "client.id   console\\u0041\n"
    )
    conf = client.client_config("localhost:9092", str(path), [], "admin")
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanisms"] == "PLAIN"
    assert conf["sasl.username"] == "alice"
    assert conf["sasl.password"] == "s3cr=t"
    assert conf["client.id"] == "consoleA"
    assert conf["bootstrap.servers"] == "localhost:9092"
    assert "sasl.jaas.config" not in conf


def test_properties_override_file_and_bootstrap_overrides_both(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_text("linger.ms=5\nbootstrap.servers=file:1\n")
    conf = client.client_config("cli:2", str(path), ["linger.ms=7", "acks=-1"], "producer")
    assert conf["linger.ms"] == "7"
    assert conf["acks"] == "all"
    assert conf["bootstrap.servers"] == "cli:2"


def test_java_only_keys_are_consumed_not_passed() -> None:
    settings = client.client_settings(
        "h:1",
        None,
        ["key.deserializer=org.apache.kafka.common.serialization.LongDeserializer", "buffer.memory=1024"],
        "consumer",
    )
    assert "key.deserializer" not in settings.conf
    assert settings.java_only["key.deserializer"].endswith("LongDeserializer")
    assert settings.java_only["buffer.memory"] == "1024"


def test_renamed_keys() -> None:
    conf = client.client_config(
        "h:1", None, ["send.buffer.bytes=1000", "fetch.max.wait.ms=100", "max.request.size=2000"], "consumer"
    )
    assert conf["socket.send.buffer.bytes"] == "1000"
    assert conf["fetch.wait.max.ms"] == "100"
    assert conf["message.max.bytes"] == "2000"


def test_unknown_key_is_an_error_naming_it() -> None:
    conf = client.client_config("127.0.0.1:1", None, ["no.such.setting=1"], "producer")
    with pytest.raises(ToolError, match=r"Unknown configuration property 'no\.such\.setting'"):
        client.build("producer", conf)


def test_missing_file_and_bad_property() -> None:
    with pytest.raises(ToolError, match=r"/nonexistent/x.properties \(No such file or directory\)"):
        client.client_config("h:1", "/nonexistent/x.properties", [], "admin")
    with pytest.raises(ToolError, match="Invalid producer property '=x'"):
        client.client_config("h:1", None, ["=x"], "producer")


def test_jks_stores_are_rejected_with_advice() -> None:
    with pytest.raises(ToolError, match=r"ssl\.truststore\.type=JKS"):
        client.client_config("h:1", None, ["ssl.truststore.type=JKS"], "admin")


def test_split_bootstrap() -> None:
    assert client.split_bootstrap("a:1, PLAINTEXT://b:2,[::1]:3") == [("a", 1), ("b", 2), ("::1", 3)]
    with pytest.raises(ToolError, match=r"Invalid url in bootstrap\.servers: a:x"):
        client.split_bootstrap("a:x")


def test_wait_for_broker_names_the_address_when_time_is_up() -> None:
    from tests.broker_process import free_port

    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ToolError, match=f"Could not connect to any Kafka broker at {address}"):
        client.wait_for_broker(address, timeout_s=0.5)


def test_value_translations() -> None:
    conf = client.client_config(
        "h:1",
        None,
        [
            "partition.assignment.strategy=org.apache.kafka.clients.consumer.RoundRobinAssignor,"
            "org.apache.kafka.clients.consumer.RangeAssignor",
            "auto.offset.reset=none",
            "max.poll.records=10",
        ],
        "consumer",
    )
    assert conf["partition.assignment.strategy"] == "roundrobin,range"
    assert conf["auto.offset.reset"] == "error"
    assert "max.poll.records" not in conf
    from confluent_kafka import Consumer

    Consumer({**conf, "group.id": "g"}).close()  # librdkafka accepts every translated setting
