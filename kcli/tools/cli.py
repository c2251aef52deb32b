"""Option parsing and error handling shared by every drop-in tool.

Kafka's tools parse options with joptsimple: long options only, ``--name value`` or
``--name=value``, unambiguous prefixes accepted; a bad option prints one line naming the problem,
then the usage, to stderr and exits 1. argparse does most of this already (``allow_abbrev`` is on by
default); :class:`ToolParser` only changes *how* errors are reported so that lab scripts see the
same shape of output as with the Java tools. :func:`run` wraps a tool's body so that no Python
traceback ever reaches a student: expected failures are :class:`ToolError` (one line, exit 1),
Ctrl-C is a clean exit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from kcli.cli_errors import ToolError, UsageError
from kcli.versions import CONFLUENT_VERSION, KAFKA_VERSION, kafka_version  # noqa: F401 - re-exported


class ToolParser(argparse.ArgumentParser):
    """argparse with Kafka's error shape: the message line first, then the usage, exit code 1."""

    def __init__(self, prog: str, description: str, **kwargs: object) -> None:
        super().__init__(
            prog=prog,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.add_argument(
            "--version", action="version", version=kafka_version(), help="Display Kafka version."
        )

    def error(self, message: str) -> NoReturn:
        raise UsageError(_java_style(message))

    def fail(self, message: str) -> NoReturn:
        """Report a semantic option error (missing required option, bad combination)."""
        raise UsageError(message)


def _java_style(message: str) -> str:
    """Reword argparse's messages where Kafka users expect joptsimple's wording."""
    if message.startswith("unrecognized arguments: "):
        return f"{message[len('unrecognized arguments: ') :].split()[0]} is not a recognized option"
    if message.startswith("the following arguments are required: "):
        return f'Missing required argument "{message.split(": ", 1)[1].split(",")[0].lstrip("-")}"'
    match = re.fullmatch(r"argument (--[\w.-]+)(?:/--[\w.-]+)*: expected one argument", message)
    if match:
        return f"Option {match.group(1).lstrip('-')} requires an argument"
    match = re.fullmatch(r"argument (--[\w.-]+)(?:/--[\w.-]+)*: invalid (?:int|float) value: '(.*)'", message)
    if match:
        return f"Cannot parse argument '{match.group(2)}' of option {match.group(1).lstrip('-')}"
    if message.startswith("ambiguous option: "):
        return message.replace("ambiguous option: ", "Option ", 1).replace(
            " could match ", " is ambiguous; could match "
        )
    return message


def add_bootstrap(parser: argparse.ArgumentParser, required: bool = True, broker_list: bool = False) -> None:
    """``--bootstrap-server`` (and optionally its deprecated alias ``--broker-list``)."""
    parser.add_argument(
        "--bootstrap-server",
        metavar="server to connect to",
        help=("REQUIRED: " if required else "")
        + "The Kafka server(s) to connect to, HOST1:PORT1,HOST2:PORT2.",
    )
    if broker_list:
        parser.add_argument(
            "--broker-list",
            metavar="broker-list",
            help="DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified.",
        )


def add_explain(parser: argparse.ArgumentParser) -> None:
    """kcli's ``--explain`` (what the cluster did and why, on stderr; kcli/tools/explain.py). Left
    out of ``--help`` so that the help stays Kafka's, byte for byte; the README documents it."""
    parser.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)


def resolve_bootstrap(parser: ToolParser, args: argparse.Namespace, required: bool = True) -> str | None:
    """The bootstrap servers from ``--bootstrap-server``, ``--broker-list`` or ``--zookeeper``."""
    value = getattr(args, "bootstrap_server", None) or getattr(args, "broker_list", None)
    zookeeper = getattr(args, "zookeeper", None)
    if not value and zookeeper:
        value = bootstrap_from_zookeeper(zookeeper)
    if not value and required:
        parser.fail('Missing required argument "bootstrap-server"')
    return value


def bootstrap_from_zookeeper(zookeeper: str, timeout_s: float = 10.0) -> str:
    """Resolve a pre-3.0 ``--zookeeper HOST:PORT`` to the brokers registered there."""
    try:
        from kcli.zookeeper.resolve import ZooKeeperUnavailable, bootstrap_servers
    except ImportError:
        raise ToolError(
            f"--zookeeper {zookeeper}: ZooKeeper support is not available in this kcli install; "
            "use --bootstrap-server HOST:9092 instead"
        ) from None
    try:
        return bootstrap_servers(zookeeper, timeout_s)
    except ZooKeeperUnavailable as exc:
        raise ToolError(str(exc)) from None


def run(
    body: Callable[[list[str]], int], argv: Sequence[str] | None, parser_factory: Callable[[], ToolParser]
) -> int:
    """Run a tool body with Kafka-style error reporting; returns the exit code.

    ``parser_factory`` is only used to print the usage after a :class:`UsageError`.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return body(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        parser_factory().print_help(sys.stderr)
        return exc.exit_code
    except ToolError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except SystemExit as exc:  # argparse --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:  # last resort: one line, never a traceback
        if os.environ.get("KCLI_DEBUG"):
            raise
        print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def terminate_like_ctrl_c() -> None:
    """Make SIGTERM end a long-running tool the way Ctrl-C does (Kafka runs its shutdown hook)."""
    import signal

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests calling main() from a worker)
        pass


def _silence_stdout() -> None:
    """After EPIPE (``| head``), point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer: {text}")
    return value
