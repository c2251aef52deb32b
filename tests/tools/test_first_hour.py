"""What a student meets in the first hour (issue 18): the two-terminal demo, lab scripts that start
the broker and a tool in one breath, the perf tools' batching, and Java's wording where kcli used to
print librdkafka's or Python's. Every tool runs as a subprocess against the real broker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, free_port
from tests.tools.helpers import run_tool
from tests.waiting import wait_until

TOOL_ENV = dict(os.environ, PYTHONUNBUFFERED="1")


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def slow_join_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker with Kafka's default group.initial.rebalance.delay.ms (3 s), as in the issue."""
    proc = BrokerProcess(
        tmp_path_factory.mktemp("slow-join"), {"group.initial.rebalance.delay.ms": "3000"}
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def topic_exists(bootstrap: str, name: str) -> bool:
    from confluent_kafka.admin import AdminClient

    return name in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics


def spawn(module: str, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", f"kcli.tools.{module}", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=TOOL_ENV,
    )


class Lines:
    """A child's stderr collected line by line, so a test can wait for one (no sleeps)."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, text: str, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True


# ---- the two-terminal demo ------------------------------------------------------------------------


def test_consumer_started_first_creates_its_topic_and_shows_every_line(
    slow_join_broker: BrokerProcess, topic: str
) -> None:
    """Terminal 1: the consumer on a topic nobody created; terminal 2: the producer, at once.

    As with Java's consumer, subscribing creates the topic (its metadata request allows
    auto-creation), and the first lines typed while the group still forms (3 s) are shown.
    """
    b = slow_join_broker.bootstrap
    consumer = spawn("console_consumer", ["--bootstrap-server", b, "--topic", topic, "--max-messages", "3"])
    try:
        assert wait_until(lambda: topic_exists(b, topic), 30), "the consumer did not create its topic"
        produced = run_tool(
            "console_producer", ["--bootstrap-server", b, "--topic", topic], stdin="a\nb\nc\n"
        )
        assert produced.returncode == 0, produced.stderr
        out, err = consumer.communicate(timeout=60)
    finally:
        consumer.kill()
    assert consumer.returncode == 0, err
    assert out == "a\nb\nc\n"
    assert err.strip().splitlines()[-1] == "Processed a total of 3 messages"


def test_consumer_of_an_existing_topic_still_starts_at_latest(
    shared_broker: BrokerProcess, topic: str
) -> None:
    b = shared_broker.bootstrap
    run_tool("console_producer", ["--bootstrap-server", b, "--topic", topic], stdin="old\n")
    result = run_tool(
        "console_consumer", ["--bootstrap-server", b, "--topic", topic, "--timeout-ms", "3000"], timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


# ---- lab scripts that race the broker ----------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "args", "stdin", "expected"),
    [
        ("topics", ["--create", "--topic", "raced"], "", "Created topic raced.\n"),
        ("console_producer", ["--topic", "raced"], "first line\n", ""),
    ],
)
def test_tool_waits_for_a_broker_that_starts_after_it(
    tmp_path: Path, module: str, args: list[str], stdin: str, expected: str
) -> None:
    """``kafka-server-start -daemon ...; kafka-topics --create ...``: the tool retries as Java's
    clients do (within default.api.timeout.ms / max.block.ms), saying so once on stderr."""
    port = free_port()
    tool = spawn(module, [*args, "--bootstrap-server", f"127.0.0.1:{port}"])
    broker = BrokerProcess(tmp_path, port=port)
    try:
        assert tool.stderr is not None and tool.stdin is not None
        errors = Lines(tool.stderr)
        assert errors.wait_for("Broker may not be available"), errors.lines
        broker.start()
        tool.stdin.write(stdin)
        tool.stdin.close()
        assert tool.stdout is not None
        out = tool.stdout.read()
        tool.wait(60)
    finally:
        tool.kill()
        broker.stop()
    assert tool.returncode == 0, errors.lines
    assert out == expected
    assert [line.split(" could not")[0] for line in errors.lines] == [
        f"WARN Connection to 127.0.0.1:{port}"
    ], errors.lines


# ---- perf tools: Java's producer defaults, and batching that moves the batches ------------------------


def batch_sizes(broker: BrokerProcess, name: str) -> list[tuple[int, str]]:
    """(size in bytes, compression codec) of every batch the broker stored for ``name``."""
    segment = broker.log_dirs / f"{name}-0" / "00000000000000000000.log"
    dumped = run_tool("dump_log", ["--files", str(segment)])
    assert dumped.returncode == 0, dumped.stderr
    found = []
    for line in dumped.stdout.splitlines():
        match = re.search(r" size: (\d+) .*compresscodec: (\w+)", line)
        if line.startswith("baseOffset:") and match:
            found.append((int(match.group(1)), match.group(2)))
    assert found, dumped.stdout[:500]
    return found


def perf(broker: BrokerProcess, name: str, records: int, *props: str) -> str:
    result = run_tool(
        "producer_perf_test",
        [
            "--topic",
            name,
            "--num-records",
            str(records),
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--bootstrap-server",
            broker.bootstrap,
            *(["--command-property", *props] if props else []),
        ],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert re.fullmatch(
        rf"{records} records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, "
        r"[\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.",
        last,
    ), result.stdout
    return last


def test_producer_perf_test_batches_as_the_java_producer(broker: BrokerProcess) -> None:
    """Java's batch.size (16384) by default, so that batch.size, linger.ms and compression.type
    change what reaches the broker as they do with Kafka's tool (librdkafka's own default batch
    is 1 MB, which made tuning batch.size a no-op)."""
    for name in ("defaults", "tuned", "lz4"):
        run_tool("topics", ["--create", "--topic", name, "--bootstrap-server", broker.bootstrap])
    perf(broker, "defaults", 20000)
    perf(broker, "tuned", 20000, "linger.ms=50", "batch.size=1000000")
    perf(broker, "lz4", 20000, "compression.type=lz4", "acks=all")
    defaults = batch_sizes(broker, "defaults")
    tuned = batch_sizes(broker, "tuned")
    # a batch holds what fits in batch.size (librdkafka may exceed it by one record, as Java does)
    assert max(size for size, _ in defaults) <= 16384 + 200, defaults[:5]
    assert max(size for size, _ in tuned) > 16384 + 200, tuned[:5]
    assert len(tuned) < len(defaults)
    # librdkafka sends a batch as it is when lz4 does not shrink it (random letters barely do)
    assert "lz4" in {codec for _, codec in batch_sizes(broker, "lz4")}


def test_perf_tests_accept_kip_1147_options(shared_broker: BrokerProcess, topic: str, tmp_path: Path) -> None:
    config = tmp_path / "client.properties"
    config.write_text(f"bootstrap.servers={shared_broker.bootstrap}\n")
    produced = run_tool(
        "producer_perf_test",
        [
            "--topic",
            topic,
            "--num-records",
            "500",
            "--payload-monotonic",
            "--throughput",
            "-1",
            "--command-config",
            str(config),
            "--command-property",
            "acks=1",
        ],
    )
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.splitlines()[-1].startswith("500 records sent, ")
    consumed = run_tool(
        "consumer_perf_test",
        [
            "--topic",
            topic,
            "--messages",
            "500",
            "--bootstrap-server",
            shared_broker.bootstrap,
            "--command-config",
            str(config),
            "--command-property",
            "client.id=kip-1147",
            "--hide-header",
        ],
    )
    assert consumed.returncode == 0, consumed.stderr
    fields = consumed.stdout.strip().split(", ")
    assert fields[4] == "500"


# ---- KIP-1147 names on the console tools, Java-only client keys ----------------------------------


def test_console_tools_accept_kip_1147_options(
    shared_broker: BrokerProcess, topic: str, tmp_path: Path
) -> None:
    b = shared_broker.bootstrap
    consumer_config = tmp_path / "consumer.properties"
    consumer_config.write_text("auto.offset.reset=earliest\n")
    produced = run_tool(
        "console_producer",
        [
            "--bootstrap-server",
            b,
            "--topic",
            topic,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
            "--command-property",
            "acks=all",
        ],
        stdin="k1:v1\n",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = run_tool(
        "console_consumer",
        [
            "--bootstrap-server",
            b,
            "--topic",
            topic,
            "--command-config",
            str(consumer_config),
            "--command-property",
            "client.id=kip-1147",
            "--formatter-property",
            "print.key=true",
            "--max-messages",
            "1",
        ],
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "k1\tv1\n"


def test_java_only_client_keys_are_accepted_and_said_ignored(
    shared_broker: BrokerProcess, topic: str, tmp_path: Path
) -> None:
    b = shared_broker.bootstrap
    config = tmp_path / "client.properties"
    config.write_text(
        "client.dns.lookup=use_all_dns_ips\n"
        "sasl.login.callback.handler.class=com.example.MyLoginHandler\n"
        "max.poll.interval.ms=1000\n"
    )
    run_tool("console_producer", ["--bootstrap-server", b, "--topic", topic], stdin="x\n")
    consumed = run_tool(
        "console_consumer",
        [
            "--bootstrap-server",
            b,
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            "1",
            "--consumer.config",
            str(config),
        ],
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "x\n"
    notes = [line for line in consumed.stderr.splitlines() if line.startswith("WARN")]
    assert notes == [
        "WARN sasl.login.callback.handler.class=com.example.MyLoginHandler is a Java class: ignored "
        "(librdkafka logs in with sasl.username/sasl.password, or OIDC with sasl.oauthbearer.token.endpoint.url)",
        "WARN max.poll.interval.ms=1000 is below session.timeout.ms=45000, which librdkafka does not accept: "
        "using max.poll.interval.ms=45000",
        "WARN These configurations '[client.dns.lookup]' were supplied but are ignored: the librdkafka client "
        "kcli's tools are built on has no such setting.",
    ]


def test_sasl_config_against_a_plaintext_listener_says_which(
    shared_broker: BrokerProcess, tmp_path: Path
) -> None:
    address = shared_broker.bootstrap
    for protocol, missing in (("SASL_SSL", "no TLS"), ("SASL_PLAINTEXT", "no SASL")):
        config = tmp_path / f"{protocol}.properties"
        config.write_text(
            f"security.protocol={protocol}\nsasl.mechanism=PLAIN\n"
            'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";\n'
        )
        started = time.monotonic()
        result = run_tool(
            "topics", ["--list", "--bootstrap-server", address, "--command-config", str(config)]
        )
        assert time.monotonic() - started < 20  # at once, not after librdkafka's timeout
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"Error while executing topic command : {address} is a PLAINTEXT listener ({missing}), but the "
            f"client configuration says security.protocol={protocol}: connect to the broker's {protocol} "
            f"listener, or remove security.protocol and the {'ssl./sasl.' if protocol == 'SASL_SSL' else 'sasl.'} "
            "settings to use this one"
        )


# ---- Java's wording --------------------------------------------------------------------------------


def test_record_too_large_is_javas_error_and_the_producer_reads_on(
    shared_broker: BrokerProcess, topic: str
) -> None:
    b = shared_broker.bootstrap
    result = run_tool(
        "console_producer", ["--bootstrap-server", b, "--topic", topic], stdin="x" * 2_000_000 + "\nsmall\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"ERROR Error when sending message to topic {topic} with key: null, value: 2000000 bytes with error: "
        "(org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)",
        "org.apache.kafka.common.errors.RecordTooLargeException: The message is 2000088 bytes when serialized "
        "which is larger than 1048576, which is the value of the max.request.size configuration.",
    ]
    consumed = run_tool(
        "console_consumer",
        ["--bootstrap-server", b, "--topic", topic, "--from-beginning", "--max-messages", "1"],
    )
    assert consumed.stdout == "small\n"


def test_configs_broker_loggers_and_an_empty_config_file(
    shared_broker: BrokerProcess, topic: str, tmp_path: Path
) -> None:
    b = shared_broker.bootstrap
    described = run_tool("configs", ["--bootstrap-server", b, "--describe", "--broker-logger", "0"])
    assert (described.returncode, described.stdout, described.stderr) == (
        0,
        "Dynamic configs for broker-logger 0 are:\n",
        "",
    )
    every = run_tool("configs", ["--bootstrap-server", b, "--describe", "--entity-type", "broker-loggers"])
    assert every.returncode == 0, every.stderr
    assert every.stdout.splitlines() == [
        "Dynamic configs for broker-logger 0 are:",
        "Default configs for broker-loggers in the cluster are:",
    ]
    altered = run_tool(
        "configs",
        ["--bootstrap-server", b, "--alter", "--broker-logger", "0", "--add-config", "kafka.server=DEBUG"],
    )
    assert (altered.returncode, altered.stderr.strip()) == (1, "Invalid broker logger(s): kafka.server")

    run_tool("topics", ["--create", "--topic", topic, "--bootstrap-server", b])
    empty = tmp_path / "empty.properties"
    empty.write_text("")
    result = run_tool(
        "configs", ["--bootstrap-server", b, "--alter", "--topic", topic, "--add-config-file", str(empty)]
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"Completed updating config for topic {topic}.\n",
        "",
    )


def test_delete_records_past_the_end_and_on_an_unknown_topic(
    shared_broker: BrokerProcess, topic: str, tmp_path: Path
) -> None:
    b = shared_broker.bootstrap
    run_tool("console_producer", ["--bootstrap-server", b, "--topic", topic], stdin="a\nb\n")
    plan = tmp_path / "delete.json"
    entries = [
        {"topic": topic, "partition": 0, "offset": 99},
        {"topic": f"{topic}-missing", "partition": 0, "offset": 1},
    ]
    plan.write_text(json.dumps({"partitions": entries, "version": 1}))
    result = run_tool("delete_records", ["--bootstrap-server", b, "--offset-json-file", str(plan)])
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "Executing records delete operation",
        "Records delete operation completed:",
        f"partition: {topic}-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: "
        "The requested offset is not within the range of offsets maintained by the server.",
        f"partition: {topic}-missing-0\terror: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
        f"Failed to fetch metadata for partition {topic}-missing-0 because metadata for topic `{topic}-missing` "
        "could not be found",
    ]


def test_broker_port_already_in_use_is_kafkas_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        broker = BrokerProcess(tmp_path, port=port)
        result = subprocess.run(
            [sys.executable, "-m", "kcli.server.start", str(broker.properties)],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(TOOL_ENV, KCLI_HOME=str(tmp_path / "home")),
        )
    assert result.returncode == 1
    errors = [line for line in (result.stdout + result.stderr).splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert errors[0].endswith(
        f"ERROR Fatal error during KafkaServer startup: Socket server failed to bind to 127.0.0.1:{port}: "
        "Address already in use. (kafka.server.KafkaServer)"
    )


# ---- Avro tools: Confluent's default registry URL ------------------------------------------------------


def test_avro_tools_default_to_the_local_registry(shared_broker: BrokerProcess, topic: str) -> None:
    """Without ``--property schema.registry.url`` Confluent's tools use http://localhost:8081."""
    import socket

    from tests.schema_registry.helpers import MemoryRegistry

    with socket.socket() as probe:
        # As a server binds: connections of an earlier test's registry in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", 8081))
        except OSError:
            pytest.skip("port 8081 is taken on this machine")
    registry = MemoryRegistry()
    registry.port = 8081
    registry.url = "http://127.0.0.1:8081"
    registry.start()
    try:
        b = shared_broker.bootstrap
        schema = '{"type":"record","name":"Person","fields":[{"name":"name","type":"string"}]}'
        produced = run_tool(
            "avro_console_producer",
            ["--bootstrap-server", b, "--topic", topic, "--property", f"value.schema={schema}"],
            stdin='{"name": "Ann"}\n',
        )
        assert produced.returncode == 0, produced.stderr
        consumed = run_tool(
            "avro_console_consumer",
            ["--bootstrap-server", b, "--topic", topic, "--from-beginning", "--max-messages", "1"],
        )
        assert consumed.returncode == 0, consumed.stderr
        assert consumed.stdout == '{"name":"Ann"}\n'
        assert registry("GET", "/subjects").body == [f"{topic}-value"]
    finally:
        registry.stop()
