"""The schema registry over HTTPS with HTTP basic authentication, storing its schemas through a
SASL_SSL broker, used by Confluent's own Python SchemaRegistryClient."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from kcli.schema_registry.security import deobfuscate
from tests.broker_process import free_port, start_and_wait
from tests.server.security.secure_broker import SecureBroker

STARTED = "Server started, listening for requests..."


def obfuscate(text: str) -> str:
    """Jetty's Password.obfuscate, to write an OBF: password as Jetty's tool would."""
    b = text.encode()
    out = "OBF:"
    for i, b1 in enumerate(b):
        b2 = b[len(b) - (i + 1)]
        i0 = (127 + b1 + b2) * 256 + (127 + b1 - b2)
        x = _base36(i0)
        out += "000"[: 4 - len(x)] + x
    return out


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while value:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
    return out or "0"


def test_jetty_obfuscation_round_trip() -> None:
    assert deobfuscate(obfuscate("changeme")) == "changeme"


@pytest.fixture(scope="module")
def registry(secure_broker: SecureBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    d = tmp_path_factory.mktemp("secure-registry")
    (d / "password-file").write_text(
        f"fred: {obfuscate('letmein')},admin\nbarney: changeme,user\nwilma: pebbles,guest\n"
    )
    (d / "jaas_config.file").write_text(
        "SchemaRegistry-Props {\n"
        f'  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required file="{d / "password-file"}" debug="false";\n'
        "};\n"
    )
    port = free_port()
    certs = secure_broker.certs
    (d / "schema-registry.properties").write_text(
        f"listeners=https://127.0.0.1:{port}\n"
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={certs / 'broker.keystore.pem'}\n"
        "ssl.key.password=broker-key-secret\n"
        "authentication.method=BASIC\n"
        "authentication.realm=SchemaRegistry-Props\n"
        "authentication.roles=admin,user\n"
        f"kafkastore.bootstrap.servers=SASL_SSL://{secure_broker.bootstrap('SASL_SSL')}\n"
        "kafkastore.security.protocol=SASL_SSL\n"
        "kafkastore.sasl.mechanism=SCRAM-SHA-512\n"
        "kafkastore.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="admin" password="admin-secret";\n'
        "kafkastore.ssl.truststore.type=PEM\n"
        f"kafkastore.ssl.truststore.location={secure_broker.ca}\n"
        "kafkastore.topic=_schemas_secure\n"
        "kafkastore.topic.replication.factor=1\n"
        "kafkastore.init.timeout.ms=20000\n"
    )
    env = dict(
        os.environ,
        PYTHONUNBUFFERED="1",
        KCLI_HOME=str(d / "home"),
        SCHEMA_REGISTRY_OPTS=f"-Djava.security.auth.login.config={d / 'jaas_config.file'}",
    )
    output: list[str] = []
    proc = start_and_wait(
        [sys.executable, "-m", "kcli.schema_registry.start", str(d / "schema-registry.properties")],
        d, STARTED, output, 60, env,
    )  # fmt: skip
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def _get(url: str, ca: str, user: str | None = None, password: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/subjects")
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_confluent_client_over_https_with_basic_auth(registry: str, secure_broker: SecureBroker) -> None:
    client = SchemaRegistryClient(
        {"url": registry, "basic.auth.user.info": "fred:letmein", "ssl.ca.location": secure_broker.ca}
    )
    schema = '{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"}]}'
    schema_id = client.register_schema("orders-value", Schema(schema, "AVRO"))
    assert client.get_schema(schema_id).schema_str.replace(" ", "") == schema.replace(" ", "")
    assert (
        "orders-value"
        in SchemaRegistryClient(
            {"url": registry, "basic.auth.user.info": "barney:changeme", "ssl.ca.location": secure_broker.ca}
        ).get_subjects()
    )
    with pytest.raises(SchemaRegistryError) as exc:
        SchemaRegistryClient(
            {"url": registry, "basic.auth.user.info": "fred:wrong", "ssl.ca.location": secure_broker.ca}
        ).get_subjects()
    assert exc.value.http_status_code == 401


def test_unauthenticated_and_unauthorised_requests(registry: str, secure_broker: SecureBroker) -> None:
    status, headers = _get(registry, secure_broker.ca)
    assert status == 401 and headers.get("WWW-Authenticate") == 'Basic realm="SchemaRegistry-Props"'
    assert _get(registry, secure_broker.ca, "wilma", "pebbles")[0] == 403  # no allowed role
    assert _get(registry, secure_broker.ca, "barney", "changeme")[0] == 200


def test_plain_http_to_the_https_port_is_refused(registry: str) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(registry.replace("https://", "http://") + "/subjects", timeout=10).read()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_with_user_info(registry: str, secure_broker: SecureBroker) -> None:
    result = subprocess.run(
        ["curl", "-s", "--cacert", secure_broker.ca, "-u", "fred:letmein", registry + "/subjects"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.startswith("[")
