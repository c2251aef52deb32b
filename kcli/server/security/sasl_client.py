"""The client side of SASL/PLAIN and SCRAM, for a broker logging in to another broker.

Replica fetchers reach the leader's inter-broker listener as Kafka's own brokers do: TLS when the
listener is SSL/SASL_SSL, then SaslHandshake v1 and SaslAuthenticate with the mechanism of
``sasl.mechanism.inter.broker.protocol`` and the username/password of that mechanism's JAAS login
module. :func:`authenticate` takes the connection's ``request(api_key, version, body)`` coroutine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from kcli.server.security.scram import MECHANISMS, salted_password

Request = Callable[[int, int, dict[str, Any]], Awaitable[Any]]


class SaslLoginFailed(ConnectionError):
    pass


def _escape(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


class ScramClient:
    def __init__(self, mechanism: str, username: str, password: str):
        self.algorithm = MECHANISMS[mechanism]
        self.username = username
        self.password = password
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self._first_bare = f"n={_escape(username)},r={self.nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return f"n,,{self._first_bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        fields = dict(part.split("=", 1) for part in text.split(","))
        nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
        if not nonce.startswith(self.nonce):
            raise SaslLoginFailed("the broker's SCRAM nonce does not extend ours")
        salted = salted_password(self.algorithm, self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.algorithm).digest()
        stored_key = hashlib.new(self.algorithm, client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._first_bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self.algorithm).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.new(salted, b"Server Key", self.algorithm).digest()
        self._server_signature = hmac.new(server_key, auth_message, self.algorithm).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        text = server_final.decode()
        if not text.startswith("v=") or not hmac.compare_digest(
            base64.b64decode(text[2:]), self._server_signature
        ):
            raise SaslLoginFailed("the broker's SCRAM signature is wrong: it does not know our credential")


async def authenticate(request: Request, mechanism: str, username: str, password: str) -> None:
    """Log in on a fresh connection; raises SaslLoginFailed with the broker's message."""
    handshake = await request(17, 1, {"mechanism": mechanism})
    if handshake.error_code:
        raise SaslLoginFailed(
            f"the broker does not accept SASL mechanism {mechanism}: {list(handshake.mechanisms)}"
        )

    async def step(token: bytes) -> bytes:
        answer = await request(36, 2, {"auth_bytes": token})
        if answer.error_code:
            raise SaslLoginFailed(answer.error_message or f"SASL authentication failed ({answer.error_code})")
        return bytes(answer.auth_bytes)

    if mechanism == "PLAIN":
        await step(f"\0{username}\0{password}".encode())
        return
    client = ScramClient(mechanism, username, password)
    server_first = await step(client.first())
    client.verify(await step(client.final(server_first)))
