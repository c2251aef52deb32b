"""One populated template of log dirs for the whole fault suite; each test damages its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.helpers import Copy, Template, copy_template, make_template


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return make_template(tmp_path_factory.mktemp("faults-template"))


@pytest.fixture
def copy(template: Template, tmp_path: Path) -> Copy:
    return copy_template(template, tmp_path)
