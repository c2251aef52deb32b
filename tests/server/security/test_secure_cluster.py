"""A KRaft cluster of a controller and 3 brokers whose only listener is SASL_SSL: the brokers
replicate to each other over SASL_SSL (PLAIN as the inter-broker mechanism), and ACLs and SCRAM
users made through one broker are cluster metadata, enforced and accepted by every broker."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.broker_process import BrokerProcess, free_port
from tests.cluster_process import CONTROLLER_MARKER
from tests.server.security.secure_broker import PLAIN_MODULE, SCRAM_MODULE, USERS, make_certificates
from tests.waiting import wait_for


class SecureCluster:
    def __init__(self, workdir: Path):
        self.certs = workdir / "certs"
        self.certs.mkdir(parents=True)
        make_certificates(self.certs)
        controller_port = free_port()
        voters = f"100@127.0.0.1:{controller_port}"
        self.controller = BrokerProcess(
            workdir / "controller",
            {"node.id": "100", "process.roles": "controller", "listeners": f"CONTROLLER://127.0.0.1:{controller_port}",
             "controller.listener.names": "CONTROLLER", "controller.quorum.voters": voters},
            port=controller_port, marker=CONTROLLER_MARKER,
        )  # fmt: skip
        plain = (
            f'{PLAIN_MODULE} required username="admin" password="admin-secret" '
            + " ".join(f'user_{u}="{p}"' for u, p in USERS.items())
            + ";"
        )
        scram = f'{SCRAM_MODULE} required username="admin" password="admin-secret";'
        self.ports = [free_port() for _ in range(3)]
        self.brokers = []
        for i, port in enumerate(self.ports):
            settings = {
                "node.id": str(i),
                "process.roles": "broker",
                "controller.quorum.voters": voters,
                "controller.listener.names": "CONTROLLER",
                "listeners": f"SASL_SSL://127.0.0.1:{port}",
                "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name": "SASL_SSL",
                "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol": "PLAIN",
                "listener.name.sasl_ssl.plain.sasl.jaas.config": plain,
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(self.certs / "broker.keystore.pem"),
                "ssl.key.password": "broker-key-secret",
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(self.certs / "ca.pem"),
                "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users": "User:admin",
                "offsets.topic.replication.factor": "3",
                "default.replication.factor": "3",
                "min.insync.replicas": "2",
                "group.initial.rebalance.delay.ms": "0",
                "replica.lag.time.max.ms": "10000",
            }
            self.brokers.append(BrokerProcess(workdir / f"broker-{i}", settings, port=port))

    def conf(self, broker: int, user: str, mechanism: str = "PLAIN", password: str | None = None) -> dict:
        return {
            "bootstrap.servers": f"127.0.0.1:{self.ports[broker]}",
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(self.certs / "ca.pem"),
            "sasl.mechanisms": mechanism,
            "sasl.username": user,
            "sasl.password": USERS.get(user, "") if password is None else password,
        }

    def start(self) -> SecureCluster:
        try:
            self.controller.start()
            for broker in self.brokers:
                broker.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()
        self.controller.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureCluster]:
    c = SecureCluster(tmp_path_factory.mktemp("secure-cluster")).start()
    try:
        yield c
    finally:
        c.stop()


def test_replication_over_sasl_ssl(cluster: SecureCluster) -> None:
    admin = AdminClient(cluster.conf(0, "admin"))
    admin.create_topics([NewTopic("replicated", 1, 3)])["replicated"].result(30)

    def in_sync() -> bool:
        partition = admin.list_topics("replicated", timeout=10).topics["replicated"].partitions[0]
        return sorted(partition.isrs) == [0, 1, 2]

    wait_for(in_sync, 30, "the partition's ISR to be all three brokers")
    producer = Producer({**cluster.conf(1, "admin"), "acks": "all"})
    for i in range(20):
        producer.produce("replicated", f"r{i}".encode())
    assert producer.flush(30) == 0
    leader = admin.list_topics("replicated", timeout=10).topics["replicated"].partitions[0].leader
    cluster.brokers[leader].kill()  # the data is on the other two, replicated over SASL_SSL
    survivor = next(i for i in range(3) if i != leader)
    consumer = Consumer(
        {**cluster.conf(survivor, "admin"), "group.id": "replicated", "auto.offset.reset": "earliest"}
    )
    consumer.assign([TopicPartition("replicated", 0, 0)])
    values: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(values) < 20 and time.monotonic() < deadline:
        values += [m.value() for m in consumer.consume(50, 0.5) if m.error() is None]
    consumer.close()
    cluster.brokers[leader].start()
    assert values == [f"r{i}".encode() for i in range(20)]


def test_acls_and_scram_users_are_cluster_metadata(cluster: SecureCluster, tmp_path: Path) -> None:
    admin_properties = tmp_path / "admin.properties"
    admin_properties.write_text(
        "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
        f'sasl.jaas.config={PLAIN_MODULE} required username="admin" password="admin-secret";\n'
        f"ssl.truststore.type=PEM\nssl.truststore.location={cluster.certs / 'ca.pem'}\n"
    )
    via_broker_0 = [
        "--bootstrap-server",
        f"127.0.0.1:{cluster.ports[0]}",
        "--command-config",
        str(admin_properties),
    ]
    created = subprocess.run(
        ["kafka-configs", *via_broker_0, "--alter", "--add-config", "SCRAM-SHA-512=[password=carol-secret]",
         "--entity-type", "users", "--entity-name", "carol"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    granted = subprocess.run(
        ["kafka-acls", *via_broker_0, "--add", "--allow-principal", "User:carol", "--producer", "--topic", "audit"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    admin = AdminClient(cluster.conf(0, "admin"))
    for future in admin.create_topics([NewTopic("audit", 1, 3), NewTopic("secret", 1, 3)]).values():
        future.result(30)
    for broker in (1, 2):  # carol logs in with SCRAM and is authorised on the other brokers too
        conf = {
            **cluster.conf(broker, "carol", "SCRAM-SHA-512", "carol-secret"),
            "bootstrap.servers": f"127.0.0.1:{cluster.ports[broker]}",
        }
        reports: list = []
        producer = Producer({**conf, "message.timeout.ms": 15000})
        for topic in ("audit", "secret"):
            producer.produce(topic, b"x", on_delivery=lambda err, msg, seen=reports: seen.append(err))
        producer.flush(30)
        errors = sorted((e.code() if e else 0) for e in reports)
        assert errors == [0, KafkaError.TOPIC_AUTHORIZATION_FAILED], errors
    with pytest.raises(KafkaException):
        AdminClient(cluster.conf(2, "carol", "SCRAM-SHA-512", "wrong")).list_topics(timeout=5)


def test_transactions_across_sasl_ssl_brokers(cluster: SecureCluster) -> None:
    """A transaction over partitions led by different brokers: the coordinator's markers and the
    partition leaders' verification travel between brokers over SASL_SSL."""
    admin = AdminClient(cluster.conf(0, "admin"))
    admin.create_topics([NewTopic("ledger", 3, 3)])["ledger"].result(30)
    producer = Producer(
        {**cluster.conf(1, "admin"), "transactional.id": "cluster-tx", "transaction.timeout.ms": 15000}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for partition in range(3):
        producer.produce("ledger", f"p{partition}".encode(), partition=partition)
    producer.commit_transaction(30)
    consumer = Consumer({**cluster.conf(2, "admin"), "group.id": "ledger-readers", "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe(["ledger"])
    values: set[bytes] = set()
    deadline = time.monotonic() + 30
    while len(values) < 3 and time.monotonic() < deadline:
        values |= {m.value() for m in consumer.consume(10, 0.5) if m.error() is None}
    consumer.close()
    assert values == {b"p0", b"p1", b"p2"}
