"""Unit tests of ``kafka-run-class``'s class table and of the demos' Java-compatible helpers."""

from __future__ import annotations

import importlib
import re

import pytest

from kcli.streams.app import StreamsConfigError, java_split, streams_properties
from kcli.tools import run_class


@pytest.mark.parametrize("module", sorted(set(run_class.CLASSES.values())))
def test_every_mapped_class_has_a_main(module: str) -> None:
    assert callable(importlib.import_module(module).main)


def test_old_tool_class_names_run_the_kcli_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_class.CLASSES["kafka.tools.GetOffsetShell"] == "kcli.tools.get_offsets"
    assert run_class.CLASSES["kafka.admin.TopicCommand"] == "kcli.tools.topics"
    assert run_class.CLASSES["kafka.tools.DumpLogSegments"] == "kcli.tools.dump_log"
    assert run_class.CLASSES["kafka.tools.ConsoleConsumer"] == "kcli.tools.console_consumer"
    assert run_class.main(["kafka.admin.TopicCommand", "--version"]) == 0
    assert capsys.readouterr().out.strip()


def test_unknown_and_unsupported_classes_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_class.main(["com.example.Main"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Could not find or load main class com.example.Main\n")
    assert "Caused by: java.lang.ClassNotFoundException: com.example.Main" in err
    assert run_class.main(["kafka.admin.ReassignPartitionsCommand"]) == 1
    assert capsys.readouterr().err == (
        "kafka-run-class: kafka.admin.ReassignPartitionsCommand is part of Apache Kafka but kcli does not run it "
        "(partition reassignment is not built yet)\n"
    )
    assert run_class.main([]) == 1
    assert capsys.readouterr().err.startswith("USAGE: kafka-run-class.sh")


def test_java_split_keeps_a_leading_empty_string_and_drops_trailing_ones() -> None:
    words = re.compile(r"\W+", re.ASCII)
    assert java_split("all streams lead to kafka", words) == ["all", "streams", "lead", "to", "kafka"]
    assert java_split(" hello, world! ", words) == ["", "hello", "world"]
    assert java_split("", words) == [""]


def test_exactly_once_is_refused_until_the_broker_has_transactions(tmp_path) -> None:
    props = tmp_path / "streams.properties"
    props.write_text("processing.guarantee=exactly_once_v2\n")
    with pytest.raises(StreamsConfigError, match="needs Kafka transactions"):
        streams_properties([str(props)], {"application.id": "x"})
