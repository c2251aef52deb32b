"""Running a tool as a subprocess, the way students and lab scripts do."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence


def run_tool(
    module: str, args: Sequence[str], stdin: bytes | str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m kcli.tools.<module> args...`` with text output; stdin is a pipe (never a tty)."""
    data = stdin.decode() if isinstance(stdin, bytes) else stdin
    return subprocess.run(
        [sys.executable, "-m", f"kcli.tools.{module}", *args],
        input=data if data is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def run_tool_bytes(
    module: str, args: Sequence[str], stdin: bytes = b"", timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Like :func:`run_tool` but with bytes in and out (for raw keys and values)."""
    return subprocess.run(
        [sys.executable, "-m", f"kcli.tools.{module}", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
