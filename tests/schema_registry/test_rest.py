"""Every REST endpoint, its success shape and its error shape, on an in-memory store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest

from tests.schema_registry.helpers import CONTENT_TYPE, MemoryRegistry, Reply

V1 = json.dumps({"type": "record", "name": "C", "fields": [{"name": "id", "type": "int"}]})
V2 = json.dumps(
    {
        "type": "record",
        "name": "C",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
)
V3_BAD = json.dumps(
    {
        "type": "record",
        "name": "C",
        "fields": [{"name": "id", "type": "int"}, {"name": "x", "type": "string"}],
    }
)
SLIDE = json.dumps(
    {
        "namespace": "customerManagement.avro",
        "type": "record",
        "name": "Customer",
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "name", "type": "string"},
            {"name": "faxNumber", "type": ["null", "string"], "default": "null"},
        ],
    }
)


@pytest.fixture
def api() -> Iterator[MemoryRegistry]:
    server = MemoryRegistry().start()
    try:
        yield server
    finally:
        server.stop()


def ok(reply: Reply, body: object = None) -> object:
    assert reply.status == 200, reply.body
    assert reply.content_type == CONTENT_TYPE
    if body is not None:
        assert reply.body == body
    return reply.body


def error(reply: Reply, code: int) -> str:
    assert reply.content_type == CONTENT_TYPE
    assert reply.body["error_code"] == code, reply.body
    assert reply.status == (code if code < 1000 else int(str(code)[:3]))
    assert isinstance(reply.body["message"], str) and reply.body["message"]
    return reply.body["message"]


def compact(text: str) -> str:
    return orjson.dumps(json.loads(text)).decode()


def register(api: MemoryRegistry, subject: str, schema: str) -> Reply:
    return api("POST", f"/subjects/{subject}/versions", {"schema": schema})


def test_root_and_schema_types(api: MemoryRegistry) -> None:
    ok(api("GET", "/"), {})
    ok(api("GET", "/schemas/types"), ["JSON", "PROTOBUF", "AVRO"])


def test_register_returns_id_and_identical_schema_reuses_it(api: MemoryRegistry) -> None:
    ok(register(api, "c-value", V1), {"id": 1})
    ok(register(api, "c-value", V1), {"id": 1})
    ok(register(api, "c-value", json.dumps(json.loads(V1), indent=2)), {"id": 1})  # whitespace only
    ok(register(api, "other-value", V1), {"id": 1})  # same schema, other subject: same id
    ok(register(api, "c-value", V2), {"id": 2})
    ok(api("GET", "/subjects/c-value/versions"), [1, 2])


def test_register_errors(api: MemoryRegistry) -> None:
    message = error(register(api, "c-value", SLIDE), 42201)
    assert "faxNumber" in message and '"default": null' in message
    error(register(api, "c-value", "{nope"), 42201)
    error(api("POST", "/subjects/c-value/versions", {"schema": V1, "schemaType": "PROTOBUF"}), 42201)
    error(api("POST", "/subjects/c-value/versions", {"schema": V1, "schemaType": "XML"}), 42201)
    error(api("POST", "/subjects/c-value/versions", {}), 42201)
    error(api("POST", "/subjects/c-value/versions", b"[not json"), 422)
    ok(register(api, "c-value", V1))
    message = error(register(api, "c-value", V3_BAD), 409)
    assert "incompatible" in message and "READER_FIELD_MISSING_DEFAULT_VALUE" in message


def test_subjects_list_and_deleted(api: MemoryRegistry) -> None:
    ok(api("GET", "/subjects"), [])
    register(api, "b-value", V1)
    register(api, "a-value", V1)
    ok(api("GET", "/subjects"), ["a-value", "b-value"])
    ok(api("DELETE", "/subjects/a-value"), [1])
    ok(api("GET", "/subjects"), ["b-value"])
    ok(api("GET", "/subjects?deleted=true"), ["a-value", "b-value"])


def test_lookup(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    body = ok(api("POST", "/subjects/c-value", {"schema": V1}))
    assert body == {"subject": "c-value", "version": 1, "id": 1, "schema": compact(V1)}
    error(api("POST", "/subjects/c-value", {"schema": V2}), 40403)
    error(api("POST", "/subjects/nope", {"schema": V1}), 40401)
    error(api("POST", "/subjects/c-value", {"schema": "{bad"}), 42201)


def test_versions_and_version(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    register(api, "c-value", V2)
    ok(api("GET", "/subjects/c-value/versions"), [1, 2])
    error(api("GET", "/subjects/nope/versions"), 40401)
    ok(
        api("GET", "/subjects/c-value/versions/1"),
        {"subject": "c-value", "version": 1, "id": 1, "schema": compact(V1)},
    )
    assert ok(api("GET", "/subjects/c-value/versions/latest"))["version"] == 2
    assert ok(api("GET", "/subjects/c-value/versions/-1"))["version"] == 2
    assert ok(api("GET", "/subjects/c-value/versions/2/schema")) == json.loads(V2)
    assert ok(api("GET", "/subjects/c-value/versions/latest/schema")) == json.loads(V2)
    error(api("GET", "/subjects/c-value/versions/3"), 40402)
    error(api("GET", "/subjects/c-value/versions/3/schema"), 40402)
    assert "not a valid version" in error(api("GET", "/subjects/c-value/versions/0"), 42202)
    error(api("GET", "/subjects/c-value/versions/abc"), 42202)
    error(api("GET", "/subjects/nope/versions/1"), 40401)
    ok(api("GET", "/subjects/c-value/versions/1/referencedby"), [])


def test_delete_subject_soft_then_permanent(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    register(api, "c-value", V2)
    error(api("DELETE", "/subjects/c-value?permanent=true"), 40405)
    ok(api("DELETE", "/subjects/c-value"), [1, 2])
    error(api("GET", "/subjects/c-value/versions"), 40401)
    ok(api("GET", "/subjects/c-value/versions?deleted=true"), [1, 2])
    assert ok(api("GET", "/subjects/c-value/versions/1?deleted=true"))["id"] == 1
    ok(api("GET", "/schemas/ids/1"))  # ids stay readable after a soft delete
    error(api("DELETE", "/subjects/c-value"), 40404)
    ok(api("DELETE", "/subjects/c-value?permanent=true"), [1, 2])
    error(api("GET", "/subjects/c-value/versions?deleted=true"), 40401)
    error(api("GET", "/schemas/ids/1"), 40403)
    error(api("DELETE", "/subjects/c-value"), 40401)
    # a new registration after the permanent delete starts at version 1 with a fresh id (ids are never reused)
    ok(register(api, "c-value", V1), {"id": 3})
    ok(api("GET", "/subjects/c-value/versions"), [1])


def test_delete_version_soft_then_permanent(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    register(api, "c-value", V2)
    error(api("DELETE", "/subjects/c-value/versions/1?permanent=true"), 40407)
    ok(api("DELETE", "/subjects/c-value/versions/1"), 1)
    error(api("DELETE", "/subjects/c-value/versions/1"), 40406)
    ok(api("GET", "/subjects/c-value/versions"), [2])
    ok(api("DELETE", "/subjects/c-value/versions/1?permanent=true"), 1)
    ok(api("GET", "/subjects/c-value/versions?deleted=true"), [2])
    ok(api("DELETE", "/subjects/c-value/versions/latest"), 2)
    error(api("DELETE", "/subjects/c-value/versions/7"), 40402)
    error(api("DELETE", "/subjects/c-value/versions/x"), 42202)
    error(api("DELETE", "/subjects/nope/versions/1"), 40401)


def test_schemas_by_id(api: MemoryRegistry) -> None:
    register(api, "a-value", V1)
    register(api, "b-value", V1)
    ok(api("GET", "/schemas/ids/1"), {"schema": compact(V1)})
    assert ok(api("GET", "/schemas/ids/1/schema")) == json.loads(V1)
    ok(
        api("GET", "/schemas/ids/1/versions"),
        [{"subject": "a-value", "version": 1}, {"subject": "b-value", "version": 1}],
    )
    ok(api("GET", "/schemas/ids/1/subjects"), ["a-value", "b-value"])
    for path in ("/schemas/ids/9", "/schemas/ids/9/schema", "/schemas/ids/9/versions", "/schemas/ids/x"):
        error(api("GET", path), 40403)


def test_global_config(api: MemoryRegistry) -> None:
    ok(api("GET", "/config"), {"compatibilityLevel": "BACKWARD"})
    for level in (
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
        "BACKWARD",
    ):
        ok(api("PUT", "/config", {"compatibility": level}), {"compatibility": level})
        ok(api("GET", "/config"), {"compatibilityLevel": level})
    ok(api("PUT", "/config", {"compatibility": "full"}), {"compatibility": "FULL"})
    error(api("PUT", "/config", {"compatibility": "SIDEWAYS"}), 42203)
    error(api("PUT", "/config", {}), 42203)


def test_subject_config(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    error(api("GET", "/config/c-value"), 40408)
    ok(api("GET", "/config/c-value?defaultToGlobal=true"), {"compatibilityLevel": "BACKWARD"})
    ok(api("PUT", "/config/c-value", {"compatibility": "NONE"}), {"compatibility": "NONE"})
    ok(api("GET", "/config/c-value"), {"compatibilityLevel": "NONE"})
    ok(register(api, "c-value", V3_BAD), {"id": 2})  # NONE lets anything through
    error(api("PUT", "/config/c-value", {"compatibility": "bogus"}), 42203)
    ok(api("DELETE", "/config/c-value"), {"compatibilityLevel": "NONE"})
    error(api("GET", "/config/c-value"), 40408)
    error(api("DELETE", "/config/nope"), 40401)


def test_forward_level_blocks_what_backward_allows(api: MemoryRegistry) -> None:
    with_name = json.dumps(
        {
            "type": "record",
            "name": "C",
            "fields": [{"name": "id", "type": "int"}, {"name": "n", "type": "string"}],
        }
    )
    register(api, "c-value", with_name)
    ok(api("PUT", "/config/c-value", {"compatibility": "FORWARD"}))
    error(register(api, "c-value", V1), 409)  # old readers need 'n', which has no default
    ok(api("PUT", "/config/c-value", {"compatibility": "BACKWARD"}))
    ok(register(api, "c-value", V1))


def test_mode(api: MemoryRegistry) -> None:
    ok(api("GET", "/mode"), {"mode": "READWRITE"})
    ok(api("PUT", "/mode", {"mode": "READONLY"}), {"mode": "READONLY"})
    ok(api("GET", "/mode"), {"mode": "READONLY"})
    assert "read-only" in error(register(api, "c-value", V1), 42205)
    ok(api("PUT", "/mode", {"mode": "READWRITE"}), {"mode": "READWRITE"})
    ok(register(api, "c-value", V1))
    error(api("PUT", "/mode", {"mode": "SOMETIMES"}), 42204)
    error(api("GET", "/mode/c-value"), 40409)
    ok(api("PUT", "/mode/c-value", {"mode": "READONLY"}), {"mode": "READONLY"})
    ok(api("GET", "/mode/c-value"), {"mode": "READONLY"})
    error(register(api, "c-value", V2), 42205)
    ok(api("DELETE", "/mode/c-value"), {"mode": "READONLY"})
    ok(register(api, "c-value", V2))


def test_compatibility_endpoint(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    path = "/compatibility/subjects/c-value/versions"
    ok(api("POST", f"{path}/latest", {"schema": V2}), {"is_compatible": True})
    ok(api("POST", f"{path}/1", {"schema": V3_BAD}), {"is_compatible": False})
    body = ok(api("POST", f"{path}/latest?verbose=true", {"schema": V3_BAD}))
    assert body["is_compatible"] is False
    assert any("READER_FIELD_MISSING_DEFAULT_VALUE" in m and "'x'" in m for m in body["messages"])
    ok(api("POST", f"{path}/latest?verbose=true", {"schema": V2}), {"is_compatible": True, "messages": []})
    ok(api("POST", path, {"schema": V2}), {"is_compatible": True})
    ok(api("POST", "/compatibility/subjects/new-subject/versions", {"schema": V1}), {"is_compatible": True})
    error(api("POST", "/compatibility/subjects/nope/versions/latest", {"schema": V1}), 40401)
    error(api("POST", f"{path}/7", {"schema": V1}), 40402)
    error(api("POST", f"{path}/zero", {"schema": V1}), 42202)
    error(api("POST", f"{path}/latest", {"schema": SLIDE}), 42201)


def test_unknown_path_and_method(api: MemoryRegistry) -> None:
    error(api("GET", "/nothing/here"), 404)
    error(api("PATCH", "/config"), 405)


def test_store_records_look_like_confluents(api: MemoryRegistry) -> None:
    register(api, "c-value", V1)
    api("PUT", "/config", {"compatibility": "FULL"})
    api("PUT", "/mode", {"mode": "READWRITE"})
    api("DELETE", "/subjects/c-value")
    keys = [json.loads(k) for k, _v in api.store.records]
    values = [None if v is None else json.loads(v) for _k, v in api.store.records]
    assert keys[0] == {"keytype": "SCHEMA", "subject": "c-value", "version": 1, "magic": 1}
    assert values[0] == {"subject": "c-value", "version": 1, "id": 1, "schema": compact(V1), "deleted": False}
    assert keys[1] == {"keytype": "CONFIG", "subject": None, "magic": 0}
    assert values[1] == {"compatibilityLevel": "FULL"}
    assert keys[2] == {"keytype": "MODE", "subject": None, "magic": 0}
    assert values[3]["deleted"] is True
    assert keys[4] == {"keytype": "DELETE_SUBJECT", "subject": "c-value", "magic": 0}
    assert values[4] == {"subject": "c-value", "version": 1}


def test_state_replays_from_records(api: MemoryRegistry) -> None:
    from kcli.schema_registry.state import RegistryState

    register(api, "c-value", V1)
    register(api, "c-value", V2)
    api("DELETE", "/subjects/c-value/versions/1")
    api("PUT", "/config/c-value", {"compatibility": "FULL"})
    replayed = RegistryState()
    for key, value in api.store.records:
        replayed.apply(key, value)
    assert [v.version for v in replayed.versions("c-value")] == [2]
    assert replayed.configs == {"c-value": "FULL"}
    assert replayed.max_id == 2
    replayed.apply(b"not json", b"x")  # foreign records are skipped
    replayed.apply(None, None)


def test_a_reference_to_a_missing_version_is_refused_clearly(api: MemoryRegistry) -> None:
    body = {"schema": V1, "references": [{"name": "x", "subject": "y", "version": 1}]}
    assert "subject 'y' version 1" in error(api("POST", "/subjects/c-value/versions", body), 42201)
    ok(api("POST", "/subjects/c-value/versions", {"schema": V1, "references": []}), {"id": 1})
