"""SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802 / 7677), with credentials as Kafka stores them.

A user's credential per mechanism is (salt, StoredKey, ServerKey, iterations): the password itself
is never kept. Kafka writes it as ``salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=N``
(ScramCredentialUtils); so does kcli. :class:`ScramServer` is one authentication exchange, with
Kafka's ScramSaslServer's messages: a wrong password and an unknown user fail alike, so a client
cannot tell which users exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

MIN_ITERATIONS = 4096  # Kafka's ScramMechanism.minIterations for both mechanisms
MAX_ITERATIONS = 16384  # what AlterUserScramCredentials accepts (Kafka's maxIterations)
DEFAULT_ITERATIONS = 4096

MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
#: Kafka's ScramMechanism type codes, as AlterUserScramCredentials and DescribeUserScramCredentials use them.
MECHANISM_TYPES = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
MECHANISM_NAMES = {code: name for name, code in MECHANISM_TYPES.items()}


class ScramError(Exception):
    """The exchange failed; ``message`` is what the client may be told."""

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail or message


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    def to_string(self) -> str:
        b64 = base64.b64encode
        return (
            f"salt={b64(self.salt).decode()},stored_key={b64(self.stored_key).decode()},"
            f"server_key={b64(self.server_key).decode()},iterations={self.iterations}"
        )

    @classmethod
    def from_string(cls, text: str) -> ScramCredential:
        fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        try:
            return cls(
                base64.b64decode(fields["salt"]),
                base64.b64decode(fields["stored_key"]),
                base64.b64decode(fields["server_key"]),
                int(fields["iterations"]),
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"Invalid SCRAM credential: {exc}") from None


def _hmac(algorithm: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, algorithm).digest()


def salted_password(algorithm: str, password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac(algorithm, password.encode(), salt, iterations)


def credential_from_salted(algorithm: str, salt: bytes, salted: bytes, iterations: int) -> ScramCredential:
    client_key = _hmac(algorithm, salted, b"Client Key")
    stored_key = hashlib.new(algorithm, client_key).digest()
    server_key = _hmac(algorithm, salted, b"Server Key")
    return ScramCredential(salt, stored_key, server_key, iterations)


def make_credential(
    mechanism: str, password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> ScramCredential:
    """A new credential for ``password`` (a random salt, as Kafka's ScramFormatter makes one)."""
    algorithm = MECHANISMS[mechanism]
    salt = salt if salt is not None else _random_string().encode()
    return credential_from_salted(
        algorithm, salt, salted_password(algorithm, password, salt, iterations), iterations
    )


def _random_string() -> str:
    """Kafka's ScramFormatter.secureRandomString: 130 random bits in base 36."""
    value = secrets.randbits(130)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while value:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
    return out or "0"


def username_from_saslname(saslname: str) -> str:
    """RFC 5802's escaping of ',' and '=' in user names (``=2C`` and ``=3D``)."""
    name = saslname.replace("=2C", ",")
    if "=" in name.replace("=3D", ""):
        raise ScramError("Authentication failed: Invalid user credentials", f"Invalid username: {saslname}")
    return name.replace("=3D", "=")


_SASLNAME = r"(?:[\x01-\x2B\x2D-\x3C\x3E-\x7F]|=2C|=3D)+"
_PRINTABLE = r"[\x21-\x2B\x2D-\x7E]+"
_VALUE = r"[\x01-\x2B\x2D-\x7F]+"
_BASE64 = r"(?:[a-zA-Z0-9/+]{4})*(?:[a-zA-Z0-9/+]{3}=|[a-zA-Z0-9/+]{2}==)?"
_CLIENT_FIRST = re.compile(
    rf"n,(?:a=(?P<authzid>{_SASLNAME}))?,(?:m={_VALUE},)?n=(?P<saslname>{_SASLNAME}),"
    rf"r=(?P<nonce>{_PRINTABLE})(?P<extensions>(?:,[A-Za-z]+={_VALUE})*)"
)
_CLIENT_FINAL = re.compile(
    rf"c=(?P<channel>{_BASE64}),r=(?P<nonce>{_PRINTABLE})(?:,[A-Za-z]+={_VALUE})*,p=(?P<proof>{_BASE64})"
)


class ScramServer:
    """One SCRAM exchange on the broker: client-first -> server-first -> client-final -> server-final.

    ``lookup(user)`` returns the user's credential for this mechanism, or None.
    """

    def __init__(self, mechanism: str, lookup):
        self.mechanism = mechanism
        self.algorithm = MECHANISMS[mechanism]
        self.lookup = lookup
        self.state = "first"
        self.username: str | None = None
        self._credential: ScramCredential | None = None
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    def evaluate(self, response: bytes) -> bytes:
        try:
            if self.state == "first":
                return self._first(response)
            if self.state == "final":
                return self._final(response)
            raise ScramError("Authentication failed: unexpected SCRAM message", "unexpected message")
        except ScramError:
            self.state = "failed"
            self._credential = None
            raise

    def _invalid(self, detail: str) -> ScramError:
        return ScramError(
            f"Authentication failed during authentication due to invalid credentials with SASL mechanism {self.mechanism}",
            detail,
        )

    def _first(self, response: bytes) -> bytes:
        try:
            message = response.decode()
        except UnicodeDecodeError:
            raise self._invalid("client first message is not UTF-8") from None
        match = _CLIENT_FIRST.fullmatch(message)
        if match is None:
            raise self._invalid(f"Invalid SCRAM client first message format: {message[:200]!r}")
        try:
            username = username_from_saslname(match.group("saslname"))
        except ScramError as exc:
            raise self._invalid(exc.detail) from None
        credential = self.lookup(username)
        if credential is None:
            raise self._invalid(f"Authentication failed: Invalid user credentials (unknown user {username})")
        authzid = match.group("authzid") or ""
        if authzid and authzid != username:
            raise ScramError(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        if credential.iterations < MIN_ITERATIONS:
            raise self._invalid(
                f"Iterations {credential.iterations} is less than the minimum {MIN_ITERATIONS} for {self.mechanism}"
            )
        self.username = username
        self._credential = credential
        self._nonce = match.group("nonce") + _random_string()
        self._client_first_bare = message.split(",", 2)[2]  # after the gs2 header "n,[a=...],"
        salt = base64.b64encode(credential.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={credential.iterations}"
        self.state = "final"
        return self._server_first.encode()

    def _final(self, response: bytes) -> bytes:
        try:
            message = response.decode()
        except UnicodeDecodeError:
            raise self._invalid("client final message is not UTF-8") from None
        match = _CLIENT_FINAL.fullmatch(message)
        if match is None:
            raise self._invalid(f"Invalid SCRAM client final message format: {message[:200]!r}")
        # "ends with", as Kafka's ScramSaslServer checks: some librdkafka releases (2.0.x) send
        # their own nonce again in front of the combined one, and Kafka accepts them.
        if not match.group("nonce").endswith(self._nonce):
            raise self._invalid("Invalid client nonce in the final client message.")
        credential = self._credential
        assert credential is not None
        without_proof = message[: message.rindex(",p=")]
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        client_signature = _hmac(self.algorithm, credential.stored_key, auth_message)
        proof = base64.b64decode(match.group("proof"))
        if len(proof) != len(client_signature):
            raise self._invalid("Invalid client credentials")
        client_key = bytes(a ^ b for a, b in zip(client_signature, proof, strict=True))
        if not hmac.compare_digest(hashlib.new(self.algorithm, client_key).digest(), credential.stored_key):
            raise self._invalid("Invalid client credentials")
        signature = _hmac(self.algorithm, credential.server_key, auth_message)
        self._credential = None
        self.state = "complete"
        return b"v=" + base64.b64encode(signature)
