"""The Apache Kafka 4.x quickstart, step by step with the ``.sh`` names, from ``$CONFLUENT_HOME``.

The quickstart runs from the unpacked Kafka directory (``bin/``, ``config/``); kcli's home has the
same layout. Ports and ``log.dirs`` in ``config/server.properties`` are moved to free ones and a
temporary directory; the commands are the quickstart's, with those ports.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import Server, free_ports, set_properties, sh


def test_apache_quickstart_verbatim(env: dict[str, str], servers: list[Server], tmp_path: Path) -> None:
    kafka_port, controller_port = free_ports(2)
    home = Path(sh("echo $CONFLUENT_HOME", env).stdout.strip())
    config = home / "config/server.properties"
    text = config.read_text()
    assert "process.roles=broker,controller" in text
    assert "log.dirs=/tmp/kraft-combined-logs" in text
    set_properties(
        config,
        {
            "listeners": f"PLAINTEXT://:{kafka_port},CONTROLLER://:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://localhost:{kafka_port},CONTROLLER://localhost:{controller_port}",
            "controller.quorum.bootstrap.servers": f"localhost:{controller_port}",
            "log.dirs": str(tmp_path / "kraft-combined-logs"),
        },
    )

    def cmd(text: str) -> str:
        return text.replace("localhost:9092", f"localhost:{kafka_port}")

    formatted = sh(
        'KAFKA_CLUSTER_ID="$(bin/kafka-storage.sh random-uuid)"\n'
        "bin/kafka-storage.sh format --standalone -t $KAFKA_CLUSTER_ID -c config/server.properties\n"
        "echo cluster=$KAFKA_CLUSTER_ID",
        env,
        cwd=home,
    )
    assert formatted.returncode == 0, formatted.stderr
    cluster_id = formatted.stdout.strip().splitlines()[-1].removeprefix("cluster=")
    assert len(cluster_id) == 22
    assert (
        f"Formatting dynamic metadata voter directory {tmp_path / 'kraft-combined-logs'}" in formatted.stdout
    )

    broker = Server("bin/kafka-server-start.sh config/server.properties", env, cwd=home)
    servers.append(broker)
    assert broker.wait_for("started (kafka.server.KafkaServer)"), broker.text()
    assert cluster_id in broker.text()

    created = sh(
        cmd("bin/kafka-topics.sh --create --topic quickstart-events --bootstrap-server localhost:9092"),
        env,
        cwd=home,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "Created topic quickstart-events."

    described = sh(
        cmd("bin/kafka-topics.sh --describe --topic quickstart-events --bootstrap-server localhost:9092"),
        env,
        cwd=home,
    )
    assert described.returncode == 0, described.stderr
    first, partition = described.stdout.splitlines()[:2]
    assert first.startswith("Topic: quickstart-events\tTopicId: ")
    assert "\tPartitionCount: 1\tReplicationFactor: 1\t" in first
    assert partition.startswith("\tTopic: quickstart-events\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1")

    produced = sh(
        cmd("bin/kafka-console-producer.sh --topic quickstart-events --bootstrap-server localhost:9092"),
        env,
        cwd=home,
        stdin="This is my first event\nThis is my second event\n",
    )
    assert produced.returncode == 0, produced.stderr

    consumed = sh(
        cmd(
            "bin/kafka-console-consumer.sh --topic quickstart-events --from-beginning "
            "--bootstrap-server localhost:9092 --max-messages 2"
        ),
        env,
        cwd=home,
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "This is my first event\nThis is my second event\n"
    assert "Processed a total of 2 messages" in consumed.stderr
