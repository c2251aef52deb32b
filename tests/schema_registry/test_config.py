"""schema-registry.properties: Confluent's keys mapped to the registry's settings."""

from __future__ import annotations

from pathlib import Path

from kcli.properties import load_properties
from kcli.schema_registry.config import from_properties

TEMPLATE = Path(__file__).resolve().parents[2] / "kcli" / "schema_registry" / "schema-registry.properties"


def test_shipped_template() -> None:
    cfg = from_properties(load_properties(TEMPLATE))
    assert (cfg.host, cfg.port) == ("0.0.0.0", 8081)
    assert cfg.bootstrap == "localhost:9092"
    assert cfg.topic == "_schemas"
    assert (cfg.timeout_s, cfg.write_timeout_s) == (60.0, 10.0)
    assert cfg.compatibility is None


def test_confluent_style_settings() -> None:
    cfg = from_properties(
        {
            "listeners": "http://127.0.0.1:18081,https://0.0.0.0:8443",
            "kafkastore.bootstrap.servers": "PLAINTEXT://a:9092,SASL_SSL://b:9093",
            "kafkastore.topic": "_schemas2",
            "kafkastore.topic.replication.factor": "1",
            "schema.compatibility.level": "full",
            "kafkastore.security.protocol": "SASL_SSL",
            "kafkastore.connection.url": "localhost:2181",  # ZooKeeper, ignored
        }
    )
    assert (cfg.host, cfg.port, cfg.bootstrap, cfg.topic) == (
        "127.0.0.1",
        18081,
        "a:9092,b:9093",
        "_schemas2",
    )
    assert cfg.replication_factor == 1 and cfg.compatibility == "full"
    assert cfg.kafka == {"security.protocol": "SASL_SSL"}


def test_defaults_and_legacy_port() -> None:
    assert (from_properties({}).port, from_properties({}).bootstrap) == (8081, "localhost:9092")
    assert from_properties({"port": "9999"}).port == 9999
