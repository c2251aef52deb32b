"""``kafka-storage format`` with KIP-853's quorum options (Kafka 3.9+): ``--standalone``,
``--initial-controllers`` and ``--no-initial-controllers``, their rules and Kafka's messages, the
directory id a voter's metadata directory gets, and the bootstrap snapshot's voter set. Unit tests
of the voter-string parser are at the end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kcli.server.cluster.raft_voters import VoterParseError, parse_dynamic_voters, read_bootstrap_voters

CLUSTER_ID = "q1Sh-9_ISia_zwGINzRvyQ"
INITIAL = "1@localhost:8020:K90IZ-0DRNazJ49kCZ1EMQ,2@localhost:8030:aUARLskQTCW4qCZDtS_cwA"


def storage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kcli.server.storage_tool", *args], capture_output=True, text=True, timeout=60
    )


def config(tmp_path: Path, roles: str = "controller", quorum: str = "bootstrap") -> Path:
    lines = [
        f"process.roles={roles}",
        "node.id=1",
        f"log.dirs={tmp_path / 'logs'}",
        "controller.listener.names=CONTROLLER",
    ]
    lines.append(
        "controller.quorum.bootstrap.servers=localhost:8020"
        if quorum == "bootstrap"
        else "controller.quorum.voters=1@localhost:8020"
    )
    if "controller" in roles:
        lines.append("listeners=CONTROLLER://localhost:8020")
    else:
        lines.append("listeners=PLAINTEXT://localhost:9092")
    path = tmp_path / "server.properties"
    path.write_text("\n".join(lines) + "\n")
    return path


def fmt(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return storage("format", "-t", CLUSTER_ID, "-c", str(path), *extra)


def test_standalone_writes_a_one_voter_set_and_its_directory_id(tmp_path: Path):
    out = fmt(config(tmp_path), "--standalone")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"Formatting dynamic metadata voter directory {tmp_path / 'logs'} with metadata.version 4.0-IV3."
    )
    (voter,) = read_bootstrap_voters(tmp_path / "logs") or []
    assert (voter.node_id, voter.host, voter.port) == (1, "localhost", 8020)
    assert f"directory.id={voter.directory_id}\n" in (tmp_path / "logs" / "meta.properties").read_text()
    assert (
        tmp_path / "logs" / "__cluster_metadata-0" / "00000000000000000000-0000000000.checkpoint"
    ).exists()


def test_initial_controllers_names_the_directory_id(tmp_path: Path):
    out = fmt(config(tmp_path), "--initial-controllers", INITIAL)
    assert out.returncode == 0, out.stderr
    assert "directory.id=K90IZ-0DRNazJ49kCZ1EMQ\n" in (tmp_path / "logs" / "meta.properties").read_text()
    assert [str(v) for v in read_bootstrap_voters(tmp_path / "logs") or []] == INITIAL.split(",")


def test_a_controller_not_in_the_initial_set_gets_a_dynamic_metadata_directory(tmp_path: Path):
    out = fmt(config(tmp_path), "--initial-controllers", INITIAL.replace("1@", "7@"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Formatting dynamic metadata directory ")
    assert read_bootstrap_voters(tmp_path / "logs") is None


def test_no_initial_controllers(tmp_path: Path):
    out = fmt(config(tmp_path), "--no-initial-controllers")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Formatting metadata directory {tmp_path / 'logs'}")
    assert read_bootstrap_voters(tmp_path / "logs") is None


@pytest.mark.parametrize(
    ("roles", "quorum", "args", "message"),
    [
        (
            "controller",
            "bootstrap",
            [],
            "Because controller.quorum.voters is not set on this controller, you must specify one of the "
            "following: --standalone, --initial-controllers, or --no-initial-controllers.",
        ),
        ("broker", "bootstrap", ["--standalone"], "You can only use --standalone on a controller."),
        (
            "controller",
            "static",
            ["--standalone"],
            "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
            "--standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify "
            "controller.quorum.bootstrap.servers instead.",
        ),
        (
            "controller",
            "bootstrap",
            ["-I", "1@localhost:8020"],
            "Error: No colon following port could be found.",
        ),
    ],
)
def test_refusals_with_kafkas_messages(
    tmp_path: Path, roles: str, quorum: str, args: list[str], message: str
):
    out = fmt(config(tmp_path, roles, quorum), *args)
    assert (out.returncode, out.stderr.strip()) == (1, message)
    assert not (tmp_path / "logs" / "meta.properties").exists()


def test_the_three_options_exclude_each_other(tmp_path: Path):
    out = fmt(config(tmp_path), "--no-initial-controllers", "--standalone")
    assert out.returncode != 0
    assert "argument --standalone/-s: not allowed with argument --no-initial-controllers/-N" in out.stderr
    out = fmt(config(tmp_path), "--no-initial-controllers", "--initial-controllers", INITIAL)
    assert (
        "argument --initial-controllers/-I: not allowed with argument --no-initial-controllers/-N"
        in out.stderr
    )


def test_a_broker_formats_without_options(tmp_path: Path):
    out = fmt(config(tmp_path, "broker"))
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1localhost:1:K90IZ-0DRNazJ49kCZ1EMQ", "No @ found in dynamic voter string."),
        ("@localhost:1:K90IZ-0DRNazJ49kCZ1EMQ", "Invalid @ at beginning of dynamic voter string."),
        ("x@localhost:1:K90IZ-0DRNazJ49kCZ1EMQ", "Failed to parse node id in dynamic voter string."),
        ("-1@localhost:1:K90IZ-0DRNazJ49kCZ1EMQ", "Invalid negative node id -1 in dynamic voter string."),
        ("1@", "No hostname found after node id."),
        (
            "1@[::1:1:K90IZ-0DRNazJ49kCZ1EMQ",
            "Hostname began with left bracket, but no right bracket was found.",
        ),
        ("1@localhost", "No colon following hostname could be found."),
        ("1@localhost:99999:K90IZ-0DRNazJ49kCZ1EMQ", "Invalid port 99999 in dynamic voter string."),
        ("1@localhost:1:nope", "Failed to parse directory ID in dynamic voter string."),
        (INITIAL + ",1@h:3:07R5amHmR32VDA6jHkGbTA", "Node id 1 was specified more than once."),
    ],
)
def test_voter_string_errors(text: str, message: str):
    with pytest.raises(VoterParseError) as raised:
        parse_dynamic_voters(text)
    assert str(raised.value) == message


def test_voter_strings_round_trip():
    text = "0@[::1]:9093:JEXY6aqzQY-32P5TStzaFg,1@example.com:8083:MvDxzVmcRsaTz33bUuRU6A"
    assert ",".join(str(v) for v in parse_dynamic_voters(text)) == text
