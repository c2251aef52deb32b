"""A small certificate authority for labs and tests, with the ``cryptography`` library.

``kcli local start --secure`` and the TLS tests need what a Kafka security lab makes with
``keytool``/``openssl``: a CA, a broker certificate for ``localhost``/``127.0.0.1``, and client
certificates whose subject becomes the principal (``CN=alice``). Keys are ECDSA P-256 (quick to
make, accepted by OpenSSL, librdkafka and Java alike). Files are written as Kafka 2.7+ reads PEM
stores: a keystore is one PEM file with the private key (PKCS#8, encrypted when a password is given)
and its certificate chain; a truststore is the CA certificate in PEM.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from cryptography.x509.oid import ExtendedKeyUsageOID

_DAYS = 825


@dataclass
class Issued:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def key_pem(self, password: str | None = None) -> bytes:
        encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
        return self.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)


def _name(subject: str) -> x509.Name:
    """``CN=alice,OU=lab,O=kcli`` (RFC 4514, most specific first, as Java prints it) -> a Name."""
    return x509.Name.from_rfc4514_string(subject)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(subject: str = "CN=kcli lab CA,O=kcli") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(subject)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue(
    ca: Issued, subject: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"), days: int = _DAYS
) -> Issued:
    """A certificate signed by ``ca`` for servers (``hosts`` as subject alternative names) and clients."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def write_pem_keystore(path: Path, issued: Issued, ca: Issued, key_password: str | None = None) -> Path:
    """Key + certificate chain in one PEM file (``ssl.keystore.type=PEM``)."""
    return _write(path, issued.key_pem(key_password) + issued.certificate_pem() + ca.certificate_pem())


def write_pem_truststore(path: Path, ca: Issued) -> Path:
    return _write(path, ca.certificate_pem())


def write_pkcs12_keystore(path: Path, issued: Issued, ca: Issued, password: str) -> Path:
    data = pkcs12.serialize_key_and_certificates(
        b"kcli", issued.key, issued.certificate, [ca.certificate], BestAvailableEncryption(password.encode())
    )
    return _write(path, data)
