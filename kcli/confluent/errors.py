"""Errors of the ``confluent`` command, printed as the Confluent CLI prints them.

``Error: <message>`` on stderr, then, when there is one, a ``Suggestions:`` block with each line
indented by four spaces; exit status 1. This is the shape of the Confluent CLI's
``ErrorWithSuggestions``, so a message users search for looks the same.
"""

from __future__ import annotations

import sys


class CLIError(Exception):
    def __init__(self, message: str, suggestions: str = "", exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions
        self.exit_code = exit_code

    def render(self) -> str:
        text = f"Error: {self.message}\n"
        if self.suggestions:
            text += (
                "\nSuggestions:\n" + "\n".join(f"    {line}" for line in self.suggestions.splitlines()) + "\n"
            )
        return text

    def print(self) -> None:
        sys.stderr.write(self.render())
        sys.stderr.flush()
