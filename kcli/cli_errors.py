"""The commands' expected failures: one line on stderr and an exit code, never a traceback.

Raised by the client half wherever a user's input or the cluster's answer ends a command (the
tools, ``kcli.client``'s settings translation); :func:`kcli.tools.cli.run` prints them as Kafka's
tools do.
"""

from __future__ import annotations


class ToolError(Exception):
    """An expected failure: its message is printed as one line on stderr and the tool exits 1."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(ToolError):
    """A wrong or missing option: the message, then the usage, on stderr (exit 1)."""
