"""Avro schema references: a named type defined in another subject's version is known to the
schema that references it (by its full name), and to the tools that encode with it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kcli.schema_registry.client import SchemaRegistryClient
from kcli.schema_registry.client_schemas import parse_registered
from kcli.schema_registry.decoding import SchemaDecoder
from kcli.schema_registry.serde import AvroEncoder
from tests.schema_registry.helpers import MemoryRegistry

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "shop",
    "fields": [{"name": "city", "type": "string"}],
}
CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "namespace": "shop",
    "fields": [{"name": "name", "type": "string"}, {"name": "home", "type": "shop.Address"}],
}


@pytest.fixture
def api() -> Iterator[MemoryRegistry]:
    server = MemoryRegistry().start()
    try:
        yield server
    finally:
        server.stop()


def test_avro_reference_round_trip(api: MemoryRegistry) -> None:
    assert api("POST", "/subjects/address/versions", {"schema": json.dumps(ADDRESS)}).body == {"id": 1}
    unknown = api("POST", "/subjects/customer-value/versions", {"schema": json.dumps(CUSTOMER)})
    assert unknown.status == 422 and "shop.Address" in unknown.body["message"]
    refs = [{"name": "shop.Address", "subject": "address", "version": 1}]
    reply = api(
        "POST", "/subjects/customer-value/versions", {"schema": json.dumps(CUSTOMER), "references": refs}
    )
    assert reply.status == 200, reply.body
    client = SchemaRegistryClient(api.url)
    found = client.latest("customer-value")
    assert found.references == refs
    parsed = parse_registered(client, found)
    data = AvroEncoder(client, parsed.schema, found.schema_id).encode_json(
        '{"name": "Ann", "home": {"city": "Oslo"}}'
    )
    assert json.loads(SchemaDecoder(client).decode(data).text) == {"name": "Ann", "home": {"city": "Oslo"}}
