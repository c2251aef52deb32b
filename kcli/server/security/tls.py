"""TLS contexts from Kafka's ``ssl.*`` settings, with Python's ssl module.

Stores, as Kafka 2.7+ accepts them:

* ``ssl.keystore.type=PEM``: ``ssl.keystore.location`` is one PEM file with the private key and its
  certificate chain, or the PEM text is inline in ``ssl.keystore.key`` and
  ``ssl.keystore.certificate.chain``; an encrypted key takes ``ssl.key.password`` (a PEM keystore
  has no store password, as in Kafka);
* ``ssl.keystore.type=PKCS12`` (and truststores of that type): read with the ``cryptography``
  library, ``ssl.keystore.password`` opening the store;
* ``JKS`` (Kafka's default type): Java's own format, not readable here; the error names the PEM
  alternative and the ``keytool`` command that converts a store.
* truststores: ``ssl.truststore.type=PEM`` with ``ssl.truststore.location`` (a PEM bundle) or
  ``ssl.truststore.certificates`` (inline PEM), or PKCS12.

``ssl.client.auth`` is ``required`` / ``requested`` / ``none``; ``ssl.enabled.protocols`` bounds the
TLS versions. Every problem is a :class:`~kcli.server.base.config.ConfigError` naming the key and the fix.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from kcli.server.base.config import ConfigError

Lookup = Callable[[str], "str | None"]

_JKS_MAGIC = b"\xfe\xed\xfe\xed"
_PROTOCOLS = {
    "TLSV1": ssl.TLSVersion.TLSv1,
    "TLSV1.1": ssl.TLSVersion.TLSv1_1,
    "TLSV1.2": ssl.TLSVersion.TLSv1_2,
    "TLSV1.3": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def _jks_error(key: str, path: str | None) -> ConfigError:
    where = f" ({path})" if path else ""
    return ConfigError(
        f"{key}=JKS{where}: Java KeyStore files cannot be read by kcli; use PEM "
        f"({key}=PEM with a PEM file, e.g. from `keytool -importkeystore -deststoretype PKCS12` "
        "then `openssl pkcs12 -nodes`) or PKCS12"
    )


def _read(key: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{key}={path}: cannot read the store: {exc.strerror or exc} (check the path and its permissions)"
        ) from None


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A file only this user can read, for ssl's file-only loaders; removed right after."""
    fd, name = tempfile.mkstemp(prefix="kcli-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield name
    finally:
        os.unlink(name)


def _pkcs12(key: str, path: str, data: bytes, password: str | None):
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        return pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise ConfigError(
            f"{key}={path}: cannot open the PKCS12 store: wrong or missing "
            f"{key.replace('location', 'password')}, or not a PKCS12 file"
        ) from None


def _pem_certs(certificates) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


def load_keystore(ctx: ssl.SSLContext, get: Lookup) -> None:
    """Put the key and certificate chain of ``ssl.keystore.*`` into ``ctx``."""
    store_type = (get("ssl.keystore.type") or "JKS").strip().upper()
    location = get("ssl.keystore.location")
    key_password = get("ssl.key.password")
    store_password = get("ssl.keystore.password")
    inline_key, inline_chain = get("ssl.keystore.key"), get("ssl.keystore.certificate.chain")
    if store_type == "PEM":
        if store_password:
            raise ConfigError(
                "ssl.keystore.password: SSL key store password cannot be specified with PEM format, "
                "only key password may be specified (ssl.key.password)"
            )
        if inline_key or inline_chain:
            if not (inline_key and inline_chain):
                raise ConfigError("ssl.keystore.key and ssl.keystore.certificate.chain must be set together")
            data = (inline_key.strip() + "\n" + inline_chain.strip() + "\n").encode()
            _load_chain(ctx, "ssl.keystore.key", "inline PEM", data, key_password)
            return
        if not location:
            raise ConfigError("ssl.keystore.location is not set: the listener needs a key and certificate")
        _load_chain(
            ctx, "ssl.keystore.location", location, _read("ssl.keystore.location", location), key_password
        )
        return
    if not location:
        raise ConfigError("ssl.keystore.location is not set: the listener needs a key and certificate")
    if store_type not in ("JKS", "PKCS12"):
        raise ConfigError(f"ssl.keystore.type={store_type} is not supported: use PEM or PKCS12")
    data = _read("ssl.keystore.location", location)
    if data.startswith(_JKS_MAGIC):
        raise _jks_error("ssl.keystore.type", location)
    # (a PKCS12 file under type JKS is read, as Java 9+ reads it)
    if data.lstrip().startswith(b"-----BEGIN"):
        raise ConfigError(
            f"ssl.keystore.location={location} is a PEM file: set ssl.keystore.type=PEM "
            f"(ssl.keystore.type is {store_type})"
        )
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key, cert, extra = _pkcs12("ssl.keystore.location", location, data, store_password)
    if key is None or cert is None:
        raise ConfigError(
            f"ssl.keystore.location={location}: the store holds no private key with a certificate"
        )
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()) + _pem_certs(
        [cert, *(extra or [])]
    )
    _load_chain(ctx, "ssl.keystore.location", location, pem, None)


def _load_chain(ctx: ssl.SSLContext, key: str, where: str, data: bytes, password: str | None) -> None:
    if b"PRIVATE KEY-----" not in data:
        raise ConfigError(f"{key} ({where}): no private key in the PEM data")
    if b"CERTIFICATE-----" not in data:
        raise ConfigError(f"{key} ({where}): no certificate in the PEM data")
    with _private_file(data) as name:
        try:
            ctx.load_cert_chain(name, password=(password or "").encode() if b"ENCRYPTED" in data else None)
        except ssl.SSLError as exc:
            if b"ENCRYPTED" in data:
                raise ConfigError(
                    f"ssl.key.password: the private key in {where} cannot be decrypted with it "
                    "(wrong or missing ssl.key.password)"
                ) from None
            raise ConfigError(
                f"{key} ({where}): the key and certificate cannot be used: {exc.reason or exc}"
            ) from None


def load_truststore(ctx: ssl.SSLContext, get: Lookup) -> bool:
    """Put ``ssl.truststore.*`` CAs into ``ctx``; False when none is configured."""
    store_type = (get("ssl.truststore.type") or "JKS").strip().upper()
    location = get("ssl.truststore.location")
    inline = get("ssl.truststore.certificates")
    if inline:
        if store_type != "PEM":
            raise ConfigError("ssl.truststore.certificates needs ssl.truststore.type=PEM")
        try:
            ctx.load_verify_locations(cadata=inline)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"ssl.truststore.certificates: not usable PEM certificates: {exc.reason or exc}"
            ) from None
        return True
    if not location:
        return False
    data = _read("ssl.truststore.location", location)
    if data.lstrip().startswith(b"-----BEGIN"):
        if store_type != "PEM":
            raise ConfigError(
                f"ssl.truststore.location={location} is a PEM file: set ssl.truststore.type=PEM "
                f"(ssl.truststore.type is {store_type})"
            )
        try:
            ctx.load_verify_locations(cadata=data.decode())
        except (ssl.SSLError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"ssl.truststore.location={location}: not usable PEM certificates: {exc}"
            ) from None
        return True
    if store_type == "PEM":
        raise ConfigError(f"ssl.truststore.location={location} is not a PEM file (ssl.truststore.type=PEM)")
    if store_type not in ("JKS", "PKCS12"):
        raise ConfigError(f"ssl.truststore.type={store_type} is not supported: use PEM or PKCS12")
    if data.startswith(_JKS_MAGIC):
        raise _jks_error("ssl.truststore.type", location)
    _key, cert, extra = _pkcs12("ssl.truststore.location", location, data, get("ssl.truststore.password"))
    certs = [c for c in [cert, *(extra or [])] if c is not None]
    if not certs:
        raise ConfigError(f"ssl.truststore.location={location}: the store holds no certificate")
    ctx.load_verify_locations(cadata=_pem_certs(certs).decode())
    return True


def _versions(ctx: ssl.SSLContext, get: Lookup) -> None:
    enabled = [
        p.strip().upper() for p in (get("ssl.enabled.protocols") or "TLSv1.2,TLSv1.3").split(",") if p.strip()
    ]
    versions = []
    for name in enabled:
        if name not in _PROTOCOLS:
            raise ConfigError(f"ssl.enabled.protocols: unknown protocol {name} (TLSv1.2, TLSv1.3)")
        versions.append(_PROTOCOLS[name])
    if not versions:
        raise ConfigError("ssl.enabled.protocols is empty")
    ctx.minimum_version = min(versions)
    ctx.maximum_version = max(versions)


def _refuse_unsupported(get: Lookup) -> None:
    for key in ("ssl.cipher.suites", "ssl.engine.factory.class", "ssl.provider"):
        if get(key):
            raise ConfigError(
                f"{key} is not supported by kcli (it uses OpenSSL's defaults): remove it, or the broker "
                "would run with different TLS settings than configured"
            )


def server_context(get: Lookup) -> ssl.SSLContext:
    """The TLS context of an SSL or SASL_SSL listener."""
    _refuse_unsupported(get)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _versions(ctx, get)
    load_keystore(ctx, get)
    client_auth = (get("ssl.client.auth") or "none").strip().lower()
    if client_auth not in _CLIENT_AUTH:
        raise ConfigError(f"ssl.client.auth={client_auth}: expected required, requested or none")
    ctx.verify_mode = _CLIENT_AUTH[client_auth]
    if client_auth != "none" and not load_truststore(ctx, get):
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    return ctx


def client_context(get: Lookup) -> ssl.SSLContext:
    """The TLS context a broker uses to reach another broker (inter-broker listener settings)."""
    _refuse_unsupported(get)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _versions(ctx, get)
    if not load_truststore(ctx, get):
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    algorithm = get("ssl.endpoint.identification.algorithm")
    ctx.check_hostname = (algorithm if algorithm is not None else "https").strip().lower() == "https"
    if get("ssl.keystore.location") or get("ssl.keystore.key"):
        load_keystore(ctx, get)
    return ctx
