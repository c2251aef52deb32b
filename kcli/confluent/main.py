"""The ``confluent`` command: the tree (``local``, ``kafka``, ``schema-registry``, ``context``,
``completion``, and the Confluent Cloud commands that answer with one line) and its entry point."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, command, group, run

SHORT = "Manage your Confluent Cloud or Confluent Platform. Log in to see all available commands."


def build() -> CobraGroup:
    from kcli.confluent import (
        cloud,
        completion,
        context_commands,
        kafka,
        local_kafka,
        local_services,
        schema_registry,
    )

    root = group(None, "confluent", SHORT)
    local = group(root, "local", "Manage a local Confluent Platform development environment.")
    local_services.build(local)
    local_kafka.build(local)
    kafka.build(root)
    schema_registry.build(root)
    context_commands.build(root)

    def complete(**v: Any) -> None:
        shell = v["args"][0]
        if shell not in completion.SHELLS:
            raise CLIError(f'invalid shell "{shell}"', 'Use "bash", "zsh", or "fish".')
        completion.run(root, shell)

    command(root, "completion", "Print shell completion code.", complete, args=Args(1, 1, "<shell>"))
    command(
        root,
        "version",
        "Show version of the Confluent CLI.",
        lambda **v: print(f"confluent - Confluent CLI (kcli {local_services.version_text()})"),
    )
    cloud.build(root)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    from kcli.confluent import cloud

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in cloud.CLOUD_ONLY and not set(args[1:2]) & {"-h", "--help"}:
        # Cloud commands take any flags; answer before parsing them.
        CLIError(
            f"`confluent {args[0]}` is a Confluent Cloud command, which kcli does not provide",
            cloud.SUGGESTION,
        ).print()
        return 1
    return run(build(), args)


if __name__ == "__main__":
    sys.exit(main())
