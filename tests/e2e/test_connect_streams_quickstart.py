"""The Apache Kafka quickstart's Connect and Streams steps, typed as the docs type them.

From ``$CONFLUENT_HOME`` (laid out like the unpacked Kafka directory): the Connect step appends the
quickstart's ``plugin.path`` line, writes ``test.txt``, runs ``bin/connect-standalone.sh`` with the
three shipped files, and reads ``test.sink.txt`` and topic ``connect-test``; the Streams step
creates the two topics, runs WordCountDemo through ``bin/kafka-run-class.sh`` and reads the counts
with the quickstart's consumer command. Only addresses differ: the broker is on a free port
(``localhost:9092`` in the commands is replaced), Connect's REST API on a free port, and
WordCountDemo gets a properties file naming the broker (the demo's optional first argument).
"""

from __future__ import annotations

from pathlib import Path

from tests.broker_process import BrokerProcess
from tests.e2e.helpers import Server, free_ports, set_properties, sh, wait_until

ENVELOPE = '{{"schema":{{"type":"string","optional":false}},"payload":"{}"}}'


def test_connect_and_streams_quickstart(env: dict[str, str], servers: list[Server], tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "broker").start()
    try:
        _run_quickstart(env, servers, tmp_path, broker.port)
    finally:
        broker.stop()


def _run_quickstart(env: dict[str, str], servers: list[Server], tmp_path: Path, kafka_port: int) -> None:
    (rest_port,) = free_ports(1)
    home = Path(sh("echo $CONFLUENT_HOME", env).stdout.strip())

    def cmd(text: str) -> str:
        return text.replace("localhost:9092", f"localhost:{kafka_port}")

    worker = home / "config/connect-standalone.properties"
    shipped = worker.read_text()
    assert "key.converter=org.apache.kafka.connect.json.JsonConverter" in shipped
    assert "offset.storage.file.filename=/tmp/connect.offsets" in shipped
    assert (
        (home / "config/connect-file-source.properties")
        .read_text()
        .endswith(
            "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile=test.txt\ntopic=connect-test\n"
        )
    )
    set_properties(
        worker,
        {
            "bootstrap.servers": f"localhost:{kafka_port}",
            "offset.storage.file.filename": str(tmp_path / "connect.offsets"),
            "offset.flush.interval.ms": "1000",
            "listeners": f"http://127.0.0.1:{rest_port}",
        },
    )

    # Step 7: Kafka Connect
    assert (
        sh(
            'echo "plugin.path=libs/connect-file-4.0.0.jar" >> config/connect-standalone.properties',
            env,
            cwd=home,
        ).returncode
        == 0
    )
    assert sh('echo -e "foo\\nbar" > test.txt', env, cwd=home).returncode == 0
    connect_command = (
        "bin/connect-standalone.sh config/connect-standalone.properties "
        "config/connect-file-source.properties config/connect-file-sink.properties"
    )
    connect = Server(connect_command, env, cwd=home)
    servers.append(connect)
    assert connect.wait_for("Kafka Connect started"), connect.text()
    sink = home / "test.sink.txt"
    assert wait_until(lambda: sink.exists() and sink.read_text() == "foo\nbar\n"), connect.text()
    assert sh("more test.sink.txt", env, cwd=home).stdout.endswith(
        "\nfoo\nbar\n"
    )  # more adds a header on a pipe

    consumed = sh(
        cmd(
            "bin/kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic connect-test --from-beginning --max-messages 2"
        ),
        env,
        cwd=home,
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == [ENVELOPE.format("foo"), ENVELOPE.format("bar")]

    assert sh('echo "Another line" >> test.txt', env, cwd=home).returncode == 0
    assert wait_until(lambda: sink.read_text() == "foo\nbar\nAnother line\n"), connect.text()

    # A restarted worker resumes from its stored offsets: nothing is copied twice.
    assert connect.stop() == 0
    assert "Kafka Connect stopped" in connect.text()
    connect = Server(connect_command, env, cwd=home)
    servers.append(connect)
    assert connect.wait_for("Kafka Connect started"), connect.text()
    assert sh('echo "A fourth line" >> test.txt', env, cwd=home).returncode == 0
    assert wait_until(lambda: sink.read_text() == "foo\nbar\nAnother line\nA fourth line\n", 60), (
        sink.read_text()
    )
    assert connect.stop() == 0

    # Step 8: Kafka Streams (the WordCount demo of the Streams quickstart)
    for create in (
        "bin/kafka-topics.sh --create --bootstrap-server localhost:9092 --replication-factor 1 --partitions 1 "
        "--topic streams-plaintext-input",
        "bin/kafka-topics.sh --create --bootstrap-server localhost:9092 --replication-factor 1 --partitions 1 "
        "--topic streams-wordcount-output --config cleanup.policy=compact",
    ):
        created = sh(cmd(create), env, cwd=home)
        assert created.returncode == 0, created.stderr
    streams_props = tmp_path / "wordcount.properties"
    streams_props.write_text(
        f"bootstrap.servers=localhost:{kafka_port}\nstate.dir={tmp_path / 'kafka-streams'}\ncommit.interval.ms=1000\n"
    )
    demo = Server(
        f"bin/kafka-run-class.sh org.apache.kafka.streams.examples.wordcount.WordCountDemo {streams_props}",
        env,
        cwd=home,
    )
    servers.append(demo)
    produced = sh(
        cmd(
            "bin/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic streams-plaintext-input"
        ),
        env,
        cwd=home,
        stdin="all streams lead to kafka\nhello kafka streams\njoin kafka summit\n",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = sh(
        cmd(
            "bin/kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic streams-wordcount-output "
            "--from-beginning --formatter kafka.tools.DefaultMessageFormatter --property print.key=true "
            "--property print.value=true "
            "--property key.deserializer=org.apache.kafka.common.serialization.StringDeserializer "
            "--property value.deserializer=org.apache.kafka.common.serialization.LongDeserializer --max-messages 11"
        ),
        env,
        cwd=home,
        timeout=120,
    )
    assert consumed.returncode == 0, consumed.stderr + demo.text()
    assert consumed.stdout.splitlines() == [
        "all\t1",
        "streams\t1",
        "lead\t1",
        "to\t1",
        "kafka\t1",
        "hello\t1",
        "kafka\t2",
        "streams\t2",
        "join\t1",
        "kafka\t3",
        "summit\t1",
    ]
    topics = sh(
        cmd("bin/kafka-topics.sh --list --bootstrap-server localhost:9092"), env, cwd=home
    ).stdout.split()
    assert "streams-wordcount-counts-store-changelog" in topics
    assert "streams-wordcount-counts-store-repartition" in topics
    groups = sh(
        cmd("bin/kafka-consumer-groups.sh --list --bootstrap-server localhost:9092"), env, cwd=home
    ).stdout.split()
    assert "streams-wordcount" in groups
    assert demo.stop() == 0, demo.text()
