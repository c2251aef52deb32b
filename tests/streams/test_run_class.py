"""Unit tests of ``kafka-run-class``'s class table and of the demos' Java-compatible helpers:
Kafka Streams' settings (processing guarantees as Kafka 3.9 takes them, commit interval and
transaction timeout defaults, client prefixes) and the state directory's lock and process id."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from kcli.streams.app import (
    StreamsConfigError,
    client_settings,
    commit_interval_ms,
    exactly_once,
    java_split,
    streams_properties,
)
from kcli.streams.state_directory import StateDirectory
from kcli.tools import run_class


@pytest.mark.parametrize("module", sorted(set(run_class.CLASSES.values())))
def test_every_mapped_class_has_a_main(module: str) -> None:
    assert callable(importlib.import_module(module).main)


def test_old_tool_class_names_run_the_kcli_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_class.CLASSES["kafka.tools.GetOffsetShell"] == "kcli.tools.get_offsets"
    assert run_class.CLASSES["kafka.admin.TopicCommand"] == "kcli.tools.topics"
    assert run_class.CLASSES["kafka.tools.DumpLogSegments"] == "kcli.tools.dump_log"
    assert run_class.CLASSES["kafka.tools.ConsoleConsumer"] == "kcli.tools.console_consumer"
    assert run_class.CLASSES["org.apache.kafka.tools.TransactionsCommand"] == "kcli.tools.transactions"
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


def _props(tmp_path, text: str) -> dict[str, str]:
    path = tmp_path / "streams.properties"
    path.write_text(text)
    return streams_properties([str(path)], {"application.id": "x"})


@pytest.mark.parametrize("guarantee", ["exactly_once_v2", "exactly_once", "exactly_once_beta"])
def test_every_exactly_once_spelling_kafka_3_9_accepts_runs_exactly_once(tmp_path, guarantee: str) -> None:
    props = _props(tmp_path, f"processing.guarantee={guarantee}\n")
    assert exactly_once(props)
    assert commit_interval_ms(props) == 100  # Kafka Streams' exactly-once default


def test_the_deprecated_spellings_warn_as_kafka_does(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="org.apache.kafka.streams.StreamsConfig"):
        _props(tmp_path, "processing.guarantee=exactly_once_v2\n")
        assert caplog.messages == []
        _props(tmp_path, "processing.guarantee=exactly_once\n")
        _props(tmp_path, "processing.guarantee=exactly_once_beta\n")
    assert [m.split(". ")[0] for m in caplog.messages] == [
        "Configuration parameter `exactly_once` is deprecated and will be removed in the 4.0.0 release",
        "Configuration parameter `exactly_once_beta` is deprecated and will be removed in the 4.0.0 release",
    ]
    assert all("Please use `exactly_once_v2` instead." in m for m in caplog.messages)


def test_at_least_once_is_the_default_with_its_commit_interval(tmp_path) -> None:
    props = _props(tmp_path, "")
    assert not exactly_once(props)
    assert commit_interval_ms(props) == 30000
    assert (
        commit_interval_ms(_props(tmp_path, "processing.guarantee=exactly_once_v2\ncommit.interval.ms=500\n"))
        == 500
    )


def test_a_guarantee_kafka_does_not_know_is_refused_with_its_message(tmp_path) -> None:
    with pytest.raises(StreamsConfigError) as refused:
        _props(tmp_path, "processing.guarantee=EXACTLY_ONCE_V2\n")  # Kafka's check is case-sensitive
    assert str(refused.value) == (
        "Invalid value EXACTLY_ONCE_V2 for configuration processing.guarantee: "
        "String must be one of: at_least_once, exactly_once, exactly_once_beta, exactly_once_v2"
    )


def test_a_transaction_timeout_below_the_commit_interval_is_refused(tmp_path) -> None:
    with pytest.raises(
        StreamsConfigError, match=r"^Transaction timeout 10000 was set lower than streams commit"
    ):
        _props(tmp_path, "processing.guarantee=exactly_once_v2\ncommit.interval.ms=20000\n")
    props = _props(
        tmp_path,
        "processing.guarantee=exactly_once_v2\ncommit.interval.ms=20000\nproducer.transaction.timeout.ms=30000\n",
    )
    assert client_settings(props, "producer") == {"transaction.timeout.ms": "30000"}
    with pytest.raises(StreamsConfigError, match=r"^Invalid value soon for configuration commit.interval.ms"):
        _props(tmp_path, "commit.interval.ms=soon\n")


def test_client_settings_take_kafka_streams_prefixes(tmp_path) -> None:
    props = _props(
        tmp_path,
        "consumer.session.timeout.ms=6000\nmain.consumer.max.poll.interval.ms=60000\n"
        "producer.linger.ms=5\nclient.id=wc\n",
    )
    assert client_settings(props, "consumer") == {
        "client.id": "wc",
        "session.timeout.ms": "6000",
        "max.poll.interval.ms": "60000",
    }
    assert client_settings(props, "producer") == {"client.id": "wc", "linger.ms": "5"}
    assert client_settings(props, "admin") == {"client.id": "wc"}


def test_the_state_directory_is_locked_and_keeps_its_process_id(tmp_path) -> None:
    first = StateDirectory(tmp_path, "app")
    process_id = first.process_id()  # takes the lock
    other = subprocess.run(
        [sys.executable, "-c", LOCK_IN_ANOTHER_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 1
    assert other.stdout.startswith(
        "Unable to initialize state, this can happen if multiple instances of Kafka Streams are running in the "
        "same state directory (current state directory is ["
    )
    first.close()
    again = StateDirectory(tmp_path, "app")
    assert again.process_id() == process_id  # what names the transactional producer after a restart
    assert again.process_id(persistent=False) != process_id
    again.close()
    free = subprocess.run([sys.executable, "-c", LOCK_IN_ANOTHER_PROCESS, str(tmp_path)], timeout=60)
    assert free.returncode == 0


LOCK_IN_ANOTHER_PROCESS = """
import sys
from kcli.streams.state_directory import StateDirectory, StateDirectoryError
try:
    StateDirectory(sys.argv[1], "app").lock()
except StateDirectoryError as exc:
    print(exc)
    sys.exit(1)
"""
