"""``confluent completion bash|zsh|fish``: generated from the command tree, committed under
completions/, and completing real command paths in bash."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kcli.confluent.completion import render
from kcli.confluent.main import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_committed_completions_are_current(shell: str) -> None:
    committed = (ROOT / "completions" / f"confluent.{shell}").read_text()
    assert committed == render(build(), shell), (
        "regenerate: confluent completion SHELL > completions/confluent.SHELL"
    )


def test_bash_completes_command_paths_and_flags() -> None:
    script = ROOT / "completions" / "confluent.bash"

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        out = subprocess.run(
            [
                "bash",
                "-c",
                f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _confluent_complete; echo ${{COMPREPLY[@]}}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()

    assert complete("confluent", "local", "serv") == ["services"]
    assert complete("confluent", "local", "services", "kafka", "") == [
        "log",
        "start",
        "status",
        "stop",
        "top",
        "version",
        "--help",
    ]
    assert complete("confluent", "kafka", "topic", "create", "orders", "--par") == ["--partitions"]
