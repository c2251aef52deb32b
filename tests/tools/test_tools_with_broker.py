"""Every drop-in tool as a subprocess against the real kcli broker (expected output written out).

Topic names are unique per test so that the session broker can be shared.
"""

from __future__ import annotations

import json
import os
import re
import struct
import uuid
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess
from tests.tools.helpers import run_tool, run_tool_bytes

PKG = "org.apache.kafka.common.serialization."


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def create(broker: BrokerProcess, name: str, *extra: str) -> None:
    result = run_tool("topics", ["--create", "--topic", name, "--bootstrap-server", broker.bootstrap, *extra])
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Created topic {name}.\n"


def produce_raw(
    broker: BrokerProcess, name: str, records: list[tuple[bytes | None, bytes | None, list]]
) -> None:
    """Records written by a real librdkafka producer, bytes as a Java producer would write them."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for key, value, headers in records:
        producer.produce(name, key=key, value=value, headers=headers or None, partition=0)
    assert producer.flush(30) == 0


def consume(broker: BrokerProcess, name: str, *extra: str, count: int | None = None) -> tuple[str, str]:
    args = [
        "--topic",
        name,
        "--from-beginning",
        "--bootstrap-server",
        broker.bootstrap,
        "--timeout-ms",
        "10000",
    ]
    if count is not None:
        args += ["--max-messages", str(count)]
    result = run_tool("console_consumer", [*args, *extra])
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


# ---- kafka-topics -------------------------------------------------------------------------------


def test_create_list_describe_alter_delete(shared_broker: BrokerProcess, topic: str) -> None:
    b = shared_broker.bootstrap
    create(shared_broker, topic, "--partitions", "3", "--replication-factor", "1")
    listed = run_tool("topics", ["--list", "--bootstrap-server", b]).stdout.splitlines()
    assert topic in listed
    assert listed == sorted(listed)

    described = run_tool("topics", ["--describe", "--topic", topic, "--bootstrap-server", b])
    assert described.returncode == 0, described.stderr
    lines = described.stdout.splitlines()
    assert re.fullmatch(
        rf"Topic: {topic}\tTopicId: [A-Za-z0-9_-]{{22}}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: ",
        lines[0],
    ), lines[0]
    assert lines[1:] == [
        f"\tTopic: {topic}\tPartition: {p}\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A"
        for p in range(3)
    ]

    altered = run_tool("topics", ["--alter", "--topic", topic, "--partitions", "5", "--bootstrap-server", b])
    assert altered.returncode == 0, altered.stderr
    described = run_tool("topics", ["--describe", "--topic", topic, "--bootstrap-server", b])
    assert "\tPartitionCount: 5\t" in described.stdout.splitlines()[0]

    deleted = run_tool("topics", ["--delete", "--topic", topic, "--bootstrap-server", b])
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout == ""
    assert topic not in run_tool("topics", ["--list", "--bootstrap-server", b]).stdout.splitlines()


def test_create_existing_and_if_not_exists(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    again = run_tool("topics", ["--create", "--topic", topic, "--bootstrap-server", shared_broker.bootstrap])
    assert again.returncode == 1
    assert again.stderr.strip() == f"Error while executing topic command : Topic '{topic}' already exists."
    quiet = run_tool(
        "topics",
        ["--create", "--if-not-exists", "--topic", topic, "--bootstrap-server", shared_broker.bootstrap],
    )
    assert quiet.returncode == 0
    assert quiet.stdout == ""


def test_missing_topic_errors_and_if_exists(shared_broker: BrokerProcess, topic: str) -> None:
    b = shared_broker.bootstrap
    for action in ("--describe", "--delete"):
        result = run_tool("topics", [action, "--topic", topic, "--bootstrap-server", b])
        assert result.returncode == 1
        assert (
            result.stderr.strip()
            == f"Error while executing topic command : Topic '{topic}' does not exist as expected"
        )
        result = run_tool("topics", [action, "--if-exists", "--topic", topic, "--bootstrap-server", b])
        assert result.returncode == 0
        assert result.stdout == ""


def test_replication_factor_larger_than_brokers(shared_broker: BrokerProcess, topic: str) -> None:
    result = run_tool(
        "topics",
        [
            "--create",
            "--topic",
            topic,
            "--replication-factor",
            "3",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error while executing topic command : Unable to replicate the partition 3 time(s): The target "
        "replication factor of 3 cannot be reached because only 1 broker(s) are registered."
    )  # the KRaft controller's wording (StripedReplicaPlacer, wrapped by ReplicationControlManager)


def test_config_overrides_regex_and_filters(shared_broker: BrokerProcess, topic: str) -> None:
    b = shared_broker.bootstrap
    create(shared_broker, topic + "-a", "--config", "cleanup.policy=compact", "--config", "retention.ms=1000")
    create(shared_broker, topic + "-b", "--replica-assignment", "0,0")
    described = run_tool(
        "topics", ["--describe", "--topic", f"{topic}-.*", "--bootstrap-server", b]
    ).stdout.splitlines()
    headers = [line for line in described if line.startswith("Topic:")]
    assert len(headers) == 2
    assert headers[0].startswith(f"Topic: {topic}-a\t")
    assert sorted(headers[0].split("\tConfigs: ")[1].split(",")) == [
        "cleanup.policy=compact",
        "retention.ms=1000",
    ]
    assert "\tPartitionCount: 2\tReplicationFactor: 1\t" in headers[1]

    overrides = run_tool(
        "topics", ["--describe", "--topics-with-overrides", "--topic", f"{topic}-.*", "--bootstrap-server", b]
    ).stdout.splitlines()
    assert [line.split("\t")[0] for line in overrides] == [f"Topic: {topic}-a"]
    under = run_tool(
        "topics",
        ["--describe", "--under-replicated-partitions", "--topic", f"{topic}-.*", "--bootstrap-server", b],
    )
    assert under.returncode == 0
    assert under.stdout == ""
    at_min = run_tool(
        "topics", ["--describe", "--at-min-isr-partitions", "--topic", f"{topic}-b", "--bootstrap-server", b]
    )
    assert (
        len(at_min.stdout.splitlines()) == 2
    )  # min.insync.replicas=1 and ISR [0]: both partitions, no topic line
    listed = run_tool("topics", ["--list", "--topic", f"{topic}-a,{topic}-b", "--bootstrap-server", b])
    assert listed.stdout.splitlines() == [f"{topic}-a", f"{topic}-b"]


def test_exclude_internal(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    produce_raw(shared_broker, topic, [(None, b"x", [])])
    # a group commit creates __consumer_offsets
    consume(shared_broker, topic, "--group", f"g-{topic}", count=1)
    listed = run_tool("topics", ["--list", "--bootstrap-server", shared_broker.bootstrap]).stdout.splitlines()
    excluded = run_tool(
        "topics", ["--list", "--exclude-internal", "--bootstrap-server", shared_broker.bootstrap]
    ).stdout.splitlines()
    assert "__consumer_offsets" in listed
    assert "__consumer_offsets" not in excluded


# ---- console producer -> console consumer ----------------------------------------------------------


def test_round_trip_keys_headers_every_print_property(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    lines = "h1:v1,h2:v2\tk1\tfirst\n\tk2\tsecond\nh3:NULL\tNULL\tNULL\n"
    produced = run_tool(
        "console_producer",
        [
            "--topic",
            topic,
            "--broker-list",
            shared_broker.bootstrap,
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
            "--property",
            "null.marker=NULL",
            "--property",
            "ignore.error=true",
        ],
        stdin=lines,
    )
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout == ""  # no prompt on a pipe

    props = [f"print.{p}=true" for p in ("timestamp", "partition", "offset", "headers", "key", "value")] + [
        "null.literal=<null>",
        "key.separator=|",
    ]
    out, err = consume(shared_broker, topic, *[x for p in props for x in ("--property", p)], count=3)
    rows = out.splitlines()
    assert [re.sub(r"^CreateTime:\d+\|", "", row) for row in rows] == [
        "Partition:0|Offset:0|h1:v1,h2:v2|k1|first",
        # an empty headers part with ignore.error=true is one header with an empty key and no value,
        # as Kafka's LineMessageReader splits "" into [""]
        "Partition:0|Offset:1|:<null>|k2|second",
        "Partition:0|Offset:2|h3:<null>|<null>|<null>",
    ]
    assert all(re.match(r"CreateTime:\d{13}\|", row) for row in rows)
    assert err.strip().endswith("Processed a total of 3 messages")


def test_producer_key_separator_error_exit_code(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    result = run_tool(
        "console_producer",
        ["--topic", topic, "--bootstrap-server", shared_broker.bootstrap, "--property", "parse.key=true"],
        stdin="a\tb\nno-separator\n",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "No key separator found on line number 2: 'no-separator'"
    out, _ = consume(shared_broker, topic, "--property", "print.key=true", count=1)
    assert out == "a\tb\n"


@pytest.mark.parametrize(
    ("name", "raw", "text"),
    [
        ("IntegerDeserializer", struct.pack(">i", -42), "-42"),
        ("LongDeserializer", struct.pack(">q", 1700000000000), "1700000000000"),
        ("ShortDeserializer", struct.pack(">h", 7), "7"),
        ("DoubleDeserializer", struct.pack(">d", 29.333333333333332), "29.333333333333332"),
        ("FloatDeserializer", struct.pack(">f", 2.5), "2.5"),
        ("UUIDDeserializer", b"123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        ("BytesDeserializer", b"a\x00b", "a\\x00b"),
        ("StringDeserializer", "zürich".encode(), "zürich"),
    ],
)
def test_deserializers_on_real_records(
    shared_broker: BrokerProcess, topic: str, name: str, raw: bytes, text: str
) -> None:
    create(shared_broker, topic)
    produce_raw(shared_broker, topic, [(raw, raw, [("h", raw)])])
    out, _ = consume(
        shared_broker,
        topic,
        "--property",
        "print.key=true",
        "--property",
        "print.headers=true",
        "--property",
        f"key.deserializer={PKG}{name}",
        "--property",
        f"value.deserializer={PKG}{name}",
        "--property",
        f"headers.deserializer={PKG}{name}",
        count=1,
    )
    assert out == f"h:{text}\t{text}\t{text}\n"


def test_byte_array_passes_bytes_through(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    produce_raw(shared_broker, topic, [(None, b"\x00\xffraw", [])])
    result = run_tool_bytes(
        "console_consumer",
        [
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            "1",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
    )
    assert result.returncode == 0
    assert result.stdout == b"\x00\xffraw\n"


def test_deserializer_failure_names_partition_offset_and_skip(
    shared_broker: BrokerProcess, topic: str
) -> None:
    create(shared_broker, topic)
    produce_raw(
        shared_broker,
        topic,
        [(None, struct.pack(">q", 1), []), (None, b"bad", []), (None, struct.pack(">q", 3), [])],
    )
    args = [
        "--topic",
        topic,
        "--from-beginning",
        "--bootstrap-server",
        shared_broker.bootstrap,
        "--timeout-ms",
        "10000",
    ]
    deser = ["--property", f"value.deserializer={PKG}LongDeserializer"]
    failed = run_tool("console_consumer", [*args, *deser, "--max-messages", "3"])
    assert failed.returncode == 1
    assert failed.stdout == "1\n"
    assert f"partition {topic}-0 offset 1" in failed.stderr
    assert "Traceback" not in failed.stderr
    skipped = run_tool("console_consumer", [*args, *deser, "--max-messages", "3", "--skip-message-on-error"])
    assert skipped.returncode == 0, skipped.stderr
    assert skipped.stdout == "1\n3\n"
    assert f"partition {topic}-0 offset 1" in skipped.stderr


def test_partition_offset_and_timeout(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    produce_raw(shared_broker, topic, [(None, f"m{i}".encode(), []) for i in range(5)])
    result = run_tool(
        "console_consumer",
        [
            "--topic",
            topic,
            "--partition",
            "0",
            "--offset",
            "3",
            "--timeout-ms",
            "2000",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
    )
    assert result.returncode == 0
    assert result.stdout == "m3\nm4\n"
    assert result.stderr.strip().endswith("Processed a total of 2 messages")
    earliest = run_tool(
        "console_consumer",
        [
            "--topic",
            topic,
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--max-messages",
            "1",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
    )
    assert earliest.stdout == "m0\n"


def test_include_regex_and_group(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic + "-x")
    create(shared_broker, topic + "-y")
    produce_raw(shared_broker, topic + "-x", [(None, b"x", [])])
    produce_raw(shared_broker, topic + "-y", [(None, b"y", [])])
    result = run_tool(
        "console_consumer",
        [
            "--include",
            f"{topic}-.*",
            "--from-beginning",
            "--max-messages",
            "2",
            "--group",
            f"g-{topic}",
            "--timeout-ms",
            "15000",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == ["x", "y"]


def test_producer_options_compression_sync_acks(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    result = run_tool(
        "console_producer",
        [
            "--topic",
            topic,
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--compression-codec",
            "--sync",
            "--request-required-acks",
            "1",
            "--linger-ms",
            "0",
            "--producer-property",
            "client.id=lab",
        ],
        stdin="one\ntwo\n",
    )
    assert result.returncode == 0, result.stderr
    out, _ = consume(shared_broker, topic, count=2)
    assert out == "one\ntwo\n"


def test_producer_unknown_property_names_it(shared_broker: BrokerProcess, topic: str) -> None:
    result = run_tool(
        "console_producer",
        [
            "--topic",
            topic,
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--producer-property",
            "bogus.key=1",
        ],
        stdin="x\n",
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "Unknown configuration property 'bogus.key' (not a Kafka client setting kcli knows)"
    )


# ---- get-offsets, delete-records, configs -------------------------------------------------------------


def test_get_offsets_and_delete_records(shared_broker: BrokerProcess, topic: str, tmp_path: Path) -> None:
    b = shared_broker.bootstrap
    create(shared_broker, topic, "--partitions", "2")
    produce_raw(shared_broker, topic, [(None, b"a", []), (None, b"b", []), (None, b"c", [])])
    latest = run_tool("get_offsets", ["--topic", topic, "--bootstrap-server", b])
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.splitlines() == [f"{topic}:0:3", f"{topic}:1:0"]
    earliest = run_tool(
        "get_offsets", ["--topic-partitions", f"{topic}:0", "--time", "-2", "--bootstrap-server", b]
    )
    assert earliest.stdout.splitlines() == [f"{topic}:0:0"]
    by_time = run_tool(
        "get_offsets", ["--topic", topic, "--partitions", "0", "--time", "0", "--bootstrap-server", b]
    )
    assert by_time.stdout.splitlines() == [f"{topic}:0:0"]  # first offset with a timestamp >= 0

    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 0, "offset": 2}], "version": 1}))
    deleted = run_tool("delete_records", ["--bootstrap-server", b, "--offset-json-file", str(spec)])
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        "Executing records delete operation",
        "Records delete operation completed:",
        f"partition: {topic}-0\tlow_watermark: 2",
    ]
    earliest = run_tool(
        "get_offsets", ["--topic", topic, "--partitions", "0", "--time", "earliest", "--bootstrap-server", b]
    )
    assert earliest.stdout.splitlines() == [f"{topic}:0:2"]
    nothing = run_tool("get_offsets", ["--topic", "no-such-topic-.*", "--bootstrap-server", b])
    assert nothing.returncode == 1
    assert (
        nothing.stderr.strip()
        == "Error occurred: Could not match any topic-partitions with the specified filters"
    )


def test_configs_alter_describe_delete(shared_broker: BrokerProcess, topic: str) -> None:
    b = shared_broker.bootstrap
    create(shared_broker, topic)
    altered = run_tool(
        "configs",
        [
            "--bootstrap-server",
            b,
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            topic,
            "--add-config",
            "retention.ms=60000,cleanup.policy=[compact,delete]",
        ],
    )
    assert altered.returncode == 0, altered.stderr
    assert altered.stdout == f"Completed updating config for topic {topic}.\n"
    described = run_tool("configs", ["--bootstrap-server", b, "--describe", "--topic", topic])
    lines = described.stdout.splitlines()
    assert lines[0] == f"Dynamic configs for topic {topic} are:"
    assert lines[1].startswith("  cleanup.policy=compact,delete sensitive=false synonyms={")
    assert lines[2].startswith("  retention.ms=60000 sensitive=false synonyms={")
    removed = run_tool(
        "configs", ["--bootstrap-server", b, "--alter", "--topic", topic, "--delete-config", "retention.ms"]
    )
    assert removed.returncode == 0, removed.stderr
    lines = run_tool("configs", ["--bootstrap-server", b, "--describe", "--topic", topic]).stdout.splitlines()
    assert [line.split("=")[0] for line in lines[1:]] == ["  cleanup.policy"]
    invalid = run_tool(
        "configs", ["--bootstrap-server", b, "--alter", "--topic", topic, "--delete-config", "segment.ms"]
    )
    assert invalid.returncode == 1
    assert invalid.stderr.strip() == "Invalid config(s): segment.ms"


def test_configs_broker_describe(shared_broker: BrokerProcess) -> None:
    result = run_tool(
        "configs", ["--bootstrap-server", shared_broker.bootstrap, "--describe", "--broker", "0", "--all"]
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "All configs for broker 0 are:"
    assert any(line.startswith("  log.dirs=") for line in lines)


# ---- perf tests and dump-log on the broker's own files ------------------------------------------------


def test_perf_tests(shared_broker: BrokerProcess, topic: str) -> None:
    create(shared_broker, topic)
    produced = run_tool(
        "producer_perf_test",
        [
            "--topic",
            topic,
            "--num-records",
            "2000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={shared_broker.bootstrap}",
            "acks=all",
        ],
    )
    assert produced.returncode == 0, produced.stderr
    assert re.fullmatch(
        r"2000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, "
        r"\d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.",
        produced.stdout.splitlines()[-1],
    ), produced.stdout
    consumed = run_tool(
        "consumer_perf_test",
        ["--topic", topic, "--messages", "2000", "--bootstrap-server", shared_broker.bootstrap],
    )
    assert consumed.returncode == 0, consumed.stderr
    header, line = consumed.stdout.splitlines()
    assert header == (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    )
    fields = line.split(", ")
    assert fields[2] == "0.1907" and fields[4] == "2000"


def test_dump_log_on_broker_segment(broker: BrokerProcess) -> None:
    name = "dumped"
    create(broker, name)
    produce_raw(broker, name, [(b"k", b"hello", [("h", b"1")])])
    segment = broker.log_dirs / f"{name}-0" / "00000000000000000000.log"
    result = run_tool("dump_log", ["--files", str(segment), "--print-data-log"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"Dumping {segment}", "Log starting offset: 0"]
    assert lines[2].startswith("baseOffset: 0 lastOffset: 0 count: 1 ")
    assert lines[2].endswith("isvalid: true")
    assert re.fullmatch(
        r"\| offset: 0 CreateTime: \d+ keySize: 1 valueSize: 5 sequence: -?\d+ headerKeys: \[h\] key: k payload: hello",
        lines[3],
    )


def test_interactive_producer_prompt_and_ctrl_d(shared_broker: BrokerProcess, topic: str) -> None:
    """On a terminal: Kafka's '>' prompt per line, Ctrl-D ends cleanly and every line is delivered."""
    import sys

    pexpect = pytest.importorskip("pexpect")
    create(shared_broker, topic)
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "kcli.tools.console_producer",
            "--topic",
            topic,
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
        timeout=30,
        env=dict(os.environ, TERM="dumb"),
    )
    child.expect(">")
    child.send("hello\r")
    child.expect(">")
    child.send("world\r")
    child.expect(">")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out, _ = consume(shared_broker, topic, count=2)
    assert out == "hello\nworld\n"


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_consumer_ctrl_c_prints_total_and_exits_zero(
    shared_broker: BrokerProcess, topic: str, sig: str
) -> None:
    import signal
    import subprocess
    import sys

    create(shared_broker, topic)
    produce_raw(shared_broker, topic, [(None, b"only", [])])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kcli.tools.console_consumer",
            "--topic",
            topic,
            "--from-beginning",
            "--bootstrap-server",
            shared_broker.bootstrap,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal starts it: a runner started in the background (nohup, CI agents) ignores
        # SIGINT, and a child inherits that, so Ctrl-C would never reach it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "only\n"  # the record is out: the consumer is in its loop
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert err.strip().splitlines()[-1] == "Processed a total of 1 messages"
    assert "Traceback" not in err


def test_describe_by_topic_id(shared_broker: BrokerProcess, topic: str) -> None:
    b = shared_broker.bootstrap
    create(shared_broker, topic)
    by_name = run_tool("topics", ["--describe", "--topic", topic, "--bootstrap-server", b]).stdout
    topic_id = by_name.split("\t")[1].removeprefix("TopicId: ")
    by_id = run_tool("topics", ["--describe", "--topic-id", topic_id, "--bootstrap-server", b])
    assert by_id.returncode == 0, by_id.stderr
    assert by_id.stdout == by_name
    missing = run_tool(
        "topics", ["--describe", "--topic-id", "AAAAAAAAAAAAAAAAAAAAAQ", "--bootstrap-server", b]
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "Error while executing topic command : TopicId 'AAAAAAAAAAAAAAAAAAAAAQ' does not exist as expected"
    )


def test_config_files_for_producer_reader_consumer_formatter(
    shared_broker: BrokerProcess, topic: str, tmp_path: Path
) -> None:
    create(shared_broker, topic)
    (tmp_path / "producer.properties").write_text("# Java syntax\nlinger.ms : 0\nacks=all\n")
    (tmp_path / "reader.properties").write_text("parse.key=true\nkey.separator=\\:\n")
    (tmp_path / "consumer.properties").write_text("client.id=lab-consumer\nauto.offset.reset=earliest\n")
    (tmp_path / "formatter.properties").write_text("print.key=true\nkey.separator=\\u0020=>\\u0020\n")
    produced = run_tool(
        "console_producer",
        [
            "--topic",
            topic,
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--producer.config",
            str(tmp_path / "producer.properties"),
            "--reader-config",
            str(tmp_path / "reader.properties"),
        ],
        stdin="k1:v1\n",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = run_tool(
        "console_consumer",
        [
            "--topic",
            topic,
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--max-messages",
            "1",
            "--consumer.config",
            str(tmp_path / "consumer.properties"),
            "--formatter-config",
            str(tmp_path / "formatter.properties"),
        ],
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "k1 => v1\n"


def test_configs_describe_lists_synonyms(shared_broker: BrokerProcess, topic: str) -> None:
    """Kafka answers DescribeConfigs with the synonyms of each entry (the override first)."""
    b = shared_broker.bootstrap
    create(shared_broker, topic, "--config", "retention.ms=60000")
    lines = run_tool("configs", ["--bootstrap-server", b, "--describe", "--topic", topic]).stdout.splitlines()
    assert lines[1].startswith(
        "  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000"
    )


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_dump_log_compressed_batches(shared_broker: BrokerProcess, topic: str, codec: str) -> None:
    from confluent_kafka import Producer

    create(shared_broker, topic)
    producer = Producer(
        {"bootstrap.servers": shared_broker.bootstrap, "compression.type": codec, "linger.ms": 100}
    )
    for i in range(3):
        producer.produce(topic, key=f"k{i}".encode(), value=b"x" * 200, partition=0)
    assert producer.flush(30) == 0
    segment = shared_broker.log_dirs / f"{topic}-0" / "00000000000000000000.log"
    result = run_tool("dump_log", ["--files", str(segment), "--print-data-log"])
    assert result.returncode == 0, result.stderr
    batches = [line for line in result.stdout.splitlines() if line.startswith("baseOffset:")]
    records = [line for line in result.stdout.splitlines() if line.startswith("| offset:")]
    assert all(f"compresscodec: {codec} " in line and line.endswith("isvalid: true") for line in batches)
    assert [line.split(" key: ")[1].split(" ")[0] for line in records] == ["k0", "k1", "k2"]
    assert all(line.endswith(" payload: " + "x" * 200) for line in records)


def test_configs_group_alter_and_describe(shared_broker: BrokerProcess, topic: str) -> None:
    """Group configs (GROUP resources, Kafka 4.0): the broker answers for type 32 as for topics."""
    b = shared_broker.bootstrap
    group = f"g-{topic}"
    altered = run_tool(
        "configs",
        [
            "--bootstrap-server",
            b,
            "--alter",
            "--group",
            group,
            "--add-config",
            "consumer.session.timeout.ms=50000",
        ],
    )
    assert altered.returncode == 0, altered.stderr
    assert altered.stdout == f"Completed updating config for group {group}.\n"
    described = run_tool(
        "configs", ["--bootstrap-server", b, "--describe", "--entity-type", "groups", "--entity-name", group]
    )
    lines = described.stdout.splitlines()
    assert lines[0] == f"Dynamic configs for group {group} are:"
    assert lines[1].startswith("  consumer.session.timeout.ms=50000 sensitive=false synonyms={")


def test_configs_broker_alter_and_describe(shared_broker: BrokerProcess) -> None:
    b = shared_broker.bootstrap
    altered = run_tool(
        "configs",
        ["--bootstrap-server", b, "--alter", "--broker", "0", "--add-config", "log.cleaner.threads=2"],
    )
    assert altered.returncode == 0, altered.stderr
    assert altered.stdout == "Completed updating config for broker 0.\n"
    lines = run_tool("configs", ["--bootstrap-server", b, "--describe", "--broker", "0"]).stdout.splitlines()
    assert lines[0] == "Dynamic configs for broker 0 are:"
    assert "  log.cleaner.threads=2 sensitive=false synonyms={" in [
        line[: len("  log.cleaner.threads=2 sensitive=false synonyms={")] for line in lines[1:]
    ]
    removed = run_tool(
        "configs",
        ["--bootstrap-server", b, "--alter", "--broker", "0", "--delete-config", "log.cleaner.threads"],
    )
    assert removed.returncode == 0, removed.stderr
