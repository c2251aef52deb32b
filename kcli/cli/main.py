"""The ``kcli`` command: ``env``, ``local``, ``tui`` and ``completion``.

Only typer is imported at start-up; each command imports what it needs when it runs, so
``kcli --help`` and shell completion stay fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="kcli",
    help="Apache Kafka / Confluent Platform on one laptop: a local broker, the Kafka tools, a TUI.",
    no_args_is_help=True,
    add_completion=False,
)
local_app = typer.Typer(
    help="Run the whole stack in the background (like confluent local services).", no_args_is_help=True
)
app.add_typer(local_app, name="local")
log_app = typer.Typer(
    help="See a partition's log: its offsets drawn, a record's bytes X-rayed.", no_args_is_help=True
)
app.add_typer(log_app, name="log")
lab_app = typer.Typer(help="Check a lab exercise against the cluster.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


def _print_version(value: bool) -> None:
    if value:
        from kcli import __version__

        typer.echo(f"kcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print kcli's own version (the Kafka tools' --version prints the Kafka version they match).",
        ),
    ] = False,
) -> None:
    """Apache Kafka / Confluent Platform on one laptop: a local broker, the Kafka tools, a TUI."""


SHELLS = ("bash", "zsh", "fish")


@app.command()
def env(
    shell: Annotated[str | None, typer.Option(help="bash, zsh, fish or sh (default: from $SHELL).")] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Where to lay out CONFLUENT_HOME (default ~/.kcli/confluent, or $KCLI_CONFLUENT_HOME)."
        ),
    ] = None,
) -> None:
    """Print the shell lines setting CONFLUENT_HOME and PATH, laying out that directory first."""
    from kcli import home as home_mod

    shell = shell or home_mod.detect_shell()
    if shell not in (*SHELLS, "sh"):
        typer.echo(f"Unknown shell '{shell}': use bash, zsh, fish or sh", err=True)
        raise typer.Exit(1)
    target = home_mod.layout(home or home_mod.default_home())
    lines = home_mod.env_lines(target, shell)
    if home is not None:
        lines[-1] = lines[-1].replace("kcli env", f"kcli env --home {target}")
    typer.echo("\n".join(lines))


@local_app.command("start")
def local_start(
    brokers: Annotated[
        int,
        typer.Option(help="Number of brokers: more than 1 starts a KRaft cluster with a controller node."),
    ] = 1,
    port: Annotated[
        int,
        typer.Option(
            help="The (first) broker's port; further brokers take the next ones, the controller the one after."
        ),
    ] = 9092,
    schema_registry: Annotated[
        bool, typer.Option("--schema-registry", help="Also start the schema registry.")
    ] = False,
    registry_port: Annotated[int, typer.Option(help="The schema registry's port.")] = 8081,
    broker: Annotated[
        int | None,
        typer.Option("--broker", help="Start only this broker (its node.id) of the running stack again."),
    ] = None,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="A SASL_SSL security lab: generated certificates, users admin/alice/bob, ACLs, client properties files.",
        ),
    ] = False,
    controllers: Annotated[
        int,
        typer.Option(
            help="Number of KRaft controllers: 3 (or 5) makes a Raft quorum, node ids 100, 101, ... on the ports after "
            "the brokers'; --broker 101 then stops or starts one of them."
        ),
    ] = 1,
    racks: Annotated[
        str | None,
        typer.Option(
            help="Racks for the brokers, round robin (e.g. a,b,c): sets broker.rack and the rack-aware "
            "replica selector, so consumers with client.rack read from a replica in their rack."
        ),
    ] = None,
) -> None:
    """Start a KRaft broker, or a cluster with --brokers N (and the schema registry), in the background."""
    from kcli import local

    if broker is not None:
        _run(lambda: local.start_broker(broker))
        return
    _run(lambda: local.start(brokers, port, schema_registry, registry_port, secure, controllers, racks))


@local_app.command("status")
def local_status() -> None:
    """Show what runs, on which port, with which pid."""
    from kcli import local

    _run(local.status)


BROKER_OPTION = typer.Option(
    "--broker", "--node", help="Only this node (its node.id: a broker, or a quorum's controller)."
)


@local_app.command("stop")
def local_stop(broker: Annotated[int | None, BROKER_OPTION] = None) -> None:
    """Stop what kcli local start started (SIGTERM, then wait), or one broker with --broker N."""
    from kcli import local

    _run(local.stop if broker is None else lambda: local.stop_broker(broker))


@local_app.command("restart")
def local_restart(broker: Annotated[int | None, BROKER_OPTION] = None) -> None:
    """Stop and start the stack (same ports, configs and data), or one broker with --broker N."""
    from kcli import local

    _run(lambda: local.restart(broker))


@local_app.command("destroy")
def local_destroy() -> None:
    """Stop everything and delete the local stack's data and logs."""
    from kcli import local

    _run(local.destroy)


@local_app.command("kill-broker")
def local_kill_broker(node_id: Annotated[int, typer.Argument(help="The broker's node.id.")]) -> None:
    """kill -9 broker N, as the replication lab does (kcli local start --broker N brings it back)."""
    from kcli import local

    _run(lambda: local.kill_broker(node_id))


@local_app.command("snapshot")
def local_snapshot(name: Annotated[str, typer.Argument(help="A name for the snapshot.")]) -> None:
    """Save topics, records, offsets, groups and schemas of the local stack under NAME."""
    from kcli import local

    _run(lambda: local.snapshot(name))


@local_app.command("restore")
def local_restore(name: Annotated[str, typer.Argument(help="The snapshot to return to.")]) -> None:
    """Return the local stack to snapshot NAME (its data, configs and services)."""
    from kcli import local

    _run(lambda: local.restore(name))


@local_app.command("reset")
def local_reset() -> None:
    """Empty the local stack (every topic, record, offset, group, schema) and start it again."""
    from kcli import local

    _run(local.reset)


def _run(action) -> None:  # type: ignore[no-untyped-def]
    from kcli.local import LocalError

    try:
        lines = action()
    except LocalError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)


@app.command()
def tui(
    bootstrap_server: Annotated[
        str, typer.Option("--bootstrap-server", help="The cluster to browse.")
    ] = "localhost:9092",
    command_config: Annotated[
        str | None, typer.Option("--command-config", help="Client properties file.")
    ] = None,
    schema_registry_url: Annotated[
        str | None,
        typer.Option(
            "--schema-registry-url",
            help="Registry for Avro records (default: the command config's, or kcli local's).",
        ),
    ] = None,
) -> None:
    """Browse topics, messages and consumer groups in the terminal."""
    try:
        from kcli.tui.app import run
    except ImportError as exc:
        typer.echo(f"kcli tui is not available in this install ({exc})", err=True)
        raise typer.Exit(1) from None
    if schema_registry_url:
        raise typer.Exit(run(bootstrap_server, command_config, schema_registry_url))
    raise typer.Exit(run(bootstrap_server, command_config))


BOOTSTRAP_OPTION = typer.Option("--bootstrap-server", help="The cluster to read.")
CONFIG_OPTION = typer.Option("--command-config", help="Client properties file.")


@log_app.command("draw")
def log_draw(
    target: Annotated[str, typer.Argument(help="TOPIC (every partition) or TOPIC-PARTITION.")],
    bootstrap_server: Annotated[str, BOOTSTRAP_OPTION] = "localhost:9092",
    command_config: Annotated[str | None, CONFIG_OPTION] = None,
    first: Annotated[
        int | None, typer.Option("--from", help="First offset drawn (default: the newest records).")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", help="Offsets drawn per partition.")] = None,
    keys: Annotated[bool, typer.Option("--keys", help="Show each record's key under its cell.")] = False,
    width: Annotated[int | None, typer.Option("--width", help="Columns (default: the terminal's).")] = None,
    groups: Annotated[
        bool, typer.Option("--groups/--no-groups", help="Mark every group's committed offset.")
    ] = True,
) -> None:
    """Draw a partition as a strip of offset cells: segments, batches, log start, high watermark,
    last stable offset, each replica's log end, each group's committed offset and lag."""
    from kcli.logview.cli import draw_command, run

    raise typer.Exit(
        run(lambda: draw_command(target, bootstrap_server, command_config, first, count, keys, width, groups))
    )


@log_app.command("xray")
def log_xray(
    target: Annotated[str, typer.Argument(help="TOPIC-PARTITION.")],
    offset: Annotated[int, typer.Argument(help="The record's offset.")],
    bootstrap_server: Annotated[str, BOOTSTRAP_OPTION] = "localhost:9092",
    command_config: Annotated[str | None, CONFIG_OPTION] = None,
    schema_registry_url: Annotated[
        str | None, typer.Option("--schema-registry-url", help="Registry for Confluent-framed records.")
    ] = None,
    width: Annotated[int | None, typer.Option("--width", help="Columns (default: the terminal's).")] = None,
) -> None:
    """Show a record's bytes field by field: batch header, record varints, Confluent framing and the
    schema that decodes it."""
    from kcli.logview.cli import run, xray_command

    raise typer.Exit(
        run(
            lambda: xray_command(target, offset, bootstrap_server, command_config, schema_registry_url, width)
        )
    )


@lab_app.command("check")
def lab_check(
    file: Annotated[str, typer.Argument(help="An expectations file (.toml), or a shipped exercise's name.")],
    bootstrap_server: Annotated[
        str | None, typer.Option("--bootstrap-server", help="Overrides the file's bootstrap server.")
    ] = None,
    command_config: Annotated[str | None, CONFIG_OPTION] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Check a lab's expectations against the cluster: pass/fail with a hint per failure.
    Exit status 0: all passed; 1: some failed; 2: the file or the cluster could not be read."""
    from kcli.lab.runner import run_check

    raise typer.Exit(run_check(file, bootstrap_server, command_config, json_output))


@lab_app.command("list")
def lab_list() -> None:
    """The exercises shipped with kcli (kcli lab check NAME runs one)."""
    from kcli.lab.runner import list_exercises

    raise typer.Exit(list_exercises())


@app.command()
def completion(shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")] = "bash") -> None:
    """Print the completion script for kcli and the Kafka tools (see completions/ for install lines)."""
    if shell not in SHELLS:
        typer.echo(f"Unknown shell '{shell}': use bash, zsh or fish", err=True)
        raise typer.Exit(1)
    typer.echo(render_completion(shell), nl=False)


# --- shell completion -------------------------------------------------------------------------
KCLI_WORDS = {
    "": ["env", "local", "log", "lab", "tui", "completion", "--version", "--help"],
    "env": ["--shell", "--home", "--help"],
    "local": [
        "start",
        "status",
        "stop",
        "restart",
        "destroy",
        "kill-broker",
        "snapshot",
        "restore",
        "reset",
        "--help",
    ],
    "log": ["draw", "xray", "--help"],
    "lab": ["check", "list", "--help"],
    "tui": ["--bootstrap-server", "--command-config", "--schema-registry-url", "--help"],
    "completion": list(SHELLS),
}
# Tools that parse their own arguments without argparse: their options, written out.
STATIC_OPTIONS = {
    "kafka-server-start": ["-daemon", "--override"],
    "kafka-server-stop": [],
    "zookeeper-server-start": ["-daemon"],
    "zookeeper-server-stop": [],
    "zookeeper-shell": ["ls", "get", "help", "quit"],
    "schema-registry-start": ["-daemon"],
    "schema-registry-stop": [],
}


def tool_options() -> dict[str, list[str]]:
    """Each drop-in command's options, from its ``build_parser()`` when it has one."""
    import importlib

    from kcli.commands import COMMANDS

    result: dict[str, list[str]] = {}
    for name, module_name in COMMANDS.items():
        options: list[str] = list(STATIC_OPTIONS.get(name, []))
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        build = getattr(module, "build_parser", None)
        if callable(build):
            options = _parser_words(build())
        result[name] = options
    return result


def _parser_words(parser: argparse.ArgumentParser) -> list[str]:
    """A parser's long options; for a parser with sub-commands (kafka-storage), the
    sub-commands first, then every sub-command's long options."""
    words: set[str] = set()
    commands: list[str] = []
    for action in parser._actions:
        words.update(opt for opt in action.option_strings if opt.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.append(name)
                words.update(_parser_words(sub))
    return commands + sorted(words - set(commands))


def render_completion(shell: str, tools: dict[str, list[str]] | None = None) -> str:
    """The completion script for ``shell`` covering kcli and every tool name (with and without .sh)."""
    tools = tool_options() if tools is None else tools
    if shell == "fish":
        return _render_fish(tools)
    bash = _render_bash(tools)
    if shell == "zsh":
        return (
            "#compdef kcli\n# kcli completion for zsh (bash completion through bashcompinit).\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + bash
        )
    return bash


def _render_bash(tools: dict[str, list[str]]) -> str:
    lines = [
        "# kcli completion for bash: kcli and the Kafka tools. Generated by completions/generate.py.",
        "_kcli_complete() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" sub="${COMP_WORDS[1]}" words',
        "    if [ \"$COMP_CWORD\" -eq 1 ]; then sub=''; fi",
        '    case "$sub" in',
    ]
    for key, words in KCLI_WORDS.items():
        pattern = key or "''"
        lines.append(f'        {pattern}) words="{" ".join(words)}" ;;')
    lines += [
        '        *) words="" ;;',
        "    esac",
        '    if [ "$sub" = local ] && [ "$COMP_CWORD" -gt 2 ]; then',
        '        words="--brokers --broker --port --schema-registry --registry-port --help"',
        "    fi",
        '    if [ "$sub" = log ] && [ "$COMP_CWORD" -gt 2 ]; then',
        '        words="--bootstrap-server --command-config --from --count --keys --width --groups --no-groups '
        '--schema-registry-url --help"',
        "    fi",
        '    if [ "$sub" = lab ] && [ "$COMP_CWORD" -gt 2 ]; then',
        '        words="--bootstrap-server --command-config --json --help"',
        "    fi",
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        "complete -o default -F _kcli_complete kcli",
        "",
        "_kcli_tool_complete() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" tool="${COMP_WORDS[0]##*/}" words=""',
        '    case "${tool%.sh}" in',
    ]
    for name, options in tools.items():
        lines.append(f'        {name}) words="{" ".join(options)}" ;;')
    lines += [
        "    esac",
        "    # options anywhere; sub-commands (kafka-storage verify) as the first word; otherwise",
        "    # -o default completes file names (kafka-server-start server.properties)",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        '    elif [[ $COMP_CWORD -eq 1 || "${tool%.sh}" == zookeeper-shell ]]; then',
        '        local w subs=""',
        '        for w in $words; do [[ "$w" == -* ]] || subs+=" $w"; done',
        '        [[ -n "$subs" ]] && COMPREPLY=($(compgen -W "$subs" -- "$cur"))',
        "    fi",
        "}",
        "complete -o default -F _kcli_tool_complete " + " ".join(f"{n} {n}.sh" for n in tools),
        "",
    ]
    return "\n".join(lines)


def _render_fish(tools: dict[str, list[str]]) -> str:
    lines = ["# kcli completion for fish: kcli and the Kafka tools. Generated by completions/generate.py."]
    lines.append("complete -c kcli -f -n __fish_use_subcommand -a '" + " ".join(KCLI_WORDS[""][:-1]) + "'")
    for key, words in KCLI_WORDS.items():
        if not key:
            continue
        for word in words:
            if word.startswith("--"):
                lines.append(f"complete -c kcli -n '__fish_seen_subcommand_from {key}' -l {word[2:]}")
            else:
                lines.append(f"complete -c kcli -f -n '__fish_seen_subcommand_from {key}' -a {word}")
    for name, options in tools.items():
        for command in (name, f"{name}.sh"):
            for option in options:
                if option.startswith("--"):
                    lines.append(f"complete -c {command} -l {option[2:]}")
                elif option.startswith("-"):
                    lines.append(f"complete -c {command} -o {option[1:]}")
                else:
                    lines.append(f"complete -c {command} -f -a {option}")
    return "\n".join(lines) + "\n"


def main() -> None:  # pragma: no cover - console entry for python -m
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
