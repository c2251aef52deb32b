"""Unit test: every module of kcli opens with a docstring whose first line says its one job
(issue 17's house rule), so a reader can walk the tree by first lines alone."""

from __future__ import annotations

import ast
from pathlib import Path

import kcli

KCLI = Path(kcli.__file__).parent


def test_every_module_says_its_job_in_its_first_line() -> None:
    missing = [
        str(path.relative_to(KCLI.parent))
        for path in sorted(KCLI.rglob("*.py"))
        if not (ast.get_docstring(ast.parse(path.read_text())) or "").strip().splitlines()[:1]
    ]
    assert not missing, f"modules without a docstring: {missing}"
