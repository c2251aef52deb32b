"""What ``confluent login``, ``logout``, ``environment`` and the other Confluent Cloud commands
answer here: one clear line and exit status 1 (kcli runs Confluent Platform locally; there is no
account to log in to)."""

from __future__ import annotations

from typing import Any

from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, Flag, command

SUGGESTION = (
    "Use `confluent local services start` for a local cluster, or point the CLI at any cluster with\n"
    "`confluent context create <name> --bootstrap HOST:PORT` (add --config-file for security settings)."
)
CLOUD_ONLY = {
    "login": "Log in to Confluent Cloud or Confluent Platform.",
    "logout": "Log out of Confluent Cloud.",
    "environment": "Manage and select Confluent Cloud environments.",
    "api-key": "Manage API keys.",
    "iam": "Manage RBAC and IAM permissions.",
    "cloud-signup": "Sign up for Confluent Cloud.",
    "organization": "Manage your Confluent Cloud organization.",
    "billing": "Manage Confluent Cloud billing.",
    "flink": "Manage Apache Flink.",
    "ksql": "Manage ksqlDB.",
    "connect": "Manage Kafka Connect.",
}


def refuse(name: str) -> Any:
    def run(**_: Any) -> None:
        raise CLIError(
            f"`confluent {name}` is a Confluent Cloud command, which kcli does not provide", SUGGESTION
        )

    return run


def build(root: CobraGroup) -> None:
    loose = [
        Flag(n, "Accepted for compatibility; kcli has no Confluent Cloud.", kind, hidden=True)
        for n, kind in (
            ("url", "string"),
            ("save", "bool"),
            ("no-browser", "bool"),
            ("organization", "string"),
            ("environment", "string"),
            ("cluster", "string"),
            ("prompt", "bool"),
        )
    ]
    for name, short in CLOUD_ONLY.items():
        command(root, name, short, refuse(name), loose, args=Args(0, None, "[args]"))
