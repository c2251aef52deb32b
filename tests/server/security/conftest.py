"""The shared secured broker of the security tests (one per session: its start makes certificates
and SCRAM users)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.security.secure_broker import SecureBroker, start_secure_broker


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    broker = start_secure_broker(tmp_path_factory.mktemp("secure-broker"))
    try:
        yield broker
    finally:
        broker.process.stop()
