"""Regenerate completions/kcli.bash, kcli.zsh and kcli.fish from the tools' own argparse parsers.

Run ``python completions/generate.py`` after adding or changing a tool option; the test
``tests/test_commands.py`` fails when the committed files are out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"bash": "kcli.bash", "zsh": "kcli.zsh", "fish": "kcli.fish"}


def generate(target: Path = HERE) -> dict[Path, str]:
    """Write the three files into ``target``; returns what was written."""
    from kcli.cli.main import render_completion, tool_options

    tools = tool_options()
    written = {}
    for shell, filename in FILES.items():
        path = target / filename
        path.write_text(render_completion(shell, tools))
        written[path] = path.read_text()
    return written


if __name__ == "__main__":
    for path in generate():
        print(f"wrote {path}")
    sys.exit(0)
