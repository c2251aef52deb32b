"""One SASL connection's authentication, as Kafka's SaslServerAuthenticator runs it.

Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate are accepted; any
other request closes the connection. A v0 SaslHandshake switches to raw tokens (length-prefixed
SASL bytes, no Kafka header: old clients); v1+ carries the tokens in SaslAuthenticate requests.
A failed exchange answers SASL_AUTHENTICATION_FAILED with Kafka's message (never the password,
never whether the user exists), then the connection closes after
``connection.failed.authentication.delay.ms``.

Re-authentication (KIP-368): with ``connections.max.reauth.ms`` set, a successful
SaslAuthenticate v1+ answer carries the session lifetime; the client re-authenticates on the same
connection with a new SaslHandshake + SaslAuthenticate (same mechanism, same principal), and a
connection whose session expired is closed at its next request.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.protocol.messages import build, response_class
from kcli.server.protocol.codec import DecodeError, decode_request, encode_response, peek_header
from kcli.server.security.principal import ANONYMOUS, KafkaPrincipal
from kcli.server.security.sasl_plain import PlainError, PlainServer
from kcli.server.security.scram import MECHANISMS as SCRAM_MECHANISMS
from kcli.server.security.scram import ScramCredential, ScramError, ScramServer
from kcli.server.security.setup import ListenerSecurity

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
_LEN = struct.Struct(">i")

CredentialLookup = Callable[[str, str], "ScramCredential | None"]  # (user, mechanism)


class AuthenticationFailed(Exception):
    """The exchange failed: ``response`` (maybe None) goes to the client, then the connection closes."""

    def __init__(self, message: str, response: bytes | None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.response = response
        self.detail = detail or message


class IllegalState(Exception):
    """A request that has no place in the exchange: the connection closes at once."""


class SaslSession:
    """Authentication state of one connection on a SASL listener."""

    def __init__(self, listener: ListenerSecurity, credentials: CredentialLookup):
        self.listener = listener
        self.credentials = credentials
        self.principal: KafkaPrincipal = ANONYMOUS
        self.mechanism: str | None = None
        self.authenticated = False
        self._state = "handshake"  # handshake -> authenticate | raw -> done
        self._server: PlainServer | ScramServer | None = None
        self._expires: float | None = None  # time.monotonic() deadline of the session
        self._reauth = False

    # --- what the request loop asks ----------------------------------------------------------
    def intercepts(self, frame: bytes | memoryview) -> bool:
        """Is ``frame`` part of the authentication exchange (not a request for the broker)?"""
        if not self.authenticated or self._state != "done":
            return True
        if len(frame) >= 2:
            (api_key,) = struct.unpack_from(">h", frame, 0)
            return api_key == SASL_HANDSHAKE  # the start of a re-authentication
        return False

    @property
    def expired(self) -> bool:
        return self._expires is not None and time.monotonic() > self._expires

    # --- the exchange -------------------------------------------------------------------------
    def handle(self, frame: bytes | memoryview) -> tuple[int, int, bytes | None]:
        """Handle one frame of the exchange: (api key, correlation id, response frame).

        ApiVersions is not handled here: (18, correlation, None) asks the caller to answer it.
        Raises AuthenticationFailed (answer, then close) or IllegalState (close now).
        """
        if self._state == "raw":
            return -1, -1, self._raw_token(bytes(frame))
        try:
            api_key, version, correlation = peek_header(frame)
        except DecodeError as exc:
            raise IllegalState(f"Invalid SASL request: {exc}") from None
        if self._state in ("handshake", "done"):
            if api_key == API_VERSIONS and not self._reauth and not self.authenticated:
                return api_key, correlation, None
            if api_key != SASL_HANDSHAKE:
                raise IllegalState(
                    f"Unexpected Kafka request of type {_api_name(api_key)} during SASL handshake."
                )
            return api_key, correlation, self._handshake(frame, version, correlation)
        if api_key != SASL_AUTHENTICATE:
            raise IllegalState(
                f"Unexpected Kafka request of type {_api_name(api_key)} during SASL authentication."
            )
        if version > 2:
            raise IllegalState(f"Version {version} is not supported for apiKey SASL_AUTHENTICATE")
        return api_key, correlation, self._authenticate(frame, version, correlation)

    def _handshake(self, frame: bytes | memoryview, version: int, correlation: int) -> bytes:
        if version > 1:
            raise IllegalState(f"Version {version} is not supported for apiKey SASL_HANDSHAKE")
        _header, body = _decode(frame, SASL_HANDSHAKE, version)
        mechanism = body.mechanism
        enabled = list(self.listener.mechanisms)
        cls = response_class(SASL_HANDSHAKE, version)
        if self.authenticated:  # re-authentication
            if version < 1:
                raise IllegalState("SaslHandshake v0 cannot start a re-authentication")
            if mechanism != self.mechanism:
                message = (
                    f"SASL mechanism '{mechanism}' requested by client is not supported for re-authentication "
                    f"of mechanism '{self.mechanism}'"
                )
                raise AuthenticationFailed(
                    message,
                    encode_response(
                        build(
                            cls,
                            {"error_code": ErrorCode.unsupported_sasl_mechanism.value, "mechanisms": enabled},
                        ),
                        correlation,
                    ),
                )
            self._reauth = True
        if mechanism not in enabled:
            response = build(
                cls, {"error_code": ErrorCode.unsupported_sasl_mechanism.value, "mechanisms": enabled}
            )
            raise AuthenticationFailed(
                f"Unsupported SASL mechanism {mechanism}", encode_response(response, correlation)
            )
        self.mechanism = mechanism
        if mechanism == "PLAIN":
            self._server = PlainServer(self.listener.plain_users)
        else:
            self._server = ScramServer(mechanism, lambda user: self.credentials(user, mechanism))
        self._state = "raw" if version == 0 else "authenticate"
        return encode_response(build(cls, {"error_code": 0, "mechanisms": enabled}), correlation)

    def _evaluate(self, token: bytes) -> bytes:
        server = self._server
        assert server is not None
        try:
            return server.evaluate(token)
        except (PlainError, ScramError) as exc:
            raise AuthenticationFailed(exc.message, None, exc.detail) from None

    def _raw_token(self, token: bytes) -> bytes:
        try:
            answer = self._evaluate(token)
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(exc.message, None, exc.detail) from None
        if self._server is not None and self._server.complete:
            self._complete()
        return _LEN.pack(len(answer)) + answer

    def _authenticate(self, frame: bytes | memoryview, version: int, correlation: int) -> bytes:
        _header, body = _decode(frame, SASL_AUTHENTICATE, version)
        cls = response_class(SASL_AUTHENTICATE, version)
        try:
            answer = self._evaluate(bytes(body.auth_bytes))
            lifetime = 0
            if self._server is not None and self._server.complete:
                lifetime = self._complete()
        except AuthenticationFailed as exc:
            response = build(
                cls,
                {
                    "error_code": ErrorCode.sasl_authentication_failed.value,
                    "error_message": exc.message,
                    "auth_bytes": b"",
                    "session_lifetime": 0,
                },
            )
            raise AuthenticationFailed(
                exc.message, encode_response(response, correlation), exc.detail
            ) from None
        response = build(
            cls, {"error_code": 0, "error_message": None, "auth_bytes": answer, "session_lifetime": lifetime}
        )
        return encode_response(response, correlation)

    def _complete(self) -> int:
        """The exchange succeeded: fix the principal and the session's lifetime (ms, 0 = none)."""
        server = self._server
        assert server is not None and server.username is not None
        principal = KafkaPrincipal("User", server.username)
        if self._reauth and principal != self.principal:
            raise AuthenticationFailed(
                f"Cannot change principals during re-authentication from {self.principal.principal_type}."
                f"{self.principal.name}: {principal.principal_type}.{principal.name}",
                None,
            )
        self.principal = principal
        self.authenticated = True
        self._reauth = False
        self._state = "done"
        self._server = None
        lifetime = self.listener.reauth_ms.get(self.mechanism or "", 0)
        self._expires = time.monotonic() + lifetime / 1000 if lifetime > 0 else None
        return lifetime


def _decode(frame: bytes | memoryview, api_key: int, version: int) -> tuple[Any, Any]:
    try:
        return decode_request(frame, api_key, version)
    except DecodeError as exc:
        raise IllegalState(str(exc)) from None


_NAMES = {
    0: "PRODUCE",
    1: "FETCH",
    2: "LIST_OFFSETS",
    3: "METADATA",
    17: "SASL_HANDSHAKE",
    18: "API_VERSIONS",
    36: "SASL_AUTHENTICATE",
}


def _api_name(api_key: int) -> str:
    return _NAMES.get(api_key, str(api_key))


__all__ = ["SCRAM_MECHANISMS", "AuthenticationFailed", "IllegalState", "SaslSession"]
