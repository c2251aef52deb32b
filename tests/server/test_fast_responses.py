"""The hand-written Produce and Fetch response encoders give kio's bytes for every version served."""

from __future__ import annotations

import datetime
import uuid

import pytest

from kcli.protocol.messages import build, response_class
from kcli.server.apis import load_all
from kcli.server.protocol.codec import encode_response
from kcli.server.protocol.fast_responses import encode_fetch_response, encode_produce_response

APIS = load_all()
PRODUCE_VERSIONS = range(APIS[0].min_version, APIS[0].max_version + 1)
FETCH_VERSIONS = range(APIS[1].min_version, APIS[1].max_version + 1)


def _kio(api_key: int, version: int, correlation_id: int, data: dict) -> bytes:
    return encode_response(build(response_class(api_key, version), data), correlation_id)


def _produce_part(index: int, **overrides: object) -> dict:
    part = {
        "index": index,
        "error_code": 0,
        "base_offset": 1234567890123,
        "log_append_time": -1,
        "log_start_offset": 7,
        "record_errors": [],
        "error_message": None,
    }
    part.update(overrides)
    return part


PRODUCE_CASES = {
    "one partition": {
        "responses": [{"name": "t", "partition_responses": [_produce_part(0)]}],
        "throttle_time": 0,
    },
    "errors and append time": {
        "responses": [
            {
                "name": "topic-é" * 30,
                "partition_responses": [
                    _produce_part(0, log_append_time=1_700_000_000_123),
                    _produce_part(
                        3,
                        error_code=87,
                        base_offset=-1,
                        log_start_offset=-1,
                        record_errors=[
                            {"batch_index": 2, "batch_index_error_message": "bad"},
                            {"batch_index": 5, "batch_index_error_message": None},
                        ],
                        error_message="x" * 200,
                    ),
                ],
            },
            {"name": "other", "partition_responses": []},
        ],
        "throttle_time": 25,
    },
    "no topics": {"responses": [], "throttle_time": 0},
}


@pytest.mark.parametrize("version", PRODUCE_VERSIONS)
@pytest.mark.parametrize("case", PRODUCE_CASES)
def test_produce_matches_kio(version: int, case: str) -> None:
    data = PRODUCE_CASES[case]
    chunks = encode_produce_response(version, 0x1234, data)
    assert chunks is not None
    assert b"".join(chunks) == _kio(0, version, 0x1234, data)


def _fetch_part(index: int, records: bytes | None, **overrides: object) -> dict:
    part = {
        "partition_index": index,
        "error_code": 0,
        "high_watermark": 1 << 40,
        "last_stable_offset": (1 << 40) - 3,
        "log_start_offset": 11,
        "aborted_transactions": None,
        "preferred_read_replica": -1,
        "records": records,
    }
    part.update(overrides)
    return part


TOPIC_ID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
FETCH_CASES = {
    "small records": {
        "throttle_time": 0,
        "error_code": 0,
        "session_id": 0,
        "responses": [{"topic": "t", "topic_id": TOPIC_ID, "partitions": [_fetch_part(0, b"\1" * 100)]}],
        "node_endpoints": [],
    },
    "large, empty and null records": {
        "throttle_time": 9,
        "error_code": 0,
        "session_id": 0,
        "responses": [
            {
                "topic": "a" * 300,
                "topic_id": TOPIC_ID,
                "partitions": [
                    _fetch_part(0, bytes(range(256)) * 1000, aborted_transactions=[]),
                    _fetch_part(1, b"", aborted_transactions=[{"producer_id": 5, "first_offset": 6}]),
                    _fetch_part(2, None, error_code=1, high_watermark=-1, last_stable_offset=-1),
                    _fetch_part(3, memoryview(b"\2" * 70000)[5:]),
                ],
            },
            {"topic": "b", "topic_id": uuid.UUID(int=1), "partitions": []},
        ],
        "node_endpoints": [],
    },
    "top-level error": {"throttle_time": 0, "error_code": 71, "session_id": 0, "responses": []},
}


@pytest.mark.parametrize("version", FETCH_VERSIONS)
@pytest.mark.parametrize("case", FETCH_CASES)
def test_fetch_matches_kio(version: int, case: str) -> None:
    data = FETCH_CASES[case]
    chunks = encode_fetch_response(version, 77, data)
    assert chunks is not None
    kio_data = {
        **data,
        "responses": [
            {
                **t,
                "partitions": [
                    {**p, "records": None if p["records"] is None else bytes(p["records"])}
                    for p in t["partitions"]
                ],
            }
            for t in data["responses"]
        ],
    }
    assert b"".join(chunks) == _kio(1, version, 77, kio_data)


def test_fetch_passes_large_records_through_without_copying() -> None:
    records = b"\3" * 100_000
    data = FETCH_CASES["small records"]
    part = {**data["responses"][0]["partitions"][0], "records": records}
    chunks = encode_fetch_response(
        16, 1, {**data, "responses": [{"topic_id": TOPIC_ID, "partitions": [part]}]}
    )
    assert chunks is not None
    assert any(c is records for c in chunks)


def test_throttle_time_may_be_a_timedelta() -> None:
    data = {"responses": [], "throttle_time": datetime.timedelta(milliseconds=40)}
    chunks = encode_produce_response(9, 1, data)
    assert chunks is not None
    assert b"".join(chunks) == _kio(0, 9, 1, {"responses": [], "throttle_time": 40})


@pytest.mark.parametrize(
    "data",
    [
        {"responses": [], "throttle_time": 0, "node_endpoints": [{"node_id": 1, "host": "h", "port": 1}]},
        {
            "responses": [
                {
                    "name": "t",
                    "partition_responses": [
                        _produce_part(0, current_leader={"leader_id": 2, "leader_epoch": 3})
                    ],
                }
            ],
            "throttle_time": 0,
        },
    ],
)
def test_non_default_tagged_fields_fall_back_to_kio(data: dict) -> None:
    assert encode_produce_response(10, 1, data) is None


def test_fetch_tagged_fields_fall_back_to_kio() -> None:
    part = _fetch_part(0, b"", diverging_epoch={"epoch": 1, "end_offset": 5})
    data = {
        "throttle_time": 0,
        "error_code": 0,
        "session_id": 0,
        "responses": [{"topic": "t", "partitions": [part]}],
    }
    assert encode_fetch_response(12, 1, data) is None
