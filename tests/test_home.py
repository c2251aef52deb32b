"""``kcli env``: the Confluent-style home it lays out and the shell lines it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kcli import home
from kcli.cli.main import app
from kcli.commands import COMMANDS
from kcli.properties import load_properties


def test_layout_has_every_tool_under_both_names(tmp_path: Path) -> None:
    target = home.layout(tmp_path / "cp")
    for name in COMMANDS:
        for filename in (name, f"{name}.sh"):
            script = target / "bin" / filename
            assert os.access(script, os.X_OK), script
            assert COMMANDS[name] in script.read_text()
            assert sys.executable in script.read_text()


def test_bin_script_runs_the_tool(tmp_path: Path) -> None:
    target = home.layout(tmp_path / "cp")
    result = subprocess.run(
        [str(target / "bin" / "kafka-storage.sh"), "random-uuid"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 22


def test_confluent_properties(tmp_path: Path) -> None:
    target = home.layout(tmp_path / "cp")
    server = load_properties(target / "etc/kafka/server.properties")
    assert server["broker.id"] == "0"
    assert server["log.dirs"] == "/tmp/kafka-logs"
    assert server["zookeeper.connect"] == "localhost:2181"
    assert server["offsets.topic.replication.factor"] == "1"
    assert server["group.initial.rebalance.delay.ms"] == "0"
    assert "listeners" not in server  # commented out, as shipped
    zookeeper = load_properties(target / "etc/kafka/zookeeper.properties")
    assert (zookeeper["clientPort"], zookeeper["dataDir"]) == ("2181", "/tmp/zookeeper")
    kraft = load_properties(target / "etc/kafka/kraft/server.properties")
    assert kraft["process.roles"] == "broker,controller"
    assert kraft["controller.quorum.voters"] == "1@localhost:9093"
    registry = load_properties(target / "etc/schema-registry/schema-registry.properties")
    assert registry["listeners"] == "http://0.0.0.0:8081"
    assert registry["kafkastore.bootstrap.servers"] == "PLAINTEXT://localhost:9092"
    assert registry["kafkastore.topic"] == "_schemas"


def test_apache_config_is_kraft(tmp_path: Path) -> None:
    target = home.layout(tmp_path / "cp")
    server = load_properties(target / "config/server.properties")
    assert server["process.roles"] == "broker,controller"
    assert server["node.id"] == "1"
    assert server["controller.quorum.bootstrap.servers"] == "localhost:9093"
    assert server["listeners"] == "PLAINTEXT://:9092,CONTROLLER://:9093"
    assert server["log.dirs"] == "/tmp/kraft-combined-logs"
    from kcli.server.base.config import BrokerConfig

    config = BrokerConfig.load(target / "config/server.properties")
    assert config.kraft and [ls.port for ls in config.client_listeners] == [9092]


def test_edited_properties_are_kept(tmp_path: Path) -> None:
    target = home.layout(tmp_path / "cp")
    edited = target / "etc/kafka/server.properties"
    edited.write_text("broker.id=7\n")
    (target / "bin" / "kafka-topics").write_text("old python\n")
    home.layout(target)
    assert edited.read_text() == "broker.id=7\n"
    assert "kcli.tools.topics" in (target / "bin" / "kafka-topics").read_text()


def test_env_bash_and_fish(tmp_path: Path) -> None:
    env = {"KCLI_HOME": str(tmp_path / "kh"), "KCLI_CONFLUENT_HOME": "", "SHELL": "/bin/bash"}
    runner = CliRunner()
    bash = runner.invoke(app, ["env", "--shell", "bash"], env=env)
    assert bash.exit_code == 0, bash.output
    default = (tmp_path / "kh" / "confluent").resolve()
    assert bash.output.splitlines() == [
        f"export CONFLUENT_HOME={default}",
        'export PATH="$CONFLUENT_HOME/bin:$PATH"',
        '# To set this in every new shell, add to ~/.bashrc:  eval "$(kcli env)"',
    ]
    assert (default / "bin" / "kafka-topics.sh").exists()
    fish = runner.invoke(app, ["env", "--shell", "fish", "--home", str(tmp_path / "other")], env=env)
    assert fish.output.splitlines()[:2] == [
        f"set -gx CONFLUENT_HOME {(tmp_path / 'other').resolve()}",
        "set -gx PATH $CONFLUENT_HOME/bin $PATH",
    ]
    assert "config.fish" in fish.output and "| source" in fish.output
    assert runner.invoke(app, ["env", "--shell", "tcsh"], env=env).exit_code == 1


def test_env_honours_kcli_confluent_home(tmp_path: Path) -> None:
    env = {"KCLI_HOME": str(tmp_path / "kh"), "KCLI_CONFLUENT_HOME": str(tmp_path / "cp")}
    result = CliRunner().invoke(app, ["env", "--shell", "zsh"], env=env)
    assert result.output.splitlines()[0] == f"export CONFLUENT_HOME={(tmp_path / 'cp').resolve()}"
    assert "~/.zshrc" in result.output


def test_eval_puts_tools_on_path(tmp_path: Path) -> None:
    env = dict(os.environ, KCLI_HOME=str(tmp_path / "kh"), KCLI_CONFLUENT_HOME=str(tmp_path / "cp"))
    probe = f'eval "$({sys.executable} -m kcli.cli.main env --shell bash)"; command -v kafka-topics.sh'
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == str((tmp_path / "cp" / "bin" / "kafka-topics.sh").resolve())
