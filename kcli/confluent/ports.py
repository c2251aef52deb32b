"""Who holds a TCP port: ``port 9092 is in use by pid 1234 (python -m kcli.server.start ...)``.

Read from Linux's ``/proc/net/tcp{,6}`` (listening sockets by inode) and ``/proc/<pid>/fd``
(which process owns that inode); elsewhere, or when another user's process cannot be inspected,
the message names the port only.
"""

from __future__ import annotations

import os
from pathlib import Path

from kcli.paths import process_cmdline

_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10:
                continue
            local, state, inode = parts[1], parts[3], parts[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def holder(port: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on ``port``, when it can be found."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = os.listdir(entry / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(entry / "fd" / fd) in wanted:
                    pid = int(entry.name)
                    return pid, process_cmdline(pid).strip()
            except OSError:
                continue
    return None


def describe(port: int) -> str:
    """``port N is already in use`` plus the process holding it when known."""
    found = holder(port)
    if found is None:
        return f"port {port} is already in use by another process"
    pid, cmdline = found
    shown = cmdline if len(cmdline) <= 80 else cmdline[:77] + "..."
    return f"port {port} is already in use by process {pid} ({shown})"
