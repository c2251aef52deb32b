"""``schema-registry-stop``: SIGTERM every registry started from this install (found by pid file)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kcli.daemons import terminate_from_pid_files

    if terminate_from_pid_files("schema-registry-*.pid", "schema_registry") == 0:
        print("No schema-registry to stop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
