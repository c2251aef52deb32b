"""Unit tests of the README's first steps and the test extras (issue 18: a newcomer's first hour)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```\n(.*?)^```", text, flags=re.S | re.M)


def test_first_block_makes_a_venv_and_the_readme_says_how_to_stop_and_how_long_tests_take() -> None:
    readme = (ROOT / "README.md").read_text()
    first = code_blocks(readme)[0]
    assert first.splitlines()[0] == "python3 -m venv .venv && . .venv/bin/activate"
    assert "pip install ." in first.splitlines()[1]
    intro = readme.split("## Lecture quick start")[0]
    assert "kafka-server-stop" in intro and "deactivate" in intro
    assert re.search(r"\d+ tests took \d+ min", intro)
    assert 'pip install -q -e ".[test]" && python -m pytest -q' in code_blocks(readme)[1]


def test_pexpect_is_a_test_extra() -> None:
    """The interactive '>' prompt test needs pexpect; without it in the extras CI skipped it."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    assert any(re.match(r"pexpect\b", requirement) for requirement in extras)
