"""``kafka-configs --entity-type users``: SCRAM credentials, as Kafka's ConfigCommand handles them.

``--alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=...]'``
sends AlterUserScramCredentials (the client salts and hashes the password; the broker never sees
it), ``--delete-config SCRAM-SHA-512`` removes one, ``--describe [--entity-name alice]`` prints
``SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192``. User
quota configs (``producer_byte_rate``...) are not supported by kcli's broker and say so.
"""

from __future__ import annotations

import re
from typing import Any

from kcli.tools.cli import ToolError

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
MIN_ITERATIONS = 4096
DEFAULT_ITERATIONS = 4096
_CREDENTIAL = re.compile(r"(?:iterations=(-?[0-9]*),)?password=(.*)", re.DOTALL)
_QUOTA_KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate")


def _mechanism(name: str) -> Any:
    from confluent_kafka.admin import ScramMechanism

    return ScramMechanism.SCRAM_SHA_256 if name == "SCRAM-SHA-256" else ScramMechanism.SCRAM_SHA_512


def _check_keys(keys: list[str], verb: str) -> None:
    quotas = [k for k in keys if k in _QUOTA_KEYS]
    if quotas:
        raise ToolError(f"User quota configs ({', '.join(quotas)}) are not supported by kcli")
    unknown = [k for k in keys if k not in SCRAM_MECHANISMS]
    if unknown:
        raise ToolError(
            f"Only quota and SCRAM credential configs can be {verb} for 'users' using --bootstrap-server. "
            f"Unexpected config names: {', '.join(unknown)}"
        )


def alter(admin: Any, user: str, to_add: dict[str, str], to_delete: list[str]) -> None:
    from confluent_kafka.admin import (
        ScramCredentialInfo,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )

    from kcli.tools.admin import future_result

    if user == "":
        raise ToolError(
            "The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server."
        )
    _check_keys(list(to_add), "added")
    _check_keys(to_delete, "deleted")
    alterations: list[Any] = [UserScramCredentialDeletion(user, _mechanism(m)) for m in to_delete]
    for name, value in to_add.items():
        match = _CREDENTIAL.fullmatch(value)
        if match is None:
            raise ToolError(
                f"Invalid credential property {name}={value.split('password=')[0]}...: expected [iterations=N,]password=SECRET"
            )
        raw_iterations, password = match.groups()
        iterations = int(raw_iterations) if raw_iterations and raw_iterations != "-1" else DEFAULT_ITERATIONS
        if iterations < MIN_ITERATIONS:
            raise ToolError(
                f"Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {name}"
            )
        info = ScramCredentialInfo(_mechanism(name), iterations)
        alterations.append(UserScramCredentialUpsertion(user, info, password.encode()))
    futures = admin.alter_user_scram_credentials(alterations, request_timeout=30)
    for future in futures.values():
        future_result(future)
    print(f"Completed updating config for user {user}.")


def describe(admin: Any, user: str | None) -> None:
    from kcli.tools.admin import future_result

    if user == "":
        return  # the user defaults hold quotas only
    names = [user] if user else None
    result = admin.describe_user_scram_credentials(names, request_timeout=30)
    # named users: a future per user; all users: one future for the whole answer
    items = list(result.items()) if isinstance(result, dict) else list(future_result(result).items())
    for name, value in items:
        try:
            description = future_result(value) if hasattr(value, "result") else value
        except ToolError as exc:
            print(f"Error retrieving SCRAM credential configs for user-principal '{name}': {exc}")
            continue
        text = ", ".join(
            f"{info.mechanism.name.replace('_', '-')}=iterations={info.iterations}"
            for info in description.scram_credential_infos
        )
        print(f"SCRAM credential configs for user-principal '{name}' are {text}")
