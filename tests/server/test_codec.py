"""The kio-based codec: version-agnostic building, header handling, framing."""

from __future__ import annotations

import io
import struct

import pytest
from kio.index import load_request_schema
from kio.serial import entity_reader, entity_writer

from kcli.protocol.messages import build, response_class
from kcli.server.protocol.codec import DecodeError, decode_request, encode_response, peek_header


def _frame(api_key: int, version: int, body: object, correlation: int = 42, client_id: str = "me") -> bytes:
    cls = load_request_schema(api_key, version)
    buf = io.BytesIO()
    entity_writer(cls.__header_schema__)(
        buf,
        cls.__header_schema__(
            request_api_key=api_key,
            request_api_version=version,
            correlation_id=correlation,
            client_id=client_id,
        ),
    )
    entity_writer(cls)(buf, body)
    return buf.getvalue()


def test_decode_request_across_header_versions() -> None:
    for version in (0, 3):
        cls = load_request_schema(18, version)
        body = build(cls, {"client_software_name": "kcli", "client_software_version": "1"})
        frame = _frame(18, version, body)
        assert peek_header(frame) == (18, version, 42)
        header, decoded = decode_request(frame, 18, version)
        assert (header.correlation_id, header.client_id) == (42, "me")
        assert decoded == body


def test_truncated_bytes_are_decode_errors_and_trailing_bytes_are_ignored() -> None:
    cls = load_request_schema(3, 12)
    frame = _frame(
        3,
        12,
        build(
            cls,
            {"topics": None, "allow_auto_topic_creation": True, "include_topic_authorized_operations": False},
        ),
    )
    assert decode_request(frame + b"\1\0\0", 3, 12)[1].topics is None  # as Kafka's parser
    with pytest.raises(DecodeError):
        decode_request(frame[:-3], 3, 12)
    with pytest.raises(DecodeError):
        peek_header(b"\0\0")


def test_build_keeps_only_fields_of_the_version_and_converts_types() -> None:
    data = {
        "throttle_time": 5,
        "responses": [
            {
                "name": "t",
                "partition_responses": [
                    {
                        "index": 0,
                        "error_code": 0,
                        "base_offset": 7,
                        "log_append_time": -1,
                        "log_start_offset": 0,
                        "record_errors": [],
                        "error_message": None,
                    }
                ],
            }
        ],
    }
    v3 = build(response_class(0, 3), data)
    v9 = build(response_class(0, 9), data)
    assert v3.responses[0].partition_responses[0].base_offset == 7
    assert not hasattr(v3.responses[0].partition_responses[0], "log_start_offset")
    assert v9.responses[0].partition_responses[0].log_start_offset == 0
    assert v9.throttle_time.total_seconds() == 0.005


def test_api_versions_response_uses_header_v0_even_when_flexible() -> None:
    cls = response_class(18, 3)
    body = build(
        cls,
        {
            "error_code": 0,
            "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 4}],
            "throttle_time": 0,
        },
    )
    frame = encode_response(body, correlation_id=9)
    (length, correlation) = struct.unpack_from(">ii", frame)
    assert length == len(frame) - 4 and correlation == 9
    decoded, size = entity_reader(cls)(frame, 8)  # no tagged-field byte after the correlation id
    assert 8 + size == len(frame) and decoded.api_keys[0].max_version == 4
