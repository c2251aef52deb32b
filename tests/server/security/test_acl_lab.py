"""The ACL lab of a security course, on a broker with StandardAuthorizer and super.users=User:admin.

alice may produce to ``orders``; bob may only consume ``orders`` with group ``billing``. Every
operation they are not granted gets Kafka's authorization error (TOPIC_, GROUP_,
CLUSTER_AUTHORIZATION_FAILED), Metadata hides topics they may not describe, and ``kafka-acls``
adds, lists and removes ACLs with Kafka's output.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType
from kio.schema.errors import ErrorCode

from tests.server.security.raw_client import RawClient, plain_login
from tests.server.security.secure_broker import SecureBroker, start_secure_broker

AUTHORIZER = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start_secure_broker(tmp_path_factory.mktemp("acl-lab"), AUTHORIZER)
    try:
        admin = AdminClient(broker.librdkafka("SASL_PLAINTEXT", "SCRAM-SHA-256", user="admin"))
        for future in admin.create_topics([NewTopic("orders", 1, 1), NewTopic("payments", 1, 1)]).values():
            future.result(30)
        yield broker
    finally:
        broker.process.stop()


def acls(broker: SecureBroker, *args: str, user: str = "admin") -> subprocess.CompletedProcess[str]:
    config = broker.java_properties("SASL_PLAINTEXT", "SCRAM-SHA-512", user)
    return subprocess.run(
        ["kafka-acls", "--bootstrap-server", broker.bootstrap("SASL_PLAINTEXT"), "--command-config", config, *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def conf(broker: SecureBroker, user: str) -> dict:
    return broker.librdkafka("SASL_PLAINTEXT", "SCRAM-SHA-256", user=user)


def produce_error(broker: SecureBroker, user: str, topic: str) -> KafkaError | None:
    reports: list = []
    producer = Producer({**conf(broker, user), "message.timeout.ms": 10000})
    producer.produce(topic, b"x", on_delivery=lambda err, msg: reports.append(err))
    producer.flush(30)
    assert reports, "no delivery report"
    return reports[0]


def consume(broker: SecureBroker, user: str, group: str, topic: str) -> tuple[list[bytes], list[int]]:
    """Values read and error codes seen by a group consumer within a few seconds."""
    consumer = Consumer({**conf(broker, user), "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values, errors = [], []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not values and not errors:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error() is not None:
            errors.append(message.error().code())
        else:
            values.append(message.value())
    consumer.close()
    return values, errors


def test_acl_lab(lab: SecureBroker) -> None:
    added = acls(lab, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(
        "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n"
        " \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW) \n\n"
    )
    consumer_acls = acls(
        lab, "--add", "--allow-principal", "User:bob", "--consumer", "--topic", "orders", "--group", "billing"
    )
    assert consumer_acls.returncode == 0, consumer_acls.stderr

    listing = acls(lab, "--list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout == (
        "Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=billing, patternType=LITERAL)`: \n"
        " \t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW) \n\n"
        "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n"
        " \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)\n"
        "\t(principal=User:bob, host=*, operation=DESCRIBE, permissionType=ALLOW)\n"
        "\t(principal=User:bob, host=*, operation=READ, permissionType=ALLOW) \n\n"
    )

    # alice: produce to orders only
    assert produce_error(lab, "alice", "orders") is None
    assert produce_error(lab, "alice", "payments").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    _values, errors = consume(lab, "alice", "billing", "orders")
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in errors

    # bob: consume orders with group billing only
    values, errors = consume(lab, "bob", "billing", "orders")
    assert values == [b"x"] and not errors
    _values, errors = consume(lab, "bob", "other-group", "orders")
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in errors
    assert produce_error(lab, "bob", "orders").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # a topic bob may describe but not read, by assignment (no group needed): the Fetch is refused
    describe = acls(
        lab, "--add", "--allow-principal", "User:bob", "--operation", "Describe", "--topic", "payments"
    )
    assert describe.returncode == 0, describe.stderr
    reader = Consumer({**conf(lab, "bob"), "group.id": "billing", "enable.auto.commit": False})
    reader.assign([TopicPartition("payments", 0, 0)])
    message = None
    deadline = time.monotonic() + 15
    while message is None and time.monotonic() < deadline:
        message = reader.poll(0.5)
    reader.close()
    assert message is not None and message.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # Metadata hides what a principal may not describe; admin sees everything
    assert set(AdminClient(conf(lab, "alice")).list_topics(timeout=10).topics) == {"orders"}
    assert {"orders", "payments"} <= set(AdminClient(conf(lab, "admin")).list_topics(timeout=10).topics)

    # admin operations
    alice_admin = AdminClient(conf(lab, "alice"))
    with pytest.raises(KafkaException) as exc:
        alice_admin.create_topics([NewTopic("alices-own", 1, 1)])["alices-own"].result(30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException) as exc:
        alice_admin.describe_configs([ConfigResource(ResourceType.TOPIC, "payments")])[
            ConfigResource(ResourceType.TOPIC, "payments")
        ].result(30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException) as exc:
        alice_admin.describe_configs([ConfigResource(ResourceType.BROKER, "0")])[
            ConfigResource(ResourceType.BROKER, "0")
        ].result(30)
    assert exc.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    denied = acls(
        lab, "--add", "--allow-principal", "User:alice", "--operation", "All", "--topic", "*", user="alice"
    )
    assert denied.returncode == 1 and "Cluster authorization failed" in denied.stderr
    # (librdkafka drops DescribeAcls' top-level error, so alice's --list prints nothing: no ACL leaks)
    assert acls(lab, "--list", user="alice").stdout == ""

    # a deny wins over an allow; --remove takes it away again
    deny = acls(lab, "--add", "--deny-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    assert deny.returncode == 0, deny.stderr
    assert produce_error(lab, "alice", "orders").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    removed = acls(
        lab,
        "--remove",
        "--force",
        "--deny-principal",
        "User:alice",
        "--operation",
        "Write",
        "--topic",
        "orders",
    )
    assert removed.returncode == 0, removed.stderr
    assert produce_error(lab, "alice", "orders") is None


def test_acls_survive_a_restart(lab: SecureBroker) -> None:
    added = acls(
        lab,
        "--add",
        "--allow-principal",
        "User:bob",
        "--operation",
        "Read",
        "--topic",
        "audit-",
        "--resource-pattern-type",
        "prefixed",
    )
    assert added.returncode == 0, added.stderr
    lab.process.kill()
    lab.process.start()
    listing = acls(lab, "--list", "--topic", "audit-", "--resource-pattern-type", "prefixed")
    assert "(principal=User:bob, host=*, operation=READ, permissionType=ALLOW)" in listing.stdout


def test_nothing_stored_is_readable_through_an_unauthorised_path(lab: SecureBroker) -> None:
    """ListOffsets, OffsetFetch, DescribeConfigs and the TUI's data source: bob (no ACL on
    ``payroll``, no group ``payroll-readers``) learns nothing about what admin stored there."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    from kcli.cluster_view.kafka import KafkaSource
    from kcli.cluster_view.source import KafkaDataError

    admin = AdminClient(conf(lab, "admin"))
    admin.create_topics([NewTopic("payroll", 1, 1)])["payroll"].result(30)
    producer = Producer(conf(lab, "admin"))
    producer.produce("payroll", b"salary: 1,000,000")
    assert producer.flush(30) == 0
    committer = Consumer({**conf(lab, "admin"), "group.id": "payroll-readers"})
    committer.commit(offsets=[TopicPartition("payroll", 0, 1)], asynchronous=False)
    committer.close()

    bob_admin = AdminClient(conf(lab, "bob"))
    # ListOffsets: refused with Kafka's error (asked on the wire; librdkafka stops earlier, at the
    # Metadata that hides the topic)
    with RawClient(lab.sasl_port) as raw:
        assert plain_login(raw, "bob", "bob-secret").error_code == 0
        offsets = raw.request(
            2, 7, {"replica_id": -1, "isolation_level": 0,
                   "topics": [{"name": "payroll", "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}]},
        )  # fmt: skip
        partition = offsets.topics[0].partitions[0]
        assert (partition.error_code, partition.offset) == (KafkaError.TOPIC_AUTHORIZATION_FAILED, -1)
    # OffsetFetch: the group's committed offsets are refused
    futures = bob_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("payroll-readers")])
    with pytest.raises(KafkaException) as exc:
        futures["payroll-readers"].result(30)
    assert exc.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    # the TUI's data source, with bob's settings: no topic, and no records if asked by name
    bob_file = lab.java_properties("SASL_PLAINTEXT", "SCRAM-SHA-256", "bob")
    source = KafkaSource(lab.bootstrap("SASL_PLAINTEXT"), bob_file)
    try:
        assert "payroll" not in [t.name for t in source.topics()]
        try:
            records = source.browse("payroll")
        except KafkaDataError:
            records = []
        assert records == []
    finally:
        source.close()


def test_broker_passwords_are_never_described(lab: SecureBroker) -> None:
    from confluent_kafka.admin import ConfigResource, ResourceType

    resource = ConfigResource(ResourceType.BROKER, "0")
    admin = AdminClient(conf(lab, "admin"))
    configs = admin.describe_configs([resource])[resource].result(30)
    for name in ("ssl.key.password", "listener.name.sasl_ssl.plain.sasl.jaas.config"):
        assert configs[name].is_sensitive and configs[name].value is None, name
    assert configs["ssl.keystore.type"].value == "PEM"


def test_mutual_tls_principal_is_the_mapped_certificate_name(lab: SecureBroker) -> None:
    """On the SSL listener the principal is the client certificate's DN mapped by
    ssl.principal.mapping.rules (CN=alice,OU=lab,O=kcli -> User:alice), so ACLs name it plainly."""
    granted = acls(
        lab, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "mtls-orders"
    )
    assert granted.returncode == 0, granted.stderr
    admin = AdminClient(conf(lab, "admin"))
    admin.create_topics([NewTopic("mtls-orders", 1, 1)])["mtls-orders"].result(30)
    outcomes = {}
    for user in ("alice", "bob"):
        reports: list = []
        producer = Producer({**lab.librdkafka("SSL", user=user), "message.timeout.ms": 10000})
        producer.produce("mtls-orders", b"x", on_delivery=lambda err, msg, seen=reports: seen.append(err))
        producer.flush(30)
        outcomes[user] = reports[0].code() if reports[0] else 0
    assert outcomes == {"alice": 0, "bob": KafkaError.TOPIC_AUTHORIZATION_FAILED}


def test_kip848_consumer_groups_are_authorised_too(lab: SecureBroker) -> None:
    """The new consumer group protocol (ConsumerGroupHeartbeat/Describe) needs READ on the group."""
    granted = acls(
        lab,
        "--add",
        "--allow-principal",
        "User:bob",
        "--consumer",
        "--topic",
        "kip848",
        "--group",
        "new-protocol",
    )
    assert granted.returncode == 0, granted.stderr
    admin = AdminClient(conf(lab, "admin"))
    admin.create_topics([NewTopic("kip848", 1, 1)])["kip848"].result(30)
    producer = Producer(conf(lab, "admin"))
    producer.produce("kip848", b"next generation")
    assert producer.flush(30) == 0
    outcomes = {}
    for group in ("new-protocol", "someone-elses"):
        consumer = Consumer(
            {
                **conf(lab, "bob"),
                "group.id": group,
                "group.protocol": "consumer",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe(["kip848"])
        outcome = None
        deadline = time.monotonic() + 20
        while outcome is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                outcome = message.error().code() if message.error() else message.value()
        consumer.close()
        outcomes[group] = outcome
    assert outcomes == {
        "new-protocol": b"next generation",
        "someone-elses": KafkaError.GROUP_AUTHORIZATION_FAILED,
    }


def test_transactions_need_their_transactional_id(lab: SecureBroker) -> None:
    """A transactional producer needs WRITE on its transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    without it); with ``kafka-acls --producer --transactional-id`` it commits, and a read_committed
    consumer allowed to read sees the records."""
    admin = AdminClient(conf(lab, "admin"))
    admin.create_topics([NewTopic("ledger", 1, 1)])["ledger"].result(30)
    topic_only = acls(
        lab, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "ledger"
    )
    assert topic_only.returncode == 0, topic_only.stderr
    producer = Producer(
        {**conf(lab, "alice"), "transactional.id": "tx-alice", "transaction.timeout.ms": 10000}
    )
    with pytest.raises(KafkaException) as exc:
        producer.init_transactions(20)
    assert exc.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    granted = acls(lab, "--add", "--allow-principal", "User:alice", "--producer", "--topic", "ledger",
                   "--transactional-id", "tx-alice")  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    producer = Producer(
        {**conf(lab, "alice"), "transactional.id": "tx-alice", "transaction.timeout.ms": 10000}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce("ledger", b"credit 10")
    producer.commit_transaction(30)
    reader = acls(
        lab,
        "--add",
        "--allow-principal",
        "User:bob",
        "--consumer",
        "--topic",
        "ledger",
        "--group",
        "auditors",
    )
    assert reader.returncode == 0, reader.stderr
    values, errors = [], []
    consumer = Consumer({**conf(lab, "bob"), "group.id": "auditors", "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe(["ledger"])
    deadline = time.monotonic() + 20
    while not values and not errors and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None:
            (errors if message.error() else values).append(message.error() or message.value())
    consumer.close()
    assert values == [b"credit 10"], errors


def test_moving_a_replica_between_log_dirs_needs_alter_on_the_cluster(lab: SecureBroker) -> None:
    """AlterReplicaLogDirs, as KafkaApis: CLUSTER_AUTHORIZATION_FAILED per partition for bob; the
    super user's request reaches the broker (a path outside log.dirs: LOG_DIR_NOT_FOUND)."""
    body = {"dirs": [{"path": "/not/a/log/dir", "topics": [{"name": "orders", "partitions": [0]}]}]}
    for user, password, code in (
        ("bob", "bob-secret", ErrorCode.cluster_authorization_failed),
        ("admin", "admin-secret", ErrorCode.log_dir_not_found),
    ):
        with RawClient(lab.sasl_port) as raw:
            assert plain_login(raw, user, password).error_code == 0
            answer = raw.request(34, 2, body)
        assert [(t.topic_name, [int(p.error_code) for p in t.partitions]) for t in answer.results] == [
            ("orders", [int(code)])
        ]


def test_changing_the_controller_quorum_needs_alter_on_the_cluster(lab: SecureBroker) -> None:
    """RemoveRaftVoter (AddRaftVoter shares its check), as KafkaApis: CLUSTER_AUTHORIZATION_FAILED
    for bob; the super user's request reaches the controller, which here is the broker's own
    (no KRaft quorum to change: UNSUPPORTED_VERSION)."""
    body = {"cluster_id": None, "voter_id": 7, "voter_directory_id": uuid.UUID(int=7)}
    for user, password, code in (
        ("bob", "bob-secret", ErrorCode.cluster_authorization_failed),
        ("admin", "admin-secret", ErrorCode.unsupported_version),
    ):
        with RawClient(lab.sasl_port) as raw:
            assert plain_login(raw, user, password).error_code == 0
            answer = raw.request(81, 0, body)
        assert int(answer.error_code) == int(code), (user, answer)
