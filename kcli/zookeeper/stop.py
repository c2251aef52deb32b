"""``zookeeper-server-stop``: SIGTERM every coordination service of this install (by pid file)."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.paths import pid_alive, process_cmdline, run_dir

    stopped = 0
    for pid_file in sorted(run_dir().glob("zookeeper-*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        cmdline = process_cmdline(pid)
        if not pid_alive(pid) or (
            "kcli.zookeeper" not in cmdline and "zookeeper-server-start" not in cmdline
        ):
            pid_file.unlink(missing_ok=True)  # stale: the process is gone or the pid was reused
            continue
        os.kill(pid, signal.SIGTERM)
        stopped += 1
    if stopped == 0:
        print("No zookeeper server to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
