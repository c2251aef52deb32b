"""``zookeeper-server-stop``: SIGTERM every coordination service of this install (by pid file)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.daemons import terminate_from_pid_files

    if terminate_from_pid_files("zookeeper-*.pid", "kcli.zookeeper", "zookeeper-server-start") == 0:
        print("No zookeeper server to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
