"""``kafka-server-stop``: SIGTERM every broker started from this install (found by pid file)."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.paths import pid_alive, process_cmdline, run_dir

    stopped = 0
    for pid_file in sorted(run_dir().glob("kafka-server-*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        if not pid_alive(pid) or (
            "kcli.server" not in process_cmdline(pid) and "kafka-server-start" not in process_cmdline(pid)
        ):
            pid_file.unlink(missing_ok=True)  # stale: the broker is gone (or the pid was reused)
            continue
        os.kill(pid, signal.SIGTERM)
        stopped += 1
    if stopped == 0:
        print("No kafka server to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
