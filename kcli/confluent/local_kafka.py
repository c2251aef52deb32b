"""``confluent local kafka start|stop`` and ``confluent local kafka topic ...``.

Confluent's ``local kafka`` runs a KRaft broker (and a REST Proxy) in Docker; kcli runs the same
thing as processes with ``kcli local``'s own process management (:func:`kcli.local.start`,
:func:`kcli.local.stop`): ``--brokers N`` brokers on consecutive plaintext ports from 9092 (or the
first of ``--plaintext-ports``), and a REST Proxy on the first ``--kafka-rest-ports`` port (8082).
The ports are saved, as the Confluent CLI saves them, so ``confluent local kafka topic ...``
finds the cluster without flags.
"""

from __future__ import annotations

import sys
from typing import Any

from kcli.confluent import context, topic_commands
from kcli.confluent.errors import CLIError
from kcli.confluent.framework import CobraGroup, Flag, command, group
from kcli.confluent.local_services import DEV_ONLY
from kcli.confluent.output import Field, print_table

REST_MODULE = "kcli.rest_proxy.start"


def saved_ports() -> dict[str, Any] | None:
    return context.load().get("local_ports")


def _ports(values: list[str], flag: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise CLIError(
            f'invalid argument "{",".join(values)}" for "--{flag}" flag: ports are numbers'
        ) from None


def start(brokers: int, plaintext_ports: list[str], kafka_rest_ports: list[str], **_: Any) -> None:
    from kcli import local
    from kcli.confluent import ports as port_owner
    from kcli.local.services import port_in_use

    sys.stderr.write(DEV_ONLY + "\n\n")
    if not 1 <= brokers <= 4:
        raise CLIError("--brokers must be between 1 and 4", "Confluent Local runs 1 to 4 brokers.")
    plain = _ports(plaintext_ports, "plaintext-ports") or [9092 + i for i in range(brokers)]
    if len(plain) < brokers:
        raise CLIError(f"--plaintext-ports needs {brokers} ports, got {len(plain)}")
    plain = plain[:brokers]
    if plain != [plain[0] + i for i in range(brokers)]:
        raise CLIError(
            "kcli starts brokers on consecutive ports",
            f"Use --plaintext-ports {plain[0]} (then {plain[0] + 1}, ...).",
        )
    rest_port = (_ports(kafka_rest_ports, "kafka-rest-ports") or [8082])[0]
    if any(s.alive() for s in local.load_state()):
        raise CLIError(
            "Confluent Local is already running", "Stop it with `confluent local kafka stop` first."
        )
    for taken in [*plain, plain[-1] + 1, rest_port]:
        if port_in_use(taken):
            raise CLIError(
                port_owner.describe(taken),
                "Stop that process, or choose other ports with --plaintext-ports and --kafka-rest-ports.",
            )
    try:
        local.start(brokers=brokers, port=plain[0])
    except local.LocalError as exc:
        raise CLIError(str(exc)) from None
    try:
        _start_rest(rest_port, ",".join(f"localhost:{p}" for p in plain))
    except local.LocalError as exc:
        local.stop()
        raise CLIError(str(exc)) from None
    data = context.load()
    data["local_ports"] = {"kafka_rest_port": str(rest_port), "plaintext_ports": [str(p) for p in plain]}
    context.save(data)
    print_table(
        [
            Field("Kafka REST Port", "kafka_rest_port", str(rest_port)),
            Field("Plaintext Ports", "plaintext_ports", ", ".join(str(p) for p in plain)),
        ]
    )
    print(
        f"Started Confluent Local with {brokers} broker{'s' if brokers > 1 else ''}.\n"
        "To continue your Confluent Local experience, run `confluent local kafka topic create test` "
        "and `confluent local kafka topic produce test`."
    )


def _start_rest(port: int, bootstrap: str) -> None:
    from kcli.local import services as local

    props = local.local_dir() / "etc" / "kafka-rest.properties"
    props.parent.mkdir(parents=True, exist_ok=True)
    props.write_text(f"listeners=http://0.0.0.0:{port}\nbootstrap.servers=PLAINTEXT://{bootstrap}\n")
    service = local.launch(
        "kafka-rest", REST_MODULE, props, port, local.local_dir() / "logs" / "kafka-rest.log"
    )
    local.save_state([*local.load_state(), service])


def stop(**_: Any) -> None:
    from kcli import local

    sys.stderr.write(DEV_ONLY + "\n\n")
    if not local.load_state():
        raise CLIError("Confluent Local is not running", "Start it with `confluent local kafka start`.")
    try:
        local.stop()
    except local.LocalError as exc:
        raise CLIError(str(exc)) from None
    data = context.load()
    data.pop("local_ports", None)
    context.save(data)
    print("Confluent Local has been stopped.")


def connect(values: dict[str, Any], role: str) -> tuple[str, dict[str, Any]]:
    ports = saved_ports()
    if not ports:
        raise CLIError(
            "failed to read local ports from config",
            "Restart Confluent Local with `confluent local kafka stop` and `confluent local kafka start`.",
        )
    bootstrap = ",".join(f"localhost:{p}" for p in ports["plaintext_ports"])
    configs = values.get("config") if role in ("producer", "consumer") else None
    return bootstrap, context.client_settings(bootstrap, None, configs, role)


def build(local_group: CobraGroup) -> None:
    node = group(local_group, "kafka", "Manage a local instance of Apache Kafka.")
    command(
        node,
        "start",
        "Start a single-node or multi-node instance of Apache Kafka.",
        start,
        [
            Flag(
                "brokers",
                "Number of brokers (between 1 and 4, inclusive) in the Confluent Local Kafka cluster.",
                "int32",
                default=1,
            ),
            Flag(
                "plaintext-ports",
                "A comma-separated list of port numbers for plaintext producer and consumer clients for brokers.",
                "stringSlice",
            ),
            Flag(
                "kafka-rest-ports",
                "A comma-separated list of Kafka REST port numbers for brokers.",
                "stringSlice",
                default=["8082"],
            ),
        ],
    )
    command(node, "stop", "Stop the local Apache Kafka service.", stop)
    topic_commands.build(node, [], connect, "confluent local kafka")
