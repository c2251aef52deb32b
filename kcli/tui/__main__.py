"""``python -m kcli.tui [--bootstrap-server B] [--command-config F]``: the TUI without the kcli launcher."""

from __future__ import annotations

import argparse
import sys

from kcli.tui.app import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcli.tui", description="Interactive Kafka explorer")
    parser.add_argument("--bootstrap-server", default="localhost:9092", help="host:port of a broker")
    parser.add_argument("--command-config", default=None, help="client properties file (security settings)")
    args = parser.parse_args(argv)
    return run(args.bootstrap_server, args.command_config)


if __name__ == "__main__":
    sys.exit(main())
