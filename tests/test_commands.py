"""The command table, the console scripts, the ``kcli`` app's start-up cost and the completions agree."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kcli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_scripts_match_the_command_table() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    expected = {"kcli": "kcli.cli.main:app"}
    for name, module in COMMANDS.items():
        expected[name] = expected[f"{name}.sh"] = f"{module}:main"
    assert scripts == expected


# Listed in the command table but not written yet (the tools helper's): remove when it lands.
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.xfail(raises=ImportError, strict=True, reason="not written yet"))
        if m in PENDING
        else m
        for m in sorted(set(COMMANDS.values()))
    ],
)
def test_every_command_module_has_main(module: str) -> None:
    assert callable(importlib.import_module(module).main)


def test_kcli_imports_nothing_heavy_at_start() -> None:
    """``kcli --help`` must stay fast: no Kafka client, TUI or broker imported by the app itself."""
    code = (
        "import sys, kcli.cli.main; heavy = [m for m in ('confluent_kafka', 'textual', 'kcli.server', 'kcli.tools', "
        "'kcli.local', 'kcli.home') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_kcli_help_lists_commands() -> None:
    from kcli.cli.main import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("env", "local", "tui", "completion"):
        assert command in result.output


def test_committed_completions_are_up_to_date(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "completions"))
    try:
        generate = importlib.import_module("generate")
    finally:
        sys.path.remove(str(ROOT / "completions"))
    written = generate.generate(tmp_path)
    for path, text in written.items():
        committed = ROOT / "completions" / path.name
        assert committed.read_text() == text, f"{committed} is stale: run python completions/generate.py"


def test_completion_scripts_cover_every_tool_name() -> None:
    from kcli.cli.main import render_completion

    tools = {name: ["--opt"] for name in COMMANDS}
    bash = render_completion("bash", tools)
    fish = render_completion("fish", tools)
    for name in COMMANDS:
        assert f" {name} {name}.sh" in bash
        assert f"complete -c {name}.sh -l opt" in fish
    assert render_completion("zsh", tools).startswith("#compdef kcli")


def test_bash_completion_completes_tool_options() -> None:
    script = ROOT / "completions" / "kcli.bash"
    probe = (
        f"source {script}; COMP_WORDS=(kafka-topics.sh --bootstrap-se); COMP_CWORD=1; _kcli_tool_complete; "
        "echo ${COMPREPLY[@]}; COMP_WORDS=(kcli local st); COMP_CWORD=2; _kcli_complete; echo ${COMPREPLY[@]}"
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["--bootstrap-server", "start status stop"]


def test_bash_completion_completes_sub_commands() -> None:
    """Tools with sub-commands (kafka-storage verify, kafka-transactions list) complete them."""
    script = ROOT / "completions" / "kcli.bash"
    probe = (
        f"source {script}; COMP_WORDS=(kafka-storage ve); COMP_CWORD=1; _kcli_tool_complete; "
        "echo ${COMPREPLY[@]}; COMP_WORDS=(kafka-transactions.sh find); COMP_CWORD=1; _kcli_tool_complete; "
        "echo ${COMPREPLY[@]}"
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["verify", "find-hanging"]


def test_completion_command_rejects_unknown_shell() -> None:
    from kcli.cli.main import app

    result = CliRunner().invoke(app, ["completion", "powershell"])
    assert result.exit_code == 1


def test_tui_passes_its_options_to_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from kcli.cli.main import app

    calls: list[tuple[str, str | None]] = []
    fake = types.ModuleType("kcli.tui.app")
    fake.run = lambda bootstrap, command_config: calls.append((bootstrap, command_config)) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kcli.tui.app", fake)
    result = CliRunner().invoke(app, ["tui", "--bootstrap-server", "b:1", "--command-config", "c.properties"])
    assert result.exit_code == 0
    assert calls == [("b:1", "c.properties")]


def test_tui_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from kcli.cli.main import app

    monkeypatch.setitem(sys.modules, "kcli.tui.app", None)
    result = CliRunner().invoke(app, ["tui"])
    assert result.exit_code == 1
    assert "kcli tui is not available in this install" in result.output
