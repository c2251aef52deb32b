"""Bad input to ``confluent``: cobra's error texts and suggestions, exit status 1, never a
traceback; help pages in cobra's layout. (In-process: these fail before any connection.)"""

from __future__ import annotations

import pytest

from kcli.confluent.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_flag_names_it_and_suggests_the_close_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "local", "kafka", "topic", "create", "t", "--x") == (
        1,
        "",
        "Error: unknown flag: --x\n",
    )
    code, _, err = run(capsys, "kafka", "topic", "create", "t", "--partiton", "3")
    assert code == 1
    assert err == 'Error: unknown flag: --partiton\n\nSuggestions:\n    Did you mean "--partitions"?\n'
    assert run(capsys, "kafka", "topic", "list", "-z")[2] == "Error: unknown shorthand flag: 'z' in -z\n"


def test_unknown_command_has_cobras_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "local", "servics", "start")
    assert code == 1
    assert err == (
        'Error: unknown command "servics" for "confluent local"\n\n'
        "Did you mean this?\n\tservices\n\nRun 'confluent local --help' for usage.\n"
    )


def test_argument_and_flag_value_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "kafka", "topic", "create")[2] == "Error: accepts 1 arg(s), received 0\n"
    assert run(capsys, "kafka", "topic", "create", "a", "b")[2] == "Error: accepts 1 arg(s), received 2\n"
    assert (
        run(capsys, "kafka", "topic", "list", "extra")[2]
        == 'Error: unknown command "extra" for "confluent kafka topic list"\n'
    )
    assert (
        run(capsys, "kafka", "topic", "create", "t", "--partitions")[2]
        == "Error: flag needs an argument: --partitions\n"
    )
    code, _, err = run(capsys, "kafka", "topic", "create", "t", "--partitions", "six")
    assert code == 1 and err.startswith(
        'Error: invalid argument "six" for "--partitions" flag: strconv.ParseUint: parsing "six"'
    )
    assert (
        run(capsys, "schema-registry", "schema", "create")[2]
        == 'Error: required flag(s) "schema", "subject" not set\n'
    )
    code, _, err = run(capsys, "kafka", "topic", "list", "-o", "xml", "--bootstrap", "localhost:1")
    assert code == 1 and err.startswith('Error: invalid value "xml" for flag `--output`')


def test_cloud_commands_answer_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["login"], ["login", "--save", "--url", "https://x"], ["environment", "list"], ["logout"]):
        code, out, err = run(capsys, *args)
        assert code == 1 and out == ""
        assert (
            err.splitlines()[0]
            == f"Error: `confluent {args[0]}` is a Confluent Cloud command, which kcli does not provide"
        )


def test_not_bundled_services_are_named(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KCLI_HOME", str(tmp_path))
    for service, name in (("ksql-server", "ksqlDB Server"), ("control-center", "Control Center")):
        code, _, err = run(capsys, "local", "services", service, "start")
        assert code == 1 and err.startswith(f"Error: {name} is not bundled with kcli\n")


def test_unreachable_cluster_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:
    from tests.broker_process import free_port

    monkeypatch.setenv("KCLI_HOME", str(tmp_path))
    code, _, err = run(capsys, "kafka", "topic", "list", "--bootstrap", f"127.0.0.1:{free_port()}")
    assert code == 1 and err.startswith("Error: Could not connect to any Kafka broker at 127.0.0.1:")
    assert "Traceback" not in err


def test_help_follows_cobras_layout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "local", "services", "kafka", "start", "--help")
    assert code == 0
    assert out == (
        "Start Kafka.\n\nUsage:\n  confluent local services kafka start [flags]\n\n"
        "Flags:\n  -c, --config string   Configure Kafka with a specific properties file.\n\n"
        "Global Flags:\n  -h, --help   Show help for this command.\n"
    )
    code, out, _ = run(capsys, "local")
    assert code == 0 and "Available Commands:\n" in out and "  services " in out
    assert out.rstrip().endswith(
        'Use "confluent local [command] --help" for more information about a command.'
    )
