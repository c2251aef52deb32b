"""``kafka-storage format --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]'``.

Kafka's ScramParser: ``MECHANISM=[name=...,password=...]`` with optional ``iterations=N`` (4096 to
16384) and ``salt="<base64>"``, or ``saltedpassword="<base64>"`` with a salt instead of the
password. The credentials are written into the node's security store before its first start, so
the users can log in at once (the password itself is never stored).
"""

from __future__ import annotations

import base64
import binascii

from kcli.server.security.scram import (
    DEFAULT_ITERATIONS,
    MAX_ITERATIONS,
    MECHANISMS,
    MIN_ITERATIONS,
    ScramCredential,
    credential_from_salted,
    make_credential,
    salted_password,
)


class ScramArgumentError(ValueError):
    pass


def _component(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ScramArgumentError(f"No equals sign found in SCRAM component: {text}")
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return key, value


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ScramArgumentError(f"Failed to decode given {what}: {value}") from None


def parse_add_scram(argument: str) -> tuple[str, str, ScramCredential]:
    """(user, mechanism, credential) from one ``--add-scram`` argument, with Kafka's messages."""
    text = argument.strip()
    mechanism, sep, config = text.partition("=")
    if not sep:
        raise ScramArgumentError(f"Failed to find equals sign in SCRAM argument '{text}'")
    if mechanism not in MECHANISMS:
        raise ScramArgumentError(f"The add-scram mechanism {mechanism} is not supported.")
    if not config.startswith("["):
        raise ScramArgumentError("Expected configuration string to start with [")
    if not config.endswith("]"):
        raise ScramArgumentError("Expected configuration string to end with ]")
    components = dict(_component(part) for part in config[1:-1].split(","))
    name = components.pop("name", None)
    if name is None:
        raise ScramArgumentError("You must supply 'name' to add-scram")
    salt = _b64(components.pop("salt"), "salt") if "salt" in components else None
    iterations_text = components.pop("iterations", None)
    try:
        iterations = int(iterations_text) if iterations_text is not None else DEFAULT_ITERATIONS
    except ValueError:
        raise ScramArgumentError(f"Failed to parse iterations count: {iterations_text}") from None
    password = components.pop("password", None)
    salted_text = components.pop("saltedpassword", None)
    if components:
        raise ScramArgumentError(f"Unknown SCRAM configurations: {', '.join(sorted(components))}")
    if iterations < MIN_ITERATIONS:
        raise ScramArgumentError(
            f"The 'iterations' value must be >= {MIN_ITERATIONS} for add-scram using {mechanism}"
        )
    if iterations > MAX_ITERATIONS:
        raise ScramArgumentError(
            f"The 'iterations' value must be <= {MAX_ITERATIONS} for add-scram using {mechanism}"
        )
    if password is None:
        if salted_text is None:
            raise ScramArgumentError("You must supply one of 'password' or 'saltedpassword' to add-scram")
        if salt is None:
            raise ScramArgumentError("You must supply 'salt' with 'saltedpassword' to add-scram")
        salted = _b64(salted_text, "saltedPassword")
        return name, mechanism, credential_from_salted(MECHANISMS[mechanism], salt, salted, iterations)
    if salt is not None:
        algorithm = MECHANISMS[mechanism]
        return (
            name,
            mechanism,
            credential_from_salted(
                algorithm, salt, salted_password(algorithm, password, salt, iterations), iterations
            ),
        )
    return name, mechanism, make_credential(mechanism, password, iterations)
