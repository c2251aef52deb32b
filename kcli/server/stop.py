"""``kafka-server-stop``: SIGTERM every broker started from this install (found by pid file)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.daemons import terminate_from_pid_files

    if terminate_from_pid_files("kafka-server-*.pid", "kcli.server", "kafka-server-start") == 0:
        print("No kafka server to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
