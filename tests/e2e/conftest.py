"""Fixtures of the end-to-end tests: an isolated home, and servers that are always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import Server, isolated_env, live_pid_files, terminate_recorded


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture
def servers(env: dict[str, str]) -> Iterator[list[Server]]:
    """Servers a test starts go in this list; stopped in reverse order, then no pid file may live."""
    started: list[Server] = []
    yield started
    for server in reversed(started):
        server.stop()
    leftovers = live_pid_files(Path(env["KCLI_HOME"]))
    terminate_recorded(Path(env["KCLI_HOME"]))  # daemons a failed test did not stop: never leave them behind
    assert leftovers == []
