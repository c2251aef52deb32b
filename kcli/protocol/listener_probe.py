"""Does a listener speak the security protocol the client configuration asks for?

A ``--command-config`` written for Confluent Cloud (``security.protocol=SASL_SSL``) pointed at a
laptop broker's PLAINTEXT listener makes librdkafka retry its TLS handshake until the tool's
timeout, then fail with "Broker transport failure"; Java's clients are no clearer ("terminated
during authentication"). Before a tool that asks for TLS or SASL builds its client, this module
asks the listener two questions in plain Kafka, encoded by ``kio`` (Kafka's own message schemas):

* ApiVersions v0: a PLAINTEXT or SASL_PLAINTEXT listener answers it in the clear (Kafka serves it
  before authentication); a TLS listener cannot.
* SaslHandshake v1 with the configured mechanism: a SASL listener answers with its mechanisms; a
  PLAINTEXT listener refuses (Java's broker answers ILLEGAL_SASL_STATE), closes, or does not list
  the API at all.

The answer is one line saying which listener the address is and what the configuration asked
for, or None when they agree (or the listener cannot be told apart, e.g. it closed at once).
"""

from __future__ import annotations

import socket
from typing import Any

from kcli.protocol.errors import error_code as code
from kcli.protocol.frames import decode_response, encode_request, read_size, recv_exactly

API_VERSIONS, SASL_HANDSHAKE = 18, 17
TIMEOUT_S = 3.0
CLIENT_ID = "kcli"


def encode(api_key: int, version: int, correlation_id: int, body: dict[str, Any]) -> bytes:
    return encode_request(api_key, version, correlation_id, body, CLIENT_ID)


def read_response(sock: socket.socket, api_key: int, version: int, correlation_id: int) -> Any | None:
    """The decoded answer, or None when the bytes that came back are not a Kafka response to it
    (a TLS alert, an HTTP reply...)."""
    size = read_size(sock)
    if not 4 <= size <= 64 << 20:
        return None
    frame = recv_exactly(sock, size)
    try:
        answered, body = decode_response(api_key, version, frame)
    except Exception:
        return None
    return body if answered == correlation_id else None


def listener_kind(host: str, port: int, mechanism: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """ "PLAINTEXT", "SASL_PLAINTEXT", "TLS" (SSL or SASL_SSL) or None when it cannot be told."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(encode(API_VERSIONS, 0, 1, {}))
            try:
                versions = read_response(sock, API_VERSIONS, 0, 1)
            except (ConnectionError, TimeoutError, OSError):
                return "TLS"  # it hung up on (or never answered) a cleartext request
            if versions is None:
                return "TLS"
            if SASL_HANDSHAKE not in {code(k.api_key) for k in versions.api_keys}:
                return "PLAINTEXT"
            sock.sendall(encode(SASL_HANDSHAKE, 1, 2, {"mechanism": mechanism}))
            try:
                handshake = read_response(sock, SASL_HANDSHAKE, 1, 2)
            except (ConnectionError, TimeoutError, OSError):
                return "PLAINTEXT"
            if handshake is None:
                return None
            # 0: the mechanism is on; UNSUPPORTED_SASL_MECHANISM (33) names the enabled ones
            if code(handshake.error_code) in (0, 33) and (
                code(handshake.error_code) == 0 or handshake.mechanisms
            ):
                return "SASL_PLAINTEXT"
            return "PLAINTEXT"  # ILLEGAL_SASL_STATE: Java's broker on a listener without SASL
    except OSError:
        return None


def protocol_mismatch(host: str, port: int, protocol: str, mechanism: str) -> str | None:
    """One line when ``host:port`` does not speak ``protocol`` (SSL, SASL_SSL or SASL_PLAINTEXT)."""
    protocol = protocol.upper()
    kind = listener_kind(host, port, mechanism)
    if kind is None:
        return None
    wants_tls = protocol in ("SSL", "SASL_SSL")
    if wants_tls and kind != "TLS":
        return (
            f"{host}:{port} is a {kind} listener (no TLS), but the client configuration says "
            f"security.protocol={protocol}: connect to the broker's {protocol} listener, or remove "
            "security.protocol and the ssl./sasl. settings to use this one"
        )
    if protocol == "SASL_PLAINTEXT" and kind == "PLAINTEXT":
        return (
            f"{host}:{port} is a PLAINTEXT listener (no SASL), but the client configuration says "
            "security.protocol=SASL_PLAINTEXT: connect to the broker's SASL_PLAINTEXT listener, or remove "
            "security.protocol and the sasl. settings to use this one"
        )
    if protocol == "SASL_PLAINTEXT" and kind == "TLS":
        return (
            f"{host}:{port} does not answer in cleartext (a TLS listener?), but the client configuration "
            "says security.protocol=SASL_PLAINTEXT: use security.protocol=SASL_SSL for it"
        )
    return None
