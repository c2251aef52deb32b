"""``kafka-rest-stop``: SIGTERM every REST Proxy started from this install (found by pid file)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.daemons import terminate_from_pid_files

    if terminate_from_pid_files("kafka-rest-*.pid", "rest_proxy") == 0:
        print("No kafka-rest to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
