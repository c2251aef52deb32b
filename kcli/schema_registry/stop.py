"""``schema-registry-stop``: SIGTERM every registry started from this install (found by pid file)."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.paths import pid_alive, process_cmdline, run_dir

    stopped = 0
    for pid_file in sorted(run_dir().glob("schema-registry-*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        if not pid_alive(pid) or "schema_registry" not in process_cmdline(pid).replace("-", "_"):
            pid_file.unlink(missing_ok=True)  # stale: gone, or the pid now belongs to something else
            continue
        os.kill(pid, signal.SIGTERM)
        stopped += 1
    if stopped == 0:
        print("No schema-registry to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
