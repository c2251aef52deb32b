"""One broker, registry and REST Proxy for the module (tests use their own topic and group names)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.broker_process import BrokerProcess
from tests.rest_proxy.helpers import RestProxyProcess
from tests.schema_registry.helpers import RegistryProcess


@dataclass
class Stack:
    broker: BrokerProcess
    registry: RegistryProcess
    rest: RestProxyProcess

    @property
    def url(self) -> str:
        return self.rest.url


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("rest-proxy")
    broker = BrokerProcess(root / "broker", overrides={"num.partitions": "1"}).start()
    registry = rest = None
    try:
        registry = RegistryProcess(root, broker.bootstrap).start()
        rest = RestProxyProcess(root / "rest", broker.bootstrap, registry.url).start()
        yield Stack(broker, registry, rest)
    finally:
        if rest is not None:
            rest.stop()
        if registry is not None:
            registry.stop()
        broker.stop()


@pytest.fixture
def http(stack: Stack) -> Iterator[object]:
    import httpx

    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client
