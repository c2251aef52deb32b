"""The schema registry on a three-broker cluster: ``_schemas`` is replicated three times, so
registering and reading schemas keeps working after the broker leading it is killed, and a
restarted registry rebuilds every schema from the surviving replicas. Its writes are acks=all
produce requests, so the brokers' ``min.insync.replicas`` holds for them as for any producer:
with too few in-sync replicas a registration fails instead of being acknowledged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.cluster_process import Cluster
from tests.e2e.helpers import wait_until
from tests.schema_registry.helpers import RegistryProcess

SCHEMA = {"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}
SCHEMA_V2 = {
    "type": "record",
    "name": "User",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": ["null", "int"], "default": None}],
}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "cluster", 3, overrides={"min.insync.replicas": "2"})
    c.start()
    yield c
    c.stop()


def test_registry_survives_the_loss_of_the_schemas_leader(cluster: Cluster, tmp_path: Path) -> None:
    registry = RegistryProcess(tmp_path, cluster.bootstrap)
    with registry.properties.open("a") as fh:
        fh.write("kafkastore.timeout.ms=6000\n")
    registry.start()
    try:
        first = registry("POST", "/subjects/users-value/versions", {"schema": json.dumps(SCHEMA)})
        assert first.status == 200, first.body
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        partition = admin.list_topics("_schemas", timeout=10).topics["_schemas"].partitions[0]
        assert sorted(partition.replicas) == [0, 1, 2]
        cluster.brokers[partition.leader].kill()

        second = registry("POST", "/subjects/users-value/versions", {"schema": json.dumps(SCHEMA_V2)})
        assert second.status == 200, second.body
        registry.stop()
        registry.start()  # rebuilt from _schemas on the surviving replicas
        versions = registry("GET", "/subjects/users-value/versions")
        assert versions.body == [1, 2]
        assert registry("GET", f"/schemas/ids/{first.body['id']}").status == 200

        survivors = [b for b in cluster.brokers if b.proc is not None and b.proc.poll() is None]
        survivors[0].kill()  # one in-sync replica left: below min.insync.replicas=2
        last = AdminClient({"bootstrap.servers": survivors[1].bootstrap})
        assert wait_until(
            lambda: len(last.list_topics("_schemas", timeout=10).topics["_schemas"].partitions[0].isrs) == 1,
            30,
        )
        v3 = {
            **SCHEMA_V2,
            "fields": [*SCHEMA_V2["fields"], {"name": "city", "type": ["null", "string"], "default": None}],
        }
        third = {"schema": json.dumps(v3)}
        refused = registry("POST", "/subjects/users-value/versions", third)
        assert refused.status >= 500, refused.body
        assert registry("GET", "/subjects/users-value/versions").body == [1, 2]
    finally:
        registry.stop()
