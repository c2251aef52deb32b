"""``kcli local start --secure``: the stack as a SASL_SSL security lab.

Everything a course's security lab sets up by hand with ``keytool``, ``openssl`` and JAAS files,
generated under ``$KCLI_HOME/local/secure``:

* a CA and a broker certificate for ``localhost`` (the ``cryptography`` library, PEM stores);
* users ``admin``, ``alice`` and ``bob`` (passwords ``admin-secret``...), for SASL/PLAIN (the
  listener's JAAS line) and SCRAM-SHA-256/512 (credentials written before the first start, as
  ``kafka-storage format --add-scram`` would);
* the broker listening on ``SASL_SSL`` only, with ``StandardAuthorizer``, ``super.users=User:admin``
  and no access for anyone else until ``kafka-acls`` grants it;
* one Java-style client properties file per user (``admin.properties``...) that every tool takes
  (``--command-config``, ``--producer.config``, ``--consumer.config``) and ``kcli tui`` too;
* with ``--schema-registry``: the registry over HTTPS with HTTP basic auth for the same users.
"""

from __future__ import annotations

from pathlib import Path

from kcli.server.security.certificates import (
    issue,
    make_ca,
    write_pem_keystore,
    write_pem_truststore,
)

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
KEY_PASSWORD = "broker-key-secret"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


def secure_dir(base: Path) -> Path:
    return base / "secure"


def prepare(base: Path, data_dirs: list[Path]) -> Path:
    """Certificates, client properties and the SCRAM users (in each broker's log dir); returns the dir."""
    from kcli.server.security.scram import make_credential
    from kcli.server.security.store import SecurityStore

    d = secure_dir(base)
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "ca.pem").exists():
        ca = make_ca("CN=kcli local CA,O=kcli")
        write_pem_truststore(d / "ca.pem", ca)
        write_pem_keystore(d / "broker.keystore.pem", issue(ca, "CN=localhost,O=kcli"), ca, KEY_PASSWORD)
    for user, password in USERS.items():
        (d / f"{user}.properties").write_text(client_properties(d, user, password))
    for data in data_dirs:
        store = SecurityStore.load(data)
        if not store.scram:
            creds = [
                (u, m, make_credential(m, p))
                for u, p in USERS.items()
                for m in ("SCRAM-SHA-256", "SCRAM-SHA-512")
            ]
            store.alter_scram(creds, [])
    return d


def client_properties(d: Path, user: str, password: str) -> str:
    return "\n".join(
        [
            f"# Written by kcli local start --secure: the SASL_SSL client settings of user {user}.",
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            f'sasl.jaas.config={SCRAM_MODULE} required username="{user}" password="{password}";',
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={d / 'ca.pem'}",
            "",
        ]
    )


def broker_settings(d: Path, port: int) -> list[str]:
    """The lines that make a broker's client listener SASL_SSL with the lab's users and ACLs."""
    plain_users = " ".join(f'user_{u}="{p}"' for u, p in USERS.items())
    plain = f'{PLAIN_MODULE} required username="admin" password="admin-secret" {plain_users};'
    scram = f'{SCRAM_MODULE} required username="admin" password="admin-secret";'
    return [
        f"listeners=SASL_SSL://localhost:{port}",
        f"advertised.listeners=SASL_SSL://localhost:{port}",
        "inter.broker.listener.name=SASL_SSL",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        f"listener.name.sasl_ssl.plain.sasl.jaas.config={plain}",
        f"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={scram}",
        f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram}",
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={d / 'broker.keystore.pem'}",
        f"ssl.key.password={KEY_PASSWORD}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={d / 'ca.pem'}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:admin",
        "allow.everyone.if.no.acl.found=false",
    ]


def secure_broker_properties(plain_text: str, d: Path, port: int) -> str:
    """A broker's properties with its PLAINTEXT client listener replaced by the SASL_SSL lab."""
    lines = [
        line
        for line in plain_text.splitlines()
        if not line.startswith(
            ("listeners=PLAINTEXT", "advertised.listeners=", "listener.security.protocol.map=")
        )
    ]
    controller = [line for line in plain_text.splitlines() if line.startswith("listeners=")]
    extra = broker_settings(d, port)
    if controller and "CONTROLLER://" in controller[0]:
        controller_listener = next(
            p for p in controller[0][len("listeners=") :].split(",") if p.startswith("CONTROLLER://")
        )
        extra[0] = f"listeners=SASL_SSL://localhost:{port},{controller_listener}"
    extra.append("listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL")
    return "\n".join([*[line for line in lines if line.strip()], *extra, ""])


def registry_settings(d: Path, port: int, bootstrap: str) -> tuple[str, dict[str, str]]:
    """The registry's properties (HTTPS, basic auth, a SASL_SSL store) and the environment it needs."""
    (d / "registry-passwords").write_text("".join(f"{u}: {p},admin\n" for u, p in USERS.items()))
    (d / "registry-jaas.conf").write_text(
        "SchemaRegistry-Props {\n"
        f'  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required file="{d / "registry-passwords"}";\n'
        "};\n"
    )
    props = "\n".join(
        [
            "# Written by kcli local start --secure --schema-registry.",
            f"listeners=https://0.0.0.0:{port}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={d / 'broker.keystore.pem'}",
            f"ssl.key.password={KEY_PASSWORD}",
            "authentication.method=BASIC",
            "authentication.realm=SchemaRegistry-Props",
            "authentication.roles=admin",
            f"kafkastore.bootstrap.servers=SASL_SSL://{bootstrap}",
            "kafkastore.security.protocol=SASL_SSL",
            "kafkastore.sasl.mechanism=SCRAM-SHA-512",
            f'kafkastore.sasl.jaas.config={SCRAM_MODULE} required username="admin" password="admin-secret";',
            "kafkastore.ssl.truststore.type=PEM",
            f"kafkastore.ssl.truststore.location={d / 'ca.pem'}",
            "kafkastore.topic=_schemas",
            "",
        ]
    )
    env = {"SCHEMA_REGISTRY_OPTS": f"-Djava.security.auth.login.config={d / 'registry-jaas.conf'}"}
    return props, env


def summary(d: Path) -> list[str]:
    return [
        f"Security: SASL_SSL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), CA {d / 'ca.pem'}",
        "Users: admin (super user), alice, bob; passwords admin-secret, alice-secret, bob-secret",
        f"Client settings: {d}/<user>.properties (--command-config, --producer.config, --consumer.config)",
        "alice and bob may do nothing until kafka-acls grants it, e.g. kafka-acls --bootstrap-server "
        f"localhost:9092 --command-config {d / 'admin.properties'} --add --allow-principal User:alice "
        "--producer --topic orders",
    ]
