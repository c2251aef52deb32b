"""The AvroConverter against kcli's schema registry (a real registry subprocess on a real broker):
Connect data -> Confluent's wire format (subject ``<topic>-value``) -> the same Connect data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcli.connect.converters import make_converter
from kcli.connect.data import Schema, Struct, struct_schema
from kcli.schema_registry.client import SchemaRegistryClient
from tests.broker_process import BrokerProcess
from tests.schema_registry.helpers import RegistryProcess


@pytest.fixture
def registry(shared_broker: BrokerProcess, tmp_path: Path) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(
        tmp_path, shared_broker.bootstrap, topic=f"_schemas_{uuid.uuid4().hex[:8]}"
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_avro_round_trip_through_the_registry(registry: RegistryProcess) -> None:
    converter = make_converter(
        "io.confluent.connect.avro.AvroConverter", {"schema.registry.url": registry.url}, False
    )
    schema = struct_schema(
        "customerManagement.avro.Customer",
        [("id", Schema("int32")), ("name", Schema("string")), ("faxNumber", Schema("string", optional=True))],
    )
    value = Struct(schema, {"id": 1, "name": "James", "faxNumber": None})
    data = converter.from_connect_data("customers", schema, value)
    assert data[0] == 0  # magic byte, then the schema id
    registered = SchemaRegistryClient(registry.url).latest("customers-value")
    assert int.from_bytes(data[1:5], "big") == registered.schema_id
    assert (
        '"name":"Customer"' in registered.schema
        and '"namespace":"customerManagement.avro"' in registered.schema
    )
    back_schema, back = converter.to_connect_data("customers", data)
    assert back_schema is not None and back_schema.name == "customerManagement.avro.Customer"
    assert back.values == {"id": 1, "name": "James", "faxNumber": None}
