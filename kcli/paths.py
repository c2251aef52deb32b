"""Where kcli keeps its state: ``$KCLI_HOME`` (default ``~/.kcli``) with run/ (pid files) and logs/."""

from __future__ import annotations

import os
from pathlib import Path


def kcli_home() -> Path:
    return Path(os.environ.get("KCLI_HOME") or Path.home() / ".kcli").expanduser()


def run_dir() -> Path:
    path = kcli_home() / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = Path(os.environ.get("LOG_DIR") or kcli_home() / "logs").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_alive(pid: int) -> bool:
    """The process exists and has not exited; a zombie (killed, not yet reaped by its parent -
    in a container, init may never reap it) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill -0 is all there is
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
