"""SASL/PLAIN on the broker (RFC 4616), as Kafka's PlainSaslServer with its default callback handler.

The users are the ``user_<name>="<password>"`` options of the PlainLoginModule in the listener's
JAAS configuration. Messages to the client are Kafka's own; they never say whether the user
exists.
"""

from __future__ import annotations

import hmac


class PlainError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.detail = message


class PlainServer:
    mechanism = "PLAIN"

    def __init__(self, users: dict[str, str]):
        self.users = users
        self.username: str | None = None
        self.complete = False

    def evaluate(self, response: bytes) -> bytes:
        text = response.decode("utf-8", errors="replace")
        tokens = text.split("\0", 3)
        if len(tokens) != 3:
            raise PlainError(f"Invalid SASL/PLAIN response: expected 3 tokens, got {min(len(tokens), 4)}")
        authzid, username, password = tokens
        if not username:
            raise PlainError("Authentication failed: username not specified")
        if not password:
            raise PlainError("Authentication failed: password not specified")
        expected = self.users.get(username)
        # compare even for an unknown user, so the time taken does not tell who exists
        ok = hmac.compare_digest((expected or "\0" + password).encode(), password.encode())
        if expected is None or not ok:
            raise PlainError("Authentication failed: Invalid username or password")
        if authzid and authzid != username:
            raise PlainError(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self.username = username
        self.complete = True
        return b""


def plain_users(options: dict[str, str]) -> dict[str, str]:
    """``user_alice="secret"`` JAAS options -> {"alice": "secret"}."""
    return {key[len("user_") :]: value for key, value in options.items() if key.startswith("user_")}
