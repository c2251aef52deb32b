"""A newcomer follows Confluent's "Quick Start for Confluent Platform (local install)" from the
command line: ``confluent local services start``, create topics, produce and consume Avro, JSON
Schema and Protobuf with the console tools, then stop and destroy everything. Every command goes
through bash after ``eval "$(kcli env)"``, so ``$CONFLUENT_HOME/bin/confluent`` and the tools are
found exactly as on a student's laptop (ports are free ones, set in ``$CONFLUENT_HOME/etc``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.confluent.helpers import make_stack
from tests.e2e.helpers import sh

USERS_AVRO = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "io.confluent.quickstart",
        "fields": [
            {"name": "userid", "type": "string"},
            {"name": "regionid", "type": "string"},
            {"name": "gender", "type": ["null", "string"], "default": None},
        ],
    }
)
PAGEVIEWS_JSON = json.dumps(
    {
        "type": "object",
        "title": "Pageview",
        "properties": {
            "viewtime": {"type": "integer"},
            "userid": {"type": "string"},
            "pageid": {"type": "string"},
        },
        "required": ["viewtime", "userid", "pageid"],
    }
)
STOCK_PROTO = """syntax = "proto3";
package quickstart;
message StockTrade {
  string side = 1;
  int32 quantity = 2;
  string symbol = 3;
  double price = 4;
}
"""


def test_quickstart_from_the_command_line(tmp_path: Path) -> None:
    stack = make_stack(tmp_path)
    env = stack.env
    work = tmp_path / "work"
    work.mkdir()
    (work / "stock.proto").write_text(STOCK_PROTO)
    k, sr = f"localhost:{stack.kafka}", stack.registry_url
    try:
        started = sh("confluent local services start", env, cwd=work, timeout=180)
        assert started.returncode == 0, started.stderr
        assert "Kafka is [UP]" in started.stdout and "Schema Registry is [UP]" in started.stdout
        assert "Using CONFLUENT_CURRENT: " in started.stderr
        for topic in ("users", "pageviews", "stock_trades"):
            created = sh(
                f"kafka-topics --bootstrap-server {k} --create --topic {topic} --partitions 1 --replication-factor 1",
                env,
                cwd=work,
            )
            assert created.returncode == 0 and f"Created topic {topic}." in created.stdout, created.stderr
        users = '{"userid":"User_1","regionid":"Region_1","gender":{"string":"FEMALE"}}\n{"userid":"User_2","regionid":"Region_9","gender":null}\n'
        produced = sh(
            f"kafka-avro-console-producer --bootstrap-server {k} --topic users "
            f"--property schema.registry.url={sr} --property value.schema='{USERS_AVRO}'",
            env,
            cwd=work,
            stdin=users,
        )
        assert produced.returncode == 0, produced.stderr
        pageviews = '{"viewtime":1,"userid":"User_1","pageid":"Page_10"}\n{"viewtime":2,"userid":"User_2","pageid":"Page_20"}\n'
        produced = sh(
            f"kafka-json-schema-console-producer --bootstrap-server {k} --topic pageviews "
            f"--property schema.registry.url={sr} --property value.schema='{PAGEVIEWS_JSON}'",
            env,
            cwd=work,
            stdin=pageviews,
        )
        assert produced.returncode == 0, produced.stderr
        trades = '{"side":"BUY","quantity":10,"symbol":"ZVV","price":12.5}\n{"side":"SELL","quantity":5,"symbol":"ZWZX","price":3.25}\n'
        produced = sh(
            f"kafka-protobuf-console-producer --bootstrap-server {k} --topic stock_trades "
            f"--property schema.registry.url={sr} --property value.schema.file=stock.proto",
            env,
            cwd=work,
            stdin=trades,
        )
        assert produced.returncode == 0, produced.stderr
        for tool, topic, sent in (
            ("kafka-avro-console-consumer", "users", users),
            ("kafka-json-schema-console-consumer", "pageviews", pageviews),
            ("kafka-protobuf-console-consumer", "stock_trades", trades),
        ):
            consumed = sh(
                f"{tool} --bootstrap-server {k} --topic {topic} --from-beginning --max-messages 2 "
                f"--property schema.registry.url={sr}",
                env,
                cwd=work,
            )
            assert consumed.returncode == 0, consumed.stderr
            assert [json.loads(line) for line in consumed.stdout.splitlines()] == [
                json.loads(line) for line in sent.splitlines()
            ], tool
        subjects = sh(
            f"confluent schema-registry subject list --schema-registry-endpoint {sr} -o json", env, cwd=work
        )
        assert {s["subject"] for s in json.loads(subjects.stdout)} == {
            "users-value",
            "pageviews-value",
            "stock_trades-value",
        }
        stopped = sh("confluent local services stop", env, cwd=work, timeout=180)
        assert stopped.returncode == 0 and "ZooKeeper is [DOWN]" in stopped.stdout, stopped.stderr
        destroyed = sh("confluent local destroy", env, cwd=work, timeout=180)
        assert destroyed.returncode == 0 and "Deleting: " in destroyed.stdout
    finally:
        assert stack.cleanup() == []
