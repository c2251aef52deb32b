"""``kcli env``'s ``$CONFLUENT_HOME``: a Confluent Platform-shaped directory for the lecture's paths.

Slides type ``$CONFLUENT_HOME/bin/kafka-server-start $CONFLUENT_HOME/etc/kafka/server.properties``
and the Apache quickstart types ``bin/kafka-server-start.sh config/server.properties``; both work
when this directory exists. ``bin/`` holds one tiny shell script per tool name (with and without
``.sh``) that runs the tool with the Python kcli is installed in, so no PATH juggling of virtual
environments is needed. Property files are written once and then left alone (students edit them);
the scripts are rewritten each time because the Python they point at may have changed.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from kcli.commands import COMMANDS

# Confluent Platform 7.x's etc/kafka/server.properties: ZooKeeper mode. Comments are ours.
ZK_SERVER_PROPERTIES = """\
# Broker settings in ZooKeeper mode, the layout of Confluent Platform 7.x.
# Start ZooKeeper first:  zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties
# then the broker:        kafka-server-start $CONFLUENT_HOME/etc/kafka/server.properties

# This broker's id; unique within the cluster.
broker.id=0

# Where clients connect. Without it the broker listens on PLAINTEXT://:9092 and advertises localhost.
#listeners=PLAINTEXT://:9092
#advertised.listeners=PLAINTEXT://your.host.name:9092

# Thread pools of the JVM broker (kept for familiarity; kcli's broker is one asyncio loop).
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600

# Where partition logs live: <log.dirs>/<topic>-<partition>/00000000000000000000.log
log.dirs=/tmp/kafka-logs
num.partitions=1
num.recovery.threads.per.data.dir=1

# Internal topics: one replica each on a single-broker laptop cluster.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1

# Retention: a week, or until a segment of 1 GiB rolls; checked every 5 minutes.
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000

# The coordination service started by zookeeper-server-start.
zookeeper.connect=localhost:2181
zookeeper.connection.timeout.ms=18000

# Consumers of a new group start at once instead of waiting for more members.
group.initial.rebalance.delay.ms=0
"""

ZOOKEEPER_PROPERTIES = """\
# The ZooKeeper-mode coordination service: zookeeper-server-start $CONFLUENT_HOME/etc/kafka/zookeeper.properties
# Where it keeps its state (the cluster id).
dataDir=/tmp/zookeeper
# The port brokers and --zookeeper tools connect to.
clientPort=2181
# No limit on connections per client address.
maxClientCnxns=0
# The admin web server is not part of kcli.
admin.enableServer=false
"""

KRAFT_SERVER_PROPERTIES = """\
# Broker and controller in one process (KRaft mode, no ZooKeeper), the layout of Confluent Platform 7.x.
# Format the storage once, then start:
#   kafka-storage format -t $(kafka-storage random-uuid) -c $CONFLUENT_HOME/etc/kafka/kraft/server.properties
#   kafka-server-start $CONFLUENT_HOME/etc/kafka/kraft/server.properties
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
num.network.threads=3
num.io.threads=8
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"""

# Apache Kafka 4.x's config/server.properties: KRaft only, combined broker and controller.
APACHE_SERVER_PROPERTIES = """\
# Apache Kafka 4.x layout (KRaft mode, broker and controller in one process), for the quickstart:
#   KAFKA_CLUSTER_ID="$(bin/kafka-storage.sh random-uuid)"
#   bin/kafka-storage.sh format --standalone -t $KAFKA_CLUSTER_ID -c config/server.properties
#   bin/kafka-server-start.sh config/server.properties
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"""

SCHEMA_REGISTRY_PROPERTIES = """\
# Schema registry: schema-registry-start $CONFLUENT_HOME/etc/schema-registry/schema-registry.properties
listeners=http://0.0.0.0:8081
kafkastore.bootstrap.servers=PLAINTEXT://localhost:9092
kafkastore.topic=_schemas
debug=false
"""

# Client, Connect and KRaft node files as Apache Kafka's config/ ships them (keys and values are
# Kafka's; the comments are ours). Confluent Platform's etc/kafka/ copies differ only where noted.
PRODUCER_PROPERTIES = """\
# Producer settings for --producer.config (see Kafka's ProducerConfig for every key).
bootstrap.servers=localhost:9092
# none, gzip, snappy, lz4 or zstd
compression.type=none
#partitioner.class=
#request.timeout.ms=
#max.block.ms=
#linger.ms=
#max.request.size=
#batch.size=
#buffer.memory=
"""

CONSUMER_PROPERTIES = """\
# Consumer settings for --consumer.config (see Kafka's ConsumerConfig for every key).
bootstrap.servers=localhost:9092
group.id=test-consumer-group
# latest, earliest or none
#auto.offset.reset=
"""


def _connect_standalone(plugin_path: str) -> str:
    return f"""\
# A standalone Connect worker: connect-standalone connect-standalone.properties connector.properties...
bootstrap.servers=localhost:9092

# How records are written to and read from Kafka; *.schemas.enable wraps JSON in Kafka's
# {{"schema": ..., "payload": ...}} envelope.
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true

# Where source connectors' offsets are kept between runs; flushed every 10 s.
offset.storage.file.filename=/tmp/connect.offsets
offset.flush.interval.ms=10000

# Directories of connector plug-ins (kcli: directories of Python modules; jars are skipped).
{plugin_path}
"""


def _connect_distributed(plugin_path: str) -> str:
    return f"""\
# A distributed Connect worker: connect-distributed connect-distributed.properties
bootstrap.servers=localhost:9092

# Workers with the same group.id form one Connect cluster (not to be shared with a consumer group).
group.id=connect-cluster

key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true

# Internal topics, created when missing; one replica each so that one broker is enough.
offset.storage.topic=connect-offsets
offset.storage.replication.factor=1
#offset.storage.partitions=25
config.storage.topic=connect-configs
config.storage.replication.factor=1
status.storage.topic=connect-status
status.storage.replication.factor=1
#status.storage.partitions=5

offset.flush.interval.ms=10000

# The REST API (default HTTP://:8083) and the address other workers use to reach it.
#listeners=HTTP://:8083
#rest.advertised.host.name=
#rest.advertised.port=
#rest.advertised.listener=

{plugin_path}
"""


CONNECT_FILE_SOURCE_PROPERTIES = """\
name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=test.txt
topic=connect-test
"""

CONNECT_FILE_SINK_PROPERTIES = """\
name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=test.sink.txt
topics=connect-test
"""

CONNECT_LOG4J_PROPERTIES = """\
# Kafka Connect's log4j settings. kcli's workers log in this layout to stdout; the file is kept
# because Kafka's scripts and labs refer to it.
log4j.rootLogger=INFO, stdout, connectAppender
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.connectAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.connectAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.connectAppender.File=${kafka.logs.dir}/connect.log
log4j.appender.connectAppender.layout=org.apache.log4j.PatternLayout
connect.log.pattern=[%d] %p %X{connector.context}%m (%c:%L)%n
log4j.appender.stdout.layout.ConversionPattern=${connect.log.pattern}
log4j.appender.connectAppender.layout.ConversionPattern=${connect.log.pattern}
"""

_NODE_COMMON = """\
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs={log_dirs}
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"""


def _kraft_broker(quorum: str) -> str:
    return (
        "# A broker-only KRaft node; start the controller (controller.properties) first.\n"
        "process.roles=broker\n"
        "node.id=2\n"
        f"{quorum}\n"
        "listeners=PLAINTEXT://localhost:9092\n"
        "inter.broker.listener.name=PLAINTEXT\n"
        "advertised.listeners=PLAINTEXT://localhost:9092\n"
        "controller.listener.names=CONTROLLER\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n"
        + _NODE_COMMON.format(log_dirs="/tmp/kraft-broker-logs")
    )


def _kraft_controller(quorum: str, advertised: bool) -> str:
    return (
        "# A controller-only KRaft node: it keeps the cluster metadata; brokers name it in their quorum setting.\n"
        "process.roles=controller\n"
        "node.id=1\n"
        f"{quorum}\n"
        "listeners=CONTROLLER://:9093\n"
        + ("advertised.listeners=CONTROLLER://localhost:9093\n" if advertised else "")
        + "controller.listener.names=CONTROLLER\n"
        + _NODE_COMMON.format(log_dirs="/tmp/kraft-controller-logs")
    )


APACHE_QUORUM = "controller.quorum.bootstrap.servers=localhost:9093"
CP_QUORUM = "controller.quorum.voters=1@localhost:9093"

FILES: dict[str, str] = {
    "etc/kafka/server.properties": ZK_SERVER_PROPERTIES,
    "etc/kafka/zookeeper.properties": ZOOKEEPER_PROPERTIES,
    "etc/kafka/kraft/server.properties": KRAFT_SERVER_PROPERTIES,
    "etc/schema-registry/schema-registry.properties": SCHEMA_REGISTRY_PROPERTIES,
    "config/server.properties": APACHE_SERVER_PROPERTIES,
    "config/zookeeper.properties": ZOOKEEPER_PROPERTIES,
    # The REST Proxy's shipped settings (kafka-rest-start etc/kafka-rest/kafka-rest.properties).
    "etc/kafka-rest/kafka-rest.properties": (
        Path(__file__).parent / "rest_proxy" / "kafka-rest.properties"
    ).read_text(),
    # Clients, Connect and KRaft nodes: Apache Kafka's config/ (3.x kraft/ and 4.x top-level names)
    "config/producer.properties": PRODUCER_PROPERTIES,
    "config/consumer.properties": CONSUMER_PROPERTIES,
    "config/connect-standalone.properties": _connect_standalone("#plugin.path="),
    "config/connect-distributed.properties": _connect_distributed("#plugin.path="),
    "config/connect-file-source.properties": CONNECT_FILE_SOURCE_PROPERTIES,
    "config/connect-file-sink.properties": CONNECT_FILE_SINK_PROPERTIES,
    "config/connect-log4j.properties": CONNECT_LOG4J_PROPERTIES,
    "config/kraft/broker.properties": _kraft_broker(APACHE_QUORUM),
    "config/kraft/controller.properties": _kraft_controller(APACHE_QUORUM, advertised=True),
    "config/broker.properties": _kraft_broker(APACHE_QUORUM),
    "config/controller.properties": _kraft_controller(APACHE_QUORUM, advertised=True),
    # ... and Confluent Platform 7.x's etc/kafka/ (plugin.path and the static quorum differ)
    "etc/kafka/producer.properties": PRODUCER_PROPERTIES,
    "etc/kafka/consumer.properties": CONSUMER_PROPERTIES,
    "etc/kafka/connect-standalone.properties": _connect_standalone("plugin.path=/usr/share/java"),
    "etc/kafka/connect-distributed.properties": _connect_distributed("plugin.path=/usr/share/java"),
    "etc/kafka/connect-file-source.properties": CONNECT_FILE_SOURCE_PROPERTIES,
    "etc/kafka/connect-file-sink.properties": CONNECT_FILE_SINK_PROPERTIES,
    "etc/kafka/connect-log4j.properties": CONNECT_LOG4J_PROPERTIES,
    "etc/kafka/kraft/broker.properties": _kraft_broker(CP_QUORUM),
    "etc/kafka/kraft/controller.properties": _kraft_controller(CP_QUORUM, advertised=False),
}


def default_home() -> Path:
    """``$KCLI_CONFLUENT_HOME``, else ``<kcli home>/confluent`` (``~/.kcli/confluent``)."""
    from kcli.paths import kcli_home

    value = os.environ.get("KCLI_CONFLUENT_HOME")
    return Path(value).expanduser() if value else kcli_home() / "confluent"


def script(module: str, python: str | None = None, name: str = "") -> str:
    """A POSIX shell script running ``module``'s ``main()`` with this Python (argv passed through).

    ``sys.argv[0]`` is set to the command's name so messages that quote it read as the tool's.
    """
    python = python or sys.executable
    code = (
        f"import sys; sys.argv[0] = {json.dumps(name or module)}; from {module} import main; sys.exit(main())"
    )
    return f'#!/bin/sh\n# Written by kcli env: runs {module}.\nexec {shlex.quote(python)} -c {shlex.quote(code)} "$@"\n'


def layout(home: Path, python: str | None = None) -> Path:
    """Create (or refresh the scripts of) a Confluent-style home at ``home``; returns it resolved."""
    home = home.expanduser().resolve()
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, module in COMMANDS.items():
        for filename in (name, f"{name}.sh"):
            text = script(module, python, filename)
            path = bin_dir / filename
            if not path.exists() or path.read_text() != text:
                tmp = bin_dir / f".{filename}.tmp"
                tmp.write_text(text)
                tmp.chmod(0o755)
                os.replace(tmp, path)
    for relative, text in FILES.items():
        path = home / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return home


def env_lines(home: Path, shell: str) -> list[str]:
    """The lines ``eval "$(kcli env)"`` (or fish's ``| source``) runs, with an install hint as a comment."""
    quoted = shlex.quote(str(home))
    if shell == "fish":
        return [
            f"set -gx CONFLUENT_HOME {quoted}",
            "set -gx PATH $CONFLUENT_HOME/bin $PATH",
            "# To set this in every new shell, add to ~/.config/fish/config.fish:  kcli env --shell fish | source",
        ]
    rc = {"zsh": "~/.zshrc", "bash": "~/.bashrc"}.get(shell, "~/.profile")
    return [
        f"export CONFLUENT_HOME={quoted}",
        'export PATH="$CONFLUENT_HOME/bin:$PATH"',
        f'# To set this in every new shell, add to {rc}:  eval "$(kcli env)"',
    ]


def detect_shell() -> str:
    """The user's login shell name from ``$SHELL`` (bash when unknown)."""
    name = Path(os.environ.get("SHELL", "bash")).name
    return name if name in ("bash", "zsh", "fish", "sh") else "bash"
