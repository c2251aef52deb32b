"""Shared fixtures: a real broker subprocess per test (``broker``) or per session (``shared_broker``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A fresh broker for one test, stopped afterwards."""
    proc = BrokerProcess(tmp_path).start()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture(scope="session")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """One broker shared by the tests that only need a working cluster (use unique topic names)."""
    proc = BrokerProcess(tmp_path_factory.mktemp("shared-broker")).start()
    try:
        yield proc
    finally:
        proc.stop()
