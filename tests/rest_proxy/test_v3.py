"""REST Proxy v3 against a real broker and registry, through a real HTTP client (httpx): clusters,
brokers, topics, partitions, configs, records (one and streamed), consumer groups and lags."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.rest_proxy.conftest import Stack

JSON = {"Content-Type": "application/json"}


def cluster_id(http: Any) -> str:
    body = http.get("/v3/clusters").json()
    assert body["kind"] == "KafkaClusterList"
    return body["data"][0]["cluster_id"]


def create_topic(http: Any, cid: str, name: str, partitions: int = 1) -> dict[str, Any]:
    reply = http.post(f"/v3/clusters/{cid}/topics", json={"topic_name": name, "partitions_count": partitions})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_clusters_and_brokers(http: Any, stack: Stack) -> None:
    cid = cluster_id(http)
    cluster = http.get(f"/v3/clusters/{cid}").json()
    assert cluster["kind"] == "KafkaCluster" and cluster["metadata"]["resource_name"] == f"crn:///kafka={cid}"
    assert cluster["topics"]["related"] == f"{stack.url}/v3/clusters/{cid}/topics"
    brokers = http.get(f"/v3/clusters/{cid}/brokers").json()
    assert brokers["kind"] == "KafkaBrokerList"
    (broker,) = brokers["data"]
    assert (broker["broker_id"], broker["port"]) == (0, stack.broker.port)
    config = http.get(f"/v3/clusters/{cid}/brokers/0/configs/num.partitions").json()
    assert config["kind"] == "KafkaBrokerConfig" and config["name"] == "num.partitions"
    missing = http.get("/v3/clusters/nope")
    assert missing.status_code == 404 and missing.json() == {
        "error_code": 404,
        "message": "Cluster nope cannot be found.",
    }


def test_topics_partitions_and_configs(http: Any) -> None:
    cid = cluster_id(http)
    name = f"rest-topic-{uuid.uuid4().hex[:6]}"
    topic = create_topic(http, cid, name, partitions=3)
    assert (
        topic["kind"] == "KafkaTopic" and topic["partitions_count"] == 3 and topic["replication_factor"] == 1
    )
    again = http.post(f"/v3/clusters/{cid}/topics", json={"topic_name": name, "partitions_count": 1})
    assert (
        again.status_code == 400
        and again.json()["error_code"] == 40002
        and "already exists" in again.json()["message"]
    )
    names = [t["topic_name"] for t in http.get(f"/v3/clusters/{cid}/topics").json()["data"]]
    assert name in names
    partitions = http.get(f"/v3/clusters/{cid}/topics/{name}/partitions").json()
    assert [p["partition_id"] for p in partitions["data"]] == [0, 1, 2]
    replicas = http.get(f"/v3/clusters/{cid}/topics/{name}/partitions/1/replicas").json()["data"]
    assert replicas[0]["is_leader"] and replicas[0]["is_in_sync"]
    retention = http.get(f"/v3/clusters/{cid}/topics/{name}/configs/retention.ms").json()
    assert retention["source"] == "DEFAULT_CONFIG" and retention["is_default"] is True
    assert (
        http.put(
            f"/v3/clusters/{cid}/topics/{name}/configs/retention.ms", json={"value": "60000"}
        ).status_code
        == 204
    )
    updated = http.get(f"/v3/clusters/{cid}/topics/{name}/configs/retention.ms").json()
    assert updated["value"] == "60000" and updated["source"] == "DYNAMIC_TOPIC_CONFIG"
    alter = {
        "data": [
            {"name": "retention.ms", "operation": "DELETE"},
            {"name": "cleanup.policy", "value": "compact"},
        ]
    }
    assert http.post(f"/v3/clusters/{cid}/topics/{name}/configs:alter", json=alter).status_code == 204
    configs = {c["name"]: c for c in http.get(f"/v3/clusters/{cid}/topics/{name}/configs").json()["data"]}
    assert configs["retention.ms"]["is_default"] and configs["cleanup.policy"]["value"] == "compact"
    assert http.delete(f"/v3/clusters/{cid}/topics/{name}").status_code == 204
    gone = http.get(f"/v3/clusters/{cid}/topics/{name}")
    assert gone.status_code == 404
    assert gone.json() == {"error_code": 404, "message": "This server does not host this topic-partition."}


def test_produce_records_of_every_type(http: Any, stack: Stack) -> None:
    cid = cluster_id(http)
    name = f"rest-records-{uuid.uuid4().hex[:6]}"
    create_topic(http, cid, name)
    url = f"/v3/clusters/{cid}/topics/{name}/records"
    plain = http.post(
        url,
        json={
            "key": {"type": "STRING", "data": "k1"},
            "value": {"type": "JSON", "data": {"n": 1}},
            "headers": [{"name": "h", "value": base64.b64encode(b"v").decode()}],
        },
    ).json()
    assert plain["error_code"] == 200 and plain["offset"] == 0 and plain["partition_id"] == 0
    assert plain["key"] == {"type": "STRING", "size": 2} and plain["value"] == {"type": "JSON", "size": 7}
    binary = http.post(
        url, json={"value": {"type": "BINARY", "data": base64.b64encode(b"\x00\x01").decode()}}
    ).json()
    assert binary["offset"] == 1 and binary["key"] is None
    avro = {"type": "record", "name": "V", "fields": [{"name": "n", "type": "int"}]}
    produced = http.post(
        url, json={"value": {"type": "AVRO", "schema": json.dumps(avro), "data": {"n": 5}}}
    ).json()
    assert produced["value"]["type"] == "AVRO" and produced["value"]["subject"] == f"{name}-value"
    assert produced["value"]["schema_version"] == 1
    schema_id = produced["value"]["schema_id"]
    by_id = http.post(url, json={"value": {"schema_id": schema_id, "data": {"n": 6}}}).json()
    assert by_id["value"]["type"] == "AVRO" and by_id["offset"] == 3
    bad = http.post(url, json={"value": {"schema_id": schema_id, "data": {"n": "six"}}})
    assert bad.status_code == 422 and bad.json()["error_code"] == 42203 and "'n'" in bad.json()["message"]
    proto = 'syntax = "proto3"; message P { int32 n = 1; }'
    pb = http.post(
        url, json={"value": {"type": "PROTOBUF", "schema": proto, "subject": "rest-pb", "data": {"n": 7}}}
    )
    assert pb.status_code == 200 and pb.json()["value"]["subject"] == "rest-pb", pb.text
    js = {"type": "object", "properties": {"n": {"type": "integer"}}}
    jreply = http.post(
        url,
        json={
            "value": {"type": "JSONSCHEMA", "schema": json.dumps(js), "subject": "rest-js", "data": {"n": 8}}
        },
    )
    assert jreply.status_code == 200 and jreply.json()["offset"] == 5
    # what landed is Confluent's wire format, readable by the registry-aware console consumer
    from tests.schema_registry.test_end_to_end import consume_raw

    raw = consume_raw(stack.broker, name, 6)
    assert raw[0] == b'{"n":1}' and raw[1] == b"\x00\x01" and raw[2][0] == 0
    assert int.from_bytes(raw[2][1:5], "big") == schema_id


def test_streaming_produce_answers_each_record_in_order(http: Any) -> None:
    cid = cluster_id(http)
    name = f"rest-stream-{uuid.uuid4().hex[:6]}"
    create_topic(http, cid, name)

    def chunks():
        for i in range(5):
            yield json.dumps({"value": {"type": "JSON", "data": {"i": i}}}).encode()
        yield b'{"value": {"type": "NOPE", "data": 1}}'
        yield json.dumps({"value": {"type": "STRING", "data": "last"}}).encode()

    reply = http.post(f"/v3/clusters/{cid}/topics/{name}/records", content=chunks(), headers=JSON)
    assert reply.status_code == 200
    lines = [json.loads(line) for line in reply.text.splitlines()]
    assert [r.get("offset") for r in lines] == [0, 1, 2, 3, 4, None, 5]
    assert lines[5]["error_code"] == 400 and "NOPE" in lines[5]["message"]


def test_bad_requests_get_rest_proxy_bodies(http: Any) -> None:
    cid = cluster_id(http)
    url = f"/v3/clusters/{cid}/topics/missing-{uuid.uuid4().hex[:6]}/records"
    missing = http.post(url, json={"value": {"type": "JSON", "data": 1}})
    assert (
        missing.status_code == 404
        and missing.json()["message"] == "This server does not host this topic-partition."
    )
    name = f"rest-bad-{uuid.uuid4().hex[:6]}"
    create_topic(http, cid, name)
    url = f"/v3/clusters/{cid}/topics/{name}/records"
    wrong_type = http.post(url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json() == {"error_code": 415, "message": "HTTP 415 Unsupported Media Type"}
    not_json = http.post(url, content=b"{nope", headers=JSON)
    assert not_json.status_code == 400 and not_json.json()["error_code"] == 400
    unknown = http.get("/v3/nothing/here")
    assert unknown.status_code == 404 and unknown.json() == {
        "error_code": 404,
        "message": "HTTP 404 Not Found",
    }


def test_consumer_groups_and_lags(http: Any, stack: Stack) -> None:
    from confluent_kafka import Consumer

    cid = cluster_id(http)
    name = f"rest-lag-{uuid.uuid4().hex[:6]}"
    group = f"rest-group-{uuid.uuid4().hex[:6]}"
    create_topic(http, cid, name)
    for i in range(5):
        http.post(f"/v3/clusters/{cid}/topics/{name}/records", json={"value": {"type": "JSON", "data": i}})
    consumer = Consumer(
        {
            "bootstrap.servers": stack.broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([name])
        seen = []
        while len(seen) < 2:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                seen.append(msg)
        consumer.commit(message=seen[1], asynchronous=False)
        groups = http.get(f"/v3/clusters/{cid}/consumer-groups").json()
        found = [g for g in groups["data"] if g["consumer_group_id"] == group]
        assert found and found[0]["state"] == "STABLE" and found[0]["is_simple"] is False
        members = http.get(f"/v3/clusters/{cid}/consumer-groups/{group}/consumers").json()["data"]
        assert len(members) == 1 and members[0]["kind"] == "KafkaConsumer"
        assigned = http.get(members[0]["assignments"]["related"].replace(stack.url, "")).json()["data"]
        assert [(a["topic_name"], a["partition_id"]) for a in assigned] == [(name, 0)]
        lags = http.get(f"/v3/clusters/{cid}/consumer-groups/{group}/lags").json()["data"]
        assert [(lag["current_offset"], lag["log_end_offset"], lag["lag"]) for lag in lags] == [(2, 5, 3)]
        assert lags[0]["consumer_id"] == members[0]["consumer_id"]
        summary = http.get(f"/v3/clusters/{cid}/consumer-groups/{group}/lag-summary").json()
        assert (summary["max_lag"], summary["total_lag"], summary["max_lag_topic_name"]) == (3, 3, name)
    finally:
        consumer.close()
    gone = http.get(f"/v3/clusters/{cid}/consumer-groups/no-such-group-{uuid.uuid4().hex[:4]}")
    assert gone.status_code == 404


@pytest.mark.parametrize("path", ["/v3", "/"])
def test_roots(http: Any, path: str) -> None:
    assert http.get(path).status_code == 200
