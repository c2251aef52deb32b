"""REST Proxy v2 against a real broker and registry, through a real HTTP client (httpx): produce in
every embedded format, consumer instances (subscribe, assign, records, offsets, positions), and
REST Proxy's error codes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from tests.rest_proxy.conftest import Stack

V2 = {"Content-Type": "application/vnd.kafka.v2+json"}


def kind(fmt: str) -> dict[str, str]:
    return {"Content-Type": f"application/vnd.kafka.{fmt}.v2+json"}


def accept(fmt: str) -> dict[str, str]:
    return {"Accept": f"application/vnd.kafka.{fmt}.v2+json"}


def topic_name() -> str:
    return f"v2-{uuid.uuid4().hex[:8]}"


def produce(http: Any, topic: str, fmt: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = http.post(f"/topics/{topic}", content=json.dumps(body), headers=kind(fmt))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/vnd.kafka.v2+json")
    return reply.json()


def consumer(http: Any, group: str, fmt: str) -> str:
    body = {"name": "c", "format": fmt, "auto.offset.reset": "earliest", "auto.commit.enable": "false"}
    reply = http.post(f"/consumers/{group}", content=json.dumps(body), headers=V2)
    assert reply.status_code == 200, reply.text
    assert reply.json()["instance_id"] == "c"
    return reply.json()["base_uri"].split(str(http.base_url).rstrip("/"))[1]


def read(http: Any, base: str, fmt: str, count: int) -> list[dict[str, Any]]:
    """Records until ``count`` arrived (the first fetches may come before the group is joined)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(out) < count and time.monotonic() < deadline:
        reply = http.get(f"{base}/records?timeout=1000", headers=accept(fmt))
        assert reply.status_code == 200, reply.text
        out += reply.json()
    return out


def test_json_produce_and_consume_with_offsets(http: Any) -> None:
    topic = topic_name()
    offsets = produce(http, topic, "json", {"records": [{"key": "a", "value": {"n": 1}}, {"value": [1, 2]}]})
    assert offsets == {
        "key_schema_id": None,
        "value_schema_id": None,
        "offsets": [
            {"partition": 0, "offset": 0, "error_code": None, "error": None},
            {"partition": 0, "offset": 1, "error_code": None, "error": None},
        ],
    }
    group = f"g-{uuid.uuid4().hex[:6]}"
    base = consumer(http, group, "json")
    assert (
        http.post(f"{base}/subscription", content=json.dumps({"topics": [topic]}), headers=V2).status_code
        == 204
    )
    assert http.get(f"{base}/subscription").json() == {"topics": [topic]}
    records = read(http, base, "json", 2)
    assert [(r["key"], r["value"], r["offset"]) for r in records] == [("a", {"n": 1}, 0), (None, [1, 2], 1)]
    mismatch = http.get(f"{base}/records", headers=accept("binary"))
    assert mismatch.status_code == 406 and mismatch.json()["error_code"] == 40601
    commit = {"offsets": [{"topic": topic, "partition": 0, "offset": 0}]}
    assert http.post(f"{base}/offsets", content=json.dumps(commit), headers=V2).status_code == 200
    committed = http.request(
        "GET",
        f"{base}/offsets",
        content=json.dumps({"partitions": [{"topic": topic, "partition": 0}]}),
        headers=V2,
    ).json()
    assert committed == {"offsets": [{"topic": topic, "partition": 0, "offset": 1, "metadata": ""}]}
    assert http.delete(f"{base}/subscription").status_code == 204
    assert http.delete(base).status_code == 204
    gone = http.get(f"{base}/records", headers=accept("json"))
    assert gone.status_code == 404 and gone.json() == {
        "error_code": 40403,
        "message": "Consumer instance not found.",
    }


def test_binary_assign_and_seek(http: Any) -> None:
    topic = topic_name()
    values = [base64.b64encode(bytes([i, 255])).decode() for i in range(3)]
    produce(http, topic, "binary", {"records": [{"value": v} for v in values]})
    base = consumer(http, f"g-{uuid.uuid4().hex[:6]}", "binary")
    partitions = {"partitions": [{"topic": topic, "partition": 0}]}
    assert http.post(f"{base}/assignments", content=json.dumps(partitions), headers=V2).status_code == 204
    assert http.get(f"{base}/assignments").json() == partitions
    assert [r["value"] for r in read(http, base, "binary", 3)] == values
    seek = {"offsets": [{"topic": topic, "partition": 0, "offset": 2}]}
    assert http.post(f"{base}/positions", content=json.dumps(seek), headers=V2).status_code == 204
    assert [r["offset"] for r in read(http, base, "binary", 1)] == [2]
    assert (
        http.post(f"{base}/positions/beginning", content=json.dumps(partitions), headers=V2).status_code
        == 204
    )
    assert [r["offset"] for r in read(http, base, "binary", 3)] == [0, 1, 2]
    http.delete(base)


def test_avro_produce_and_consume(http: Any, stack: Stack) -> None:
    topic = topic_name()
    schema = {
        "type": "record",
        "name": "User",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
    body = {
        "value_schema": json.dumps(schema),
        "records": [{"value": {"name": "Ann", "email": {"string": "a@x"}}}],
    }
    first = produce(http, topic, "avro", body)
    assert first["value_schema_id"] is not None and first["offsets"][0]["offset"] == 0
    by_id = produce(
        http,
        topic,
        "avro",
        {"value_schema_id": first["value_schema_id"], "records": [{"value": {"name": "Bob", "email": None}}]},
    )
    assert by_id["offsets"][0]["offset"] == 1
    bad = http.post(
        f"/topics/{topic}",
        content=json.dumps(
            {"value_schema_id": first["value_schema_id"], "records": [{"value": {"name": 5}}]}
        ),
        headers=kind("avro"),
    )
    assert bad.status_code == 422 and bad.json()["error_code"] == 42203 and "name" in bad.json()["message"]
    no_schema = http.post(
        f"/topics/{topic}", content=json.dumps({"records": [{"value": {"name": "x"}}]}), headers=kind("avro")
    )
    assert no_schema.status_code == 422 and no_schema.json()["error_code"] == 42202
    base = consumer(http, f"g-{uuid.uuid4().hex[:6]}", "avro")
    http.post(f"{base}/subscription", content=json.dumps({"topics": [topic]}), headers=V2)
    values = [r["value"] for r in read(http, base, "avro", 2)]
    assert values == [{"name": "Ann", "email": {"string": "a@x"}}, {"name": "Bob", "email": None}]
    http.delete(base)


def test_jsonschema_and_protobuf_produce_and_consume(http: Any) -> None:
    for fmt, schema, value in (
        ("jsonschema", json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}), {"n": 3}),
        ("protobuf", 'syntax = "proto3"; message M { int32 n = 1; string s = 2; }', {"n": 3, "s": "x"}),
    ):
        topic = topic_name()
        produced = produce(http, topic, fmt, {"value_schema": schema, "records": [{"value": value}]})
        assert produced["value_schema_id"] is not None
        base = consumer(http, f"g-{uuid.uuid4().hex[:6]}", fmt)
        http.post(f"{base}/subscription", content=json.dumps({"topics": [topic]}), headers=V2)
        assert [r["value"] for r in read(http, base, fmt, 1)] == [value]
        http.delete(base)


def test_v2_errors(http: Any) -> None:
    topic = topic_name()
    plain = http.post(f"/topics/{topic}", content=b'{"records": []}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json() == {
        "error_code": 415,
        "message": "HTTP 415 Unsupported Media Type",
    }
    broken = http.post(f"/topics/{topic}", content=b"{nope", headers=kind("json"))
    assert broken.status_code == 400 and broken.json()["error_code"] == 400
    bad_format = http.post(
        f"/consumers/g-{uuid.uuid4().hex[:6]}", content=json.dumps({"format": "xml"}), headers=V2
    )
    assert bad_format.status_code == 422 and bad_format.json()["error_code"] == 42204
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer(http, group, "json")
    twice = http.post(f"/consumers/{group}", content=json.dumps({"name": "c", "format": "json"}), headers=V2)
    assert twice.status_code == 409 and twice.json()["error_code"] == 40902
    http.delete(f"/consumers/{group}/instances/c")
    assert http.get("/topics/no-such-topic-here").json() == {
        "error_code": 40401,
        "message": "Topic not found.",
    }
    assert http.get("/brokers").json() == {"brokers": [0]}


def test_a_record_the_format_cannot_show_is_not_skipped(http: Any) -> None:
    topic = topic_name()
    produce(http, topic, "binary", {"records": [{"value": base64.b64encode(b"not json").decode()}]})
    produce(http, topic, "json", {"records": [{"value": {"ok": True}}]})
    base = consumer(http, f"g-{uuid.uuid4().hex[:6]}", "json")
    partitions = {"partitions": [{"topic": topic, "partition": 0}]}
    http.post(f"{base}/assignments", content=json.dumps(partitions), headers=V2)
    for _ in range(2):  # the same record stops the consumer each time: it was not consumed
        deadline = time.monotonic() + 30
        while True:
            reply = http.get(f"{base}/records?timeout=1000", headers=accept("json"))
            if reply.status_code != 200 or time.monotonic() > deadline:
                break
            assert reply.json() == []
        assert reply.status_code == 500 and reply.json()["error_code"] == 50002
    skip = {"offsets": [{"topic": topic, "partition": 0, "offset": 1}]}
    http.post(f"{base}/positions", content=json.dumps(skip), headers=V2)
    assert [r["value"] for r in read(http, base, "json", 1)] == [{"ok": True}]
    http.delete(base)
