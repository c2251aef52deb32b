"""``kcli lab check``: expectations against the real broker, the report, ``--json`` and exit codes,
and the lecture's json_topic exercise shipped with kcli, failing then passing as a student does it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kcli.explain_texts import key_partition
from kcli.lab import spec
from tests.broker_process import BrokerProcess, free_port
from tests.tools.helpers import run_tool

ROOT = Path(__file__).resolve().parents[2]


def kcli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_shipped_exercises_load() -> None:
    assert set(spec.shipped()) >= {"json_topic", "replication", "avro"}
    for name in spec.shipped():
        lab = spec.load(name)
        assert lab.checks and lab.title
    listed = kcli("lab", "list")
    assert listed.returncode == 0 and "json_topic" in listed.stdout and "replication" in listed.stdout


def test_bad_files_exit_2_with_one_line(tmp_path: Path) -> None:
    cases = {
        "bad.toml": ("[[check]\nkind=", "not valid TOML"),
        "kind.toml": ('[[check]]\nkind = "topics"\ntopic = "t"\n', "kind 'topics' is not one of"),
        "missing.toml": ('[[check]]\nkind = "records"\n', "check 1 (records): missing topic"),
        "typo.toml": ('[[check]]\nkind = "topic"\ntopic = "t"\npartition = 3\n', "unknown key(s) partition"),
        "empty.toml": ('title = "x"\n', "no [[check]] table"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        result = kcli("lab", "check", str(path))
        assert result.returncode == 2, (name, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        as_json = kcli("lab", "check", str(path), "--json")
        assert as_json.returncode == 2 and message in json.loads(as_json.stdout)["error"]
    nowhere = kcli("lab", "check", "no-such-exercise")
    assert nowhere.returncode == 2 and "nor a shipped exercise" in nowhere.stderr


def test_unreachable_cluster_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text('[[check]]\nkind = "topic"\ntopic = "t"\n')
    result = kcli("lab", "check", str(path), "--bootstrap-server", f"127.0.0.1:{free_port()}", "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and "no broker answers" in doc["error"]


def test_every_kind_of_check_passes_and_fails_with_hints(
    shared_broker: BrokerProcess, tmp_path: Path
) -> None:
    bootstrap = shared_broker.bootstrap
    topic, group = unique("lab"), unique("g")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1, config={"min.insync.replicas": "1"})])[topic].result(15)
    producer = run_tool(
        "console_producer",
        ["--bootstrap-server", bootstrap, "--topic", topic, "--property", "parse.key=true"],
        "".join(f'user-{i % 4}\t{{"n": {i}}}\n' for i in range(12)),
    )
    assert producer.returncode == 0, producer.stderr
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    read = 0
    while read < 12:
        read += sum(1 for m in consumer.consume(20, timeout=1.0) if m.error() is None)
    consumer.commit(asynchronous=False)
    consumer.close()
    good = tmp_path / "good.toml"
    good.write_text(
        f'''title = "every kind"
[[check]]
kind = "topic"
topic = "{topic}"
partitions = 3
replication_factor = 1
[[check]]
kind = "records"
topic = "{topic}"
at_least = 12
keyed = true
json_fields = ["n"]
[[check]]
kind = "key_partition"
topic = "{topic}"
[[check]]
kind = "key_partition"
topic = "{topic}"
key = "user-1"
[[check]]
kind = "group_lag"
group = "{group}"
topic = "{topic}"
[[check]]
kind = "config"
topic = "{topic}"
name = "min.insync.replicas"
value = "1"
[[check]]
kind = "in_sync"
topic = "{topic}"
[[check]]
kind = "topic"
topic = "{unique("absent")}"
exists = false
'''
    )
    result = kcli("lab", "check", str(good), "--bootstrap-server", bootstrap)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS ") == 8 and "8 check(s): 8 passed, 0 failed" in result.stdout
    assert f"'user-1' in {key_partition(b'user-1', 3)}" in result.stdout

    # one more record: the group lags; a wrong partition count, a missing topic, a wrong config
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(topic, key=b"user-1", value=b"not json", partition=(key_partition(b"user-1", 3) + 1) % 3)
    assert p.flush(10) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'''[[check]]
kind = "topic"
topic = "{topic}"
partitions = 6
[[check]]
kind = "topic"
topic = "nope-{topic}"
[[check]]
kind = "records"
topic = "{topic}"
json_fields = ["n"]
[[check]]
kind = "key_partition"
topic = "{topic}"
key = "user-1"
[[check]]
kind = "group_lag"
group = "{group}"
[[check]]
kind = "config"
topic = "{topic}"
name = "min.insync.replicas"
value = "2"
hint = "set it with kafka-configs"
'''
    )
    result = kcli("lab", "check", str(bad), "--bootstrap-server", bootstrap, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert (doc["passed"], doc["failed"], doc["ok"]) == (0, 6, False), [
        c for c in doc["checks"] if c["passed"]
    ]
    details = [c["detail"] for c in doc["checks"]]
    hints = [c["hint"] for c in doc["checks"]]
    assert details[0] == "it has 3 partition(s)"
    assert details[1] == f"there is no topic nope-{topic}" and hints[1].startswith(
        "create it: kafka-topics --create"
    )
    assert "is not a JSON object" in details[2]
    assert details[3].startswith("key 'user-1' is in partitions") and "murmur2(key)" in hints[3]
    assert details[4].startswith("lag 1 (") and "LOG-END-OFFSET - CURRENT-OFFSET" in hints[4]
    assert details[5] == "min.insync.replicas=1" and hints[5] == "set it with kafka-configs"
    text = kcli("lab", "check", str(bad), "--bootstrap-server", bootstrap)
    assert text.returncode == 1 and text.stdout.count("FAIL ") == 6 and text.stdout.count("hint: ") == 6


def test_the_lectures_json_topic_exercise(broker: BrokerProcess) -> None:
    """As the slides go: nothing yet (fail, with hints), three people, the Spark job, pass."""
    before = kcli("lab", "check", "json_topic", "--bootstrap-server", broker.bootstrap)
    assert before.returncode == 1
    assert "FAIL topic json_topic exists" in before.stdout
    assert "hint: produce the slide's three people" in before.stdout
    people = (
        '{"id": 1, "firstname": "James", "lastname": "Bond", "age": 35}\n'
        '{"id": 2, "firstname": "Harry", "lastname": "Potter", "age": 16}\n'
        '{"id": 3, "firstname": "Bobin", "lastname": "Hook", "age": 37}\n'
    )
    produced = run_tool(
        "console_producer", ["--broker-list", broker.bootstrap, "--topic", "json_topic"], people
    )
    assert produced.returncode == 0, produced.stderr
    halfway = kcli("lab", "check", "json_topic", "--bootstrap-server", broker.bootstrap, "--json")
    doc = json.loads(halfway.stdout)
    assert halfway.returncode == 1 and [c["passed"] for c in doc["checks"]] == [True, True, False, False]
    assert doc["checks"][3]["detail"].startswith(
        'there is no topic avg_age; expected {"count": 3, "avg_age": 29.3333'
    )
    job = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "avg_age.py"), "--bootstrap-server", broker.bootstrap],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0, job.stderr
    after = kcli("lab", "check", "json_topic", "--bootstrap-server", broker.bootstrap)
    assert after.returncode == 0, after.stdout
    assert "4 check(s): 4 passed, 0 failed" in after.stdout
