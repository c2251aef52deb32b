"""The ISIT312 lecture's Kafka commands, typed as on the slides, after one ``kcli env``.

Only the ports differ from the slides (free ones, so tests run in parallel and never meet a
student's broker): the generated properties are edited like a student would, and ``9092``/``2181``
in the commands are replaced by those ports. Everything else is verbatim, ``$CONFLUENT_HOME`` included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.e2e.helpers import Server, free_ports, live_pid_files, set_properties, sh, wait_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
STARTED = "started (kafka.server.KafkaServer)"
LECTURE_RECORDS = (
    '{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}\n'
    '{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}\n'
    '{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}\n'
)


def prepare_home(env: dict[str, str], tmp: Path, kafka_port: int, zk_port: int) -> Path:
    """``kcli env`` once, then point the shipped ZooKeeper-mode files at free ports and temp dirs."""
    result = sh("echo $CONFLUENT_HOME", env)
    assert result.returncode == 0, result.stderr
    home = Path(result.stdout.strip())
    assert home == Path(env["KCLI_CONFLUENT_HOME"]).resolve()
    set_properties(
        home / "etc/kafka/zookeeper.properties",
        {"clientPort": str(zk_port), "dataDir": str(tmp / "zookeeper")},
    )
    set_properties(
        home / "etc/kafka/server.properties",
        {
            "listeners": f"PLAINTEXT://localhost:{kafka_port}",
            "log.dirs": str(tmp / "kafka-logs"),
            "zookeeper.connect": f"localhost:{zk_port}",
        },
    )
    return home


def test_lecture_commands_verbatim(env: dict[str, str], servers: list[Server], tmp_path: Path) -> None:
    kafka_port, zk_port = free_ports(2)
    prepare_home(env, tmp_path, kafka_port, zk_port)

    def cmd(text: str) -> str:
        return text.replace("localhost:9092", f"localhost:{kafka_port}").replace(
            "localhost:2181", f"localhost:{zk_port}"
        )

    zookeeper = Server(
        "$CONFLUENT_HOME/bin/zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties", env
    )
    servers.append(zookeeper)
    assert zookeeper.wait_for(f"binding to port 0.0.0.0/0.0.0.0:{zk_port}"), zookeeper.text()
    assert zookeeper.wait_for("started"), zookeeper.text()

    broker = Server("$CONFLUENT_HOME/bin/kafka-server-start $CONFLUENT_HOME/etc/kafka/server.properties", env)
    servers.append(broker)
    assert broker.wait_for(STARTED), broker.text()

    produced = sh(
        cmd("$CONFLUENT_HOME/bin/kafka-console-producer --broker-list localhost:9092 --topic json_topic"),
        env,
        stdin=LECTURE_RECORDS,
    )
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.strip(">").strip() == ""

    listed = sh(cmd("$CONFLUENT_HOME/bin/kafka-topics --list --zookeeper localhost:2181"), env)
    assert listed.returncode == 0, listed.stderr
    assert "json_topic" in listed.stdout.splitlines()

    ids = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 ls /brokers/ids"), env)
    assert ids.returncode == 0, ids.stderr
    assert ids.stdout.splitlines()[0] == f"Connecting to localhost:{zk_port}"
    assert "WatchedEvent state:SyncConnected type:None path:null" in ids.stdout
    assert ids.stdout.splitlines()[-1] == "[0]"
    registration = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 get /brokers/ids/0"), env)
    data = json.loads(registration.stdout.splitlines()[-1])
    assert data["endpoints"] == [f"PLAINTEXT://localhost:{kafka_port}"]
    assert (data["host"], data["port"], data["version"]) == ("localhost", kafka_port, 5)
    topics = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 ls /brokers/topics"), env)
    assert "json_topic" in topics.stdout.splitlines()[-1]
    tree = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 ls -R /brokers"), env)
    assert tree.returncode == 0, tree.stderr
    assert "/brokers/topics/json_topic/partitions/0/state" in tree.stdout.splitlines()
    state = sh(
        cmd(
            "$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 get /brokers/topics/json_topic/partitions/0/state"
        ),
        env,
    )
    assert json.loads(state.stdout.splitlines()[-1])["leader"] == 0
    # ls -R walks as ZooKeeper's ZKUtil.visitSubTreeDFS: a node's sorted children, then their subtrees
    walked = tree.stdout.splitlines()[tree.stdout.splitlines().index("/brokers") :]
    assert walked[:5] == ["/brokers", "/brokers/ids", "/brokers/seqid", "/brokers/topics", "/brokers/ids/0"]
    stat = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 stat /brokers/ids/0"), env)
    assert stat.returncode == 0, stat.stderr
    block = stat.stdout.splitlines()[-11:]
    assert [line.split(" = ")[0] for line in block] == [
        "cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion", "aclVersion",
        "ephemeralOwner", "dataLength", "numChildren",
    ]  # fmt: skip
    assert block[-2:] == [f"dataLength = {len(registration.stdout.splitlines()[-1])}", "numChildren = 0"]
    with_stat = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 get -s /brokers/ids/0"), env)
    assert with_stat.stdout.splitlines()[-12:] == [registration.stdout.splitlines()[-1], *block]
    write = sh(cmd("$CONFLUENT_HOME/bin/zookeeper-shell localhost:2181 create /demo hello"), env)
    assert write.returncode == 1
    assert write.stderr.strip().startswith("create: kcli's coordination service is read-only")

    # Kafka 2.x's topic config change through ZooKeeper, with its deprecation warning
    altered = sh(
        cmd(
            "$CONFLUENT_HOME/bin/kafka-topics --zookeeper localhost:2181 --alter --topic json_topic --config retention.ms=86400000"
        ),
        env,
    )
    assert altered.returncode == 0, altered.stderr
    assert altered.stdout.splitlines() == [
        "WARNING: Altering topic configuration from this script has been deprecated and may be removed in future releases.",
        "         Going forward, please use kafka-configs.sh for this functionality",
        "Updated config for topic json_topic.",
    ]
    described = sh(
        cmd("$CONFLUENT_HOME/bin/kafka-topics --describe --topic json_topic --zookeeper localhost:2181"), env
    )
    assert "Configs: retention.ms=86400000" in described.stdout.splitlines()[0]

    # The Spark job of the slides, as the Python example.
    job = sh(
        f"{sys.executable} {ROOT / 'examples/avg_age.py'} --bootstrap-server localhost:{kafka_port}", env
    )
    assert job.returncode == 0, job.stderr

    consumed = sh(
        cmd(
            "$CONFLUENT_HOME/bin/kafka-console-consumer --topic avg_age --from-beginning "
            "--bootstrap-server localhost:9092 \\\n"
            "  --property print.key=true \\\n"
            "  --property key.deserializer=org.apache.kafka.common.serialization.StringDeserializer \\\n"
            "  --property value.deserializer=org.apache.kafka.common.serialization.StringDeserializer"
            " --max-messages 1"
        ),
        env,
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == '3\t{"avg_age":29.333333333333332,"count":3}\n'
    assert "Processed a total of 1 messages" in consumed.stderr


def test_broker_without_zookeeper_says_start_it_first(
    env: dict[str, str], servers: list[Server], tmp_path: Path
) -> None:
    kafka_port, zk_port = free_ports(2)
    home = prepare_home(env, tmp_path, kafka_port, zk_port)
    set_properties(home / "etc/kafka/server.properties", {"zookeeper.connection.timeout.ms": "500"})
    broker = Server("$CONFLUENT_HOME/bin/kafka-server-start $CONFLUENT_HOME/etc/kafka/server.properties", env)
    servers.append(broker)
    assert broker.proc.wait(60) == 1
    assert (
        f"Timed out waiting for connection to ZooKeeper at localhost:{zk_port}: start ZooKeeper first"
        in broker.text()
    )

    listed = sh(f"$CONFLUENT_HOME/bin/kafka-topics --list --zookeeper localhost:{zk_port}", env)
    assert listed.returncode == 1
    assert f"Nothing listens at localhost:{zk_port}" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1


def test_daemon_mode_and_stop_scripts(env: dict[str, str], servers: list[Server], tmp_path: Path) -> None:
    """``-daemon`` starts in the background (logs under $KCLI_HOME/logs); the stop scripts end them."""
    kafka_port, zk_port = free_ports(2)
    prepare_home(env, tmp_path, kafka_port, zk_port)
    kcli_home = Path(env["KCLI_HOME"])
    assert (
        sh(
            "$CONFLUENT_HOME/bin/zookeeper-server-start -daemon $CONFLUENT_HOME/etc/kafka/zookeeper.properties",
            env,
        ).returncode
        == 0
    )
    assert wait_port(zk_port)
    assert (
        sh(
            "$CONFLUENT_HOME/bin/kafka-server-start -daemon $CONFLUENT_HOME/etc/kafka/server.properties", env
        ).returncode
        == 0
    )
    assert wait_port(kafka_port)
    assert wait_until(
        lambda: sh(f"zookeeper-shell localhost:{zk_port} ls /brokers/ids", env).stdout.endswith("[0]\n")
    )
    assert (kcli_home / "logs" / "zookeeper.out").exists()
    assert (kcli_home / "logs" / "server.log").exists()
    assert sorted(p.name for p in (kcli_home / "run").glob("*.pid")) == [
        f"kafka-server-{kafka_port}.pid",
        f"zookeeper-{zk_port}.pid",
    ]

    assert sh("$CONFLUENT_HOME/bin/kafka-server-stop", env).returncode == 0
    assert wait_until(lambda: not (kcli_home / "run" / f"kafka-server-{kafka_port}.pid").exists())
    assert sh("$CONFLUENT_HOME/bin/zookeeper-server-stop", env).returncode == 0
    assert wait_until(lambda: live_pid_files(kcli_home) == [])
