"""Unit tests of the security logic: SCRAM (RFC 7677's vector, Kafka's credential format), the TLS
principal mapping (Kafka's own SslPrincipalMapperTest cases), certificate subjects in Java's form,
JAAS parsing and the authorizer's decision table."""

from __future__ import annotations

import base64

import pytest

from kcli.server.security import scram
from kcli.server.security.acls import (
    AclBinding,
    AclEntry,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourcePattern,
    ResourceType,
)
from kcli.server.security.authorizer import Authorizer
from kcli.server.security.jaas import JaasError, login_config_file, parse_jaas_config, parse_jaas_file
from kcli.server.security.principal import KafkaPrincipal, SslPrincipalMapper, rfc2253_name


def test_scram_sha_256_rfc7677_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    credential = scram.make_credential("SCRAM-SHA-256", "pencil", 4096, salt)
    monkeypatch.setattr(scram, "_random_string", lambda: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    server = scram.ScramServer("SCRAM-SHA-256", lambda user: credential if user == "user" else None)
    first = server.evaluate(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first == b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    final = server.evaluate(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert server.complete and server.username == "user"


def test_scram_wrong_proof_and_unknown_user_fail_alike() -> None:
    credential = scram.make_credential("SCRAM-SHA-512", "secret")
    messages = []
    for user in ("alice", "mallory"):
        server = scram.ScramServer("SCRAM-SHA-512", lambda u: credential if u == "alice" else None)
        with pytest.raises(scram.ScramError) as exc:
            first = server.evaluate(f"n,,n={user},r=abc".encode()).decode()
            nonce = first.split(",")[0][2:]
            server.evaluate(f"c=biws,r={nonce},p={base64.b64encode(bytes(64)).decode()}".encode())
        messages.append(exc.value.message)
    assert messages[0] == messages[1]
    assert "invalid credentials" in messages[0]


def test_credentials_are_stored_as_kafka_writes_them() -> None:
    credential = scram.make_credential("SCRAM-SHA-256", "alice-secret", 8192)
    text = credential.to_string()
    assert text.startswith("salt=") and ",stored_key=" in text and ",server_key=" in text
    assert text.endswith(",iterations=8192")
    assert scram.ScramCredential.from_string(text) == credential


def test_ssl_principal_mapping_rules_as_kafka() -> None:
    mapper = SslPrincipalMapper(
        ", ".join(
            [
                "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
                "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
                "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
                "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
                "DEFAULT",
            ]
        )
    )
    assert mapper.name("CN=Duke,OU=ServiceUsers,O=Org,C=US") == "duke"
    assert mapper.name("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US") == "duke@sme"
    assert mapper.name("cn=duke,ou=sme,dc=mycp,dc=com") == "DUKE@SME"
    assert mapper.name("cN=duke,OU=JavaSoft,O=Sun Microsystems") == "DUKE"
    assert mapper.name("OU=JavaSoft,O=Sun Microsystems,C=US") == "OU=JavaSoft,O=Sun Microsystems,C=US"
    for invalid in (
        "default",
        "DEFAUL",
        "DEFAULT/L",
        "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
        "RULE:^CN=(.*?)$/$1/L/U",
    ):
        with pytest.raises(ValueError):
            SslPrincipalMapper(invalid)


def test_certificate_subject_in_javas_rfc2253_form() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from kcli.server.security.certificates import issue, make_ca

    cert = issue(make_ca(), "CN=alice smith,OU=lab,O=kcli\\, inc,C=US", hosts=())
    assert (
        rfc2253_name(cert.certificate.public_bytes(Encoding.DER))
        == "CN=alice smith,OU=lab,O=kcli\\, inc,C=US"
    )


def test_jaas_values_and_files(tmp_path) -> None:
    (module,) = parse_jaas_config(
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret" user_alice=alice-secret;'
    )
    assert module.flag == "required" and module.options["user_alice"] == "alice-secret"
    jaas = tmp_path / "kafka_server_jaas.conf"
    jaas.write_text(
        "// the lecture's file\nKafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n"
        '  username="admin"\n  password="admin-secret"\n  user_admin="admin-secret";\n};\n'
    )
    assert parse_jaas_file(jaas)["KafkaServer"][0].options["username"] == "admin"
    assert login_config_file(f"-Xmx1G -Djava.security.auth.login.config={jaas}") == str(jaas)
    for broken in ("PlainLoginModule user_admin=", "org.x.Y required a=", "org.x.Y required a=b"):
        with pytest.raises(JaasError):
            parse_jaas_config(broken)


def acl(kind, name, pattern, principal, op, perm, host="*") -> AclBinding:
    return AclBinding(ResourcePattern(kind, name, pattern), AclEntry(principal, host, op, perm))


T, G, C = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
Op = AclOperation
ALICE, BOB = KafkaPrincipal("User", "alice"), KafkaPrincipal("User", "bob")


def test_authorizer_decisions() -> None:
    authorizer = Authorizer(super_users={"User:admin"})
    authorizer.set_acls(
        [
            acl(T, "orders", LIT, "User:alice", Op.WRITE, ALLOW),
            acl(T, "pay", PRE, "User:bob", Op.READ, ALLOW),
            acl(T, "payroll", LIT, "User:bob", Op.READ, DENY),
            acl(G, "billing", LIT, "User:bob", Op.READ, ALLOW),
            acl(T, "*", LIT, "User:*", Op.DESCRIBE, ALLOW, host="10.0.0.1"),
            acl(T, "configs", LIT, "User:alice", Op.ALTER_CONFIGS, ALLOW),
            acl(T, "deny-describe", LIT, "User:alice", Op.READ, DENY),
            acl(T, "deny-describe", LIT, "User:alice", Op.DESCRIBE, ALLOW),
        ]
    )
    check = authorizer.authorize
    assert check(ALICE, "127.0.0.1", Op.WRITE, T, "orders")
    assert check(ALICE, "127.0.0.1", Op.DESCRIBE, T, "orders")  # WRITE implies DESCRIBE
    assert not check(ALICE, "127.0.0.1", Op.READ, T, "orders")
    assert not check(BOB, "127.0.0.1", Op.WRITE, T, "orders")
    assert check(BOB, "127.0.0.1", Op.READ, T, "payments")  # prefix
    assert not check(BOB, "127.0.0.1", Op.READ, T, "payroll")  # DENY wins
    assert check(BOB, "127.0.0.1", Op.DESCRIBE, T, "payroll")  # a DENY implies nothing
    assert check(BOB, "10.0.0.1", Op.DESCRIBE, T, "anything")  # wildcard resource, principal, host
    assert not check(BOB, "127.0.0.1", Op.DESCRIBE, T, "anything")
    assert check(ALICE, "127.0.0.1", Op.DESCRIBE_CONFIGS, T, "configs")  # ALTER_CONFIGS implies it
    assert not check(ALICE, "127.0.0.1", Op.READ, T, "deny-describe")
    assert check(ALICE, "127.0.0.1", Op.DESCRIBE, T, "deny-describe")
    assert check(KafkaPrincipal("User", "admin"), "127.0.0.1", Op.ALTER, C, "kafka-cluster")
    assert not check(ALICE, "127.0.0.1", Op.READ, T, "no-acls-at-all")
    assert Authorizer(allow_everyone_if_no_acl_found=True).authorize(ALICE, "h", Op.READ, T, "no-acls-at-all")
    assert authorizer.authorize_any(ALICE, "127.0.0.1", Op.WRITE, T)  # KIP-679 idempotence
    assert not authorizer.authorize_any(BOB, "127.0.0.1", Op.WRITE, T)


def test_every_served_api_has_an_authorization_rule() -> None:
    """With an authorizer, an API without a rule is refused to all but super users: a new API must
    come with its checks (kcli/server/authorization/api_authorization.py), as Kafka's KafkaApis has them."""
    from kcli.server.apis import load_all
    from kcli.server.authorization.api_authorization import RequestAuthorization

    rules = RequestAuthorization(None).rules
    missing = [f"{key} {spec.name}" for key, spec in sorted(load_all().items()) if key not in rules]
    assert missing == []
