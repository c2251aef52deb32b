"""Option errors of the Avro console tools: one line naming the problem, then the usage, exit 1.

(``schema.registry.url`` defaults to http://localhost:8081 as in Confluent's scripts: see
tests/tools/test_first_hour.py.)"""

from __future__ import annotations

import pytest

from kcli.tools import avro_console_consumer, avro_console_producer


def test_consumer_reuses_console_consumer_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert avro_console_consumer.main(["--bootstrap-server", "127.0.0.1:1"]) == 1
    assert "Exactly one of --include/--topic is required" in capsys.readouterr().err


def test_producer_needs_a_value_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.broker_process import free_port

    argv = [
        "--broker-list",
        "127.0.0.1:1",
        "--topic",
        "t",
        "--property",
        f"schema.registry.url=http://127.0.0.1:{free_port()}",
    ]
    code = avro_console_producer.main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines()[0].startswith("Must provide the Avro schema: --property value.schema=")


def test_producer_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert avro_console_producer.main(["--help"]) == 0
    assert "kafka-avro-console-producer" in capsys.readouterr().out
