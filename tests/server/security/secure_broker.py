"""One broker with every kind of secured listener, for the real-client security tests.

Listeners: SASL_PLAINTEXT and SASL_SSL (mechanisms PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and SSL
with ``ssl.client.auth=required`` (the principal is the certificate's CN, by
``ssl.principal.mapping.rules``). PLAIN users come from the listeners' JAAS lines; the same users
get SCRAM credentials through ``kafka-configs`` once the broker runs. Certificates come from
:mod:`kcli.server.security.certificates` in the test's directory.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from kcli.server.security.certificates import (
    issue,
    make_ca,
    write_pem_keystore,
    write_pem_truststore,
)
from tests.broker_process import BrokerProcess, free_port

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


def plain_jaas() -> str:
    users = " ".join(f'user_{u}="{p}"' for u, p in USERS.items())
    return f'{PLAIN_MODULE} required username="admin" password="admin-secret" {users};'


@dataclass
class SecureBroker:
    process: BrokerProcess
    sasl_port: int
    sasl_ssl_port: int
    ssl_port: int
    certs: Path
    plain_port: int | None = None  # a PLAINTEXT listener too, when asked for (benchmarks)

    @property
    def ca(self) -> str:
        return str(self.certs / "ca.pem")

    def client_cert(self, user: str) -> tuple[str, str]:
        """(certificate PEM path, key PEM path) of ``user``'s client certificate."""
        return str(self.certs / f"{user}.cert.pem"), str(self.certs / f"{user}.key.pem")

    def keystore(self, user: str) -> str:
        return str(self.certs / f"{user}.keystore.pem")

    def bootstrap(self, protocol: str) -> str:
        port = {"SASL_PLAINTEXT": self.sasl_port, "SASL_SSL": self.sasl_ssl_port, "SSL": self.ssl_port}[
            protocol
        ]
        return f"127.0.0.1:{port}"

    def librdkafka(
        self, protocol: str, mechanism: str | None = None, user: str = "alice", password: str | None = None
    ) -> dict:
        """confluent-kafka settings for one listener (and mechanism, for SASL)."""
        conf: dict = {"bootstrap.servers": self.bootstrap(protocol), "security.protocol": protocol}
        if protocol.startswith("SASL"):
            conf.update(
                {
                    "sasl.mechanisms": mechanism,
                    "sasl.username": user,
                    "sasl.password": USERS[user] if password is None else password,
                }
            )
        if protocol.endswith("SSL"):
            conf["ssl.ca.location"] = self.ca
        if protocol == "SSL":
            cert, key = self.client_cert(user)
            conf.update({"ssl.certificate.location": cert, "ssl.key.location": key})
        return conf

    def java_properties(self, protocol: str, mechanism: str | None = None, user: str = "admin") -> str:
        """A Java-style client properties file (what --command-config takes)."""
        lines = [f"security.protocol={protocol}"]
        if protocol.startswith("SASL"):
            module = PLAIN_MODULE if mechanism == "PLAIN" else SCRAM_MODULE
            lines += [
                f"sasl.mechanism={mechanism}",
                f'sasl.jaas.config={module} required username="{user}" password="{USERS[user]}";',
            ]
        if protocol.endswith("SSL"):
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={self.ca}"]
        if protocol == "SSL":
            lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={self.keystore(user)}"]
        path = self.certs / f"{protocol}-{mechanism}-{user}.properties"
        path.write_text("\n".join(lines) + "\n")
        return str(path)


def make_certificates(d: Path) -> None:
    ca = make_ca()
    write_pem_truststore(d / "ca.pem", ca)
    broker = issue(ca, "CN=broker,O=kcli")
    write_pem_keystore(d / "broker.keystore.pem", broker, ca, key_password="broker-key-secret")
    for user in USERS:
        cert = issue(ca, f"CN={user},OU=lab,O=kcli", hosts=())
        (d / f"{user}.cert.pem").write_bytes(cert.certificate_pem())
        (d / f"{user}.key.pem").write_bytes(cert.key_pem())
        write_pem_keystore(d / f"{user}.keystore.pem", cert, ca)


def start_secure_broker(
    workdir: Path, extra: dict[str, str] | None = None, plaintext: bool = False
) -> SecureBroker:
    certs = workdir / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    make_certificates(certs)
    sasl, sasl_ssl, ssl_port = free_port(), free_port(), free_port()
    jaas = plain_jaas()
    scram = f'{SCRAM_MODULE} required username="admin" password="admin-secret";'
    plain_port = free_port() if plaintext else None
    listeners = (
        f"SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{sasl_ssl},SSL://127.0.0.1:{ssl_port}"
    )
    settings: dict[str, str | None] = {
        "listeners": listeners + (f",PLAINTEXT://127.0.0.1:{plain_port}" if plain_port else ""),
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs / "broker.keystore.pem"),
        "ssl.key.password": "broker-key-secret",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs / "ca.pem"),
        "listener.name.ssl.ssl.client.auth": "required",
        "ssl.principal.mapping.rules": "RULE:^CN=([^,]+),.*$/$1/,DEFAULT",
    }
    for listener in ("sasl_plaintext", "sasl_ssl"):
        settings[f"listener.name.{listener}.plain.sasl.jaas.config"] = jaas
        for mech in ("scram-sha-256", "scram-sha-512"):
            settings[f"listener.name.{listener}.{mech}.sasl.jaas.config"] = scram
    settings.update(extra or {})
    process = BrokerProcess(workdir, port=sasl, overrides=settings).start()
    broker = SecureBroker(process, sasl, sasl_ssl, ssl_port, certs, plain_port)
    admin_config = broker.java_properties("SASL_PLAINTEXT", "PLAIN", "admin")
    for user, password in USERS.items():
        add = f"SCRAM-SHA-256=[password={password}],SCRAM-SHA-512=[password={password}]"
        result = subprocess.run(
            ["kafka-configs", "--bootstrap-server", broker.bootstrap("SASL_PLAINTEXT"), "--command-config",
             admin_config, "--alter", "--add-config", add, "--entity-type", "users", "--entity-name", user],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return broker
