"""A cobra-like command tree on click.

The Confluent CLI is a Go program built on cobra and pflag. click has the same parsing model as
pflag (GNU-style long flags anywhere after the command path, ``--flag=value``, ``-f value``,
bundled short flags, ``--`` to stop), and reports problems as typed exceptions
(``NoSuchOption`` with its close matches, ``BadOptionUsage``) rather than preformatted text, so
each maps one-to-one onto cobra's wording: ``unknown flag: --x``, ``unknown shorthand flag: 'x'
in -x``, ``flag needs an argument: --partitions``, ``unknown command "x" for "confluent local"``
with cobra's "Did you mean this?" list, ``accepts 1 arg(s), received 0``, ``required flag(s)
"subject" not set``. typer was not used: its help is rich-styled boxes, nothing like cobra's, and
argparse reports errors as finished sentences that would have to be parsed back.

Help pages follow cobra's template (description, ``Usage:``, ``Available Commands:``,
``Flags:``, ``Global Flags:``). Every error is printed by :mod:`errors` with exit status 1.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from kcli.confluent.errors import CLIError

HELP_NAMES = ["-h", "--help"]


@dataclass(frozen=True)
class Flag:
    """A flag as pflag declares it: long name, optional shorthand, kind, default, usage."""

    name: str
    usage: str
    kind: str = "string"  # string | bool | int | uint | stringSlice | count
    short: str | None = None
    default: Any = None
    required: bool = False
    hidden: bool = False

    def option(self) -> click.Option:
        decls = [f"--{self.name}"] + ([f"-{self.short}"] if self.short else [])
        dest = self.name.replace("-", "_")
        if self.kind == "bool":
            return click.Option(
                [*decls, dest], is_flag=True, default=bool(self.default), help=self.usage, hidden=self.hidden
            )
        if self.kind == "count":
            return click.Option([*decls, dest], count=True, default=0, help=self.usage, hidden=self.hidden)
        if self.kind == "stringSlice":
            return click.Option([*decls, dest], multiple=True, help=self.usage, hidden=self.hidden)
        if self.kind in ("int", "uint", "int32", "uint32"):
            return click.Option(
                [*decls, dest],
                type=_Number(self.name, self.kind),
                default=self.default,
                help=self.usage,
                hidden=self.hidden,
            )
        return click.Option([*decls, dest], default=self.default, help=self.usage, hidden=self.hidden)

    def type_name(self) -> str:
        return {"bool": "", "count": "count", "stringSlice": "strings"}.get(self.kind, self.kind)


class _Number(click.ParamType):
    name = "int"

    def __init__(self, flag: str, kind: str):
        self.flag = flag
        self.kind = kind

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            number = int(str(value), 10)
        except ValueError:
            raise CLIError(
                f'invalid argument "{value}" for "--{self.flag}" flag: strconv.Parse{"Uint" if self.kind.startswith("u") else "Int"}: parsing "{value}": invalid syntax'
            ) from None
        if self.kind.startswith("u") and number < 0:
            raise CLIError(
                f'invalid argument "{value}" for "--{self.flag}" flag: strconv.ParseUint: parsing "{value}": invalid syntax'
            )
        return number


def _split_slices(flags: Sequence[Flag], values: dict[str, Any]) -> dict[str, Any]:
    """pflag string slices: repeatable, and each value is itself comma-separated."""
    for flag in flags:
        if flag.kind == "stringSlice":
            key = flag.name.replace("-", "_")
            raw = values.get(key) or ()
            values[key] = [part for item in raw for part in str(item).split(",") if part != ""] or list(
                flag.default or []
            )
    return values


@dataclass
class Args:
    """cobra's positional-argument rules: exactly / at most / at least N, or none."""

    low: int = 0
    high: int | None = 0
    usage: str = ""

    def check(self, command_path: str, args: list[str]) -> None:
        n = len(args)
        if self.high == 0 and n:
            raise CLIError(f'unknown command "{args[0]}" for "{command_path}"')
        if self.low == self.high and n != self.low:
            raise CLIError(f"accepts {self.low} arg(s), received {n}")
        if n < self.low:
            raise CLIError(f"requires at least {self.low} arg(s), only received {n}")
        if self.high is not None and n > self.high:
            raise CLIError(f"accepts at most {self.high} arg(s), received {n}")


def _flag_lines(flags: Sequence[Flag]) -> list[str]:
    shown = [f for f in flags if not f.hidden]
    parts = []
    for f in shown:
        left = (f"-{f.short}, " if f.short else "    ") + f"--{f.name}"
        kind = f.type_name()
        if kind:
            left += f" {kind}"
        usage = f.usage
        if f.default not in (None, False, 0, "", []) and f.kind not in ("bool", "count"):
            shown_default = f'"{f.default}"' if f.kind == "string" else f.default
            if f.kind == "stringSlice":
                shown_default = "[" + ",".join(f.default) + "]"
            usage += f" (default {shown_default})"
        parts.append((left, usage))
    width = max((len(left) for left, _ in parts), default=0)
    return [f"  {left:<{width}}   {usage}" for left, usage in parts]


GLOBAL_FLAGS = [Flag("help", "Show help for this command.", "bool", short="h")]


class CobraCommand(click.Command):
    """A leaf command: runs ``run(**flags, args=[...])``."""

    def __init__(
        self,
        name: str,
        short: str,
        run: Callable[..., Any],
        flags: Sequence[Flag] = (),
        args: Args | None = None,
        long: str = "",
        aliases: Sequence[str] = (),
        example: str = "",
    ):
        self.flags = list(flags)
        self.args_rule = args or Args()
        self.short = short
        self.long = long
        self.aliases = list(aliases)
        self.example = example
        self.runner = run
        params: list[click.Parameter] = [f.option() for f in self.flags]
        params.append(click.Argument(["args"], nargs=-1, required=False))
        super().__init__(
            name,
            params=params,
            callback=self._invoke,
            help=short,
            add_help_option=False,
            context_settings={"ignore_unknown_options": False, "allow_interspersed_args": True},
        )
        self.params.insert(
            0,
            click.Option(
                ["-h", "--help"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=self._help_callback,
                help="Show help for this command.",
            ),
        )

    def _help_callback(self, ctx: click.Context, _param: Any, value: bool) -> None:
        if value:
            click.echo(self.cobra_help(ctx), nl=False)
            ctx.exit(0)

    def _invoke(self, **values: Any) -> Any:
        ctx = click.get_current_context()
        args = list(values.pop("args", ()))
        self.args_rule.check(ctx.command_path, args)
        values = _split_slices(self.flags, values)
        missing = [
            f.name
            for f in self.flags
            if f.required and values.get(f.name.replace("-", "_")) in (None, "", [])
        ]
        if missing:
            raise CLIError("required flag(s) " + ", ".join(f'"{m}"' for m in missing) + " not set")
        values["args"] = args
        values["changed"] = {
            p.name
            for p in ctx.command.params
            if ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE
        }  # type: ignore[union-attr]
        return self.runner(**values)

    def usage_line(self, ctx: click.Context) -> str:
        usage = self.args_rule.usage
        return f"{ctx.command_path}{(' ' + usage) if usage else ''} [flags]"

    def cobra_help(self, ctx: click.Context) -> str:
        lines = [(self.long or self.short), "", "Usage:", f"  {self.usage_line(ctx)}"]
        if self.aliases:
            lines += ["", "Aliases:", "  " + ", ".join([self.name or "", *self.aliases])]
        if self.example:
            lines += ["", "Examples:", self.example.rstrip()]
        if [f for f in self.flags if not f.hidden]:
            lines += ["", "Flags:", *_flag_lines(self.flags)]
        lines += ["", "Global Flags:", *_flag_lines(GLOBAL_FLAGS)]
        return "\n".join(lines) + "\n"


class CobraGroup(click.Group):
    """A command with subcommands; on its own it prints its help, as cobra does."""

    def __init__(self, name: str, short: str, long: str = "", aliases: Sequence[str] = ()):
        super().__init__(
            name,
            help=short,
            add_help_option=False,
            invoke_without_command=True,
            context_settings={"allow_interspersed_args": False},
        )
        self.short = short
        self.long = long
        self.aliases = list(aliases)
        self.params.insert(
            0,
            click.Option(
                ["-h", "--help"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=self._help_callback,
                help="Show help for this command.",
            ),
        )
        self.callback = self._default

    def _help_callback(self, ctx: click.Context, _param: Any, value: bool) -> None:
        if value:
            click.echo(self.cobra_help(ctx), nl=False)
            ctx.exit(0)

    def _default(self) -> None:
        ctx = click.get_current_context()
        if ctx.invoked_subcommand is None:
            click.echo(self.cobra_help(ctx), nl=False)

    def add(self, command: click.Command) -> click.Command:
        self.add_command(command)
        for alias in getattr(command, "aliases", []):
            self.commands.setdefault(alias, command)
        return command

    def visible(self) -> dict[str, click.Command]:
        return {name: c for name, c in sorted(self.commands.items()) if name == c.name and not c.hidden}

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        if name.startswith("-"):
            raise CLIError(
                f"unknown flag: {name}"
                if name.startswith("--")
                else f"unknown shorthand flag: '{name[1:2]}' in {name}"
            )
        command = self.commands.get(name)
        if command is None:
            raise CLIError(self._unknown(ctx, name))
        return name, command, args[1:]

    def _unknown(self, ctx: click.Context, name: str) -> str:
        """cobra's text, with its suggestions: prefix matches and Levenshtein distance <= 2."""
        names = list(self.visible())
        close = [n for n in names if _levenshtein(name.lower(), n.lower()) <= 2 or n.startswith(name)]
        text = f'unknown command "{name}" for "{ctx.command_path}"'
        if close:
            text += "\n\nDid you mean this?\n" + "".join(f"\t{n}\n" for n in close)
        return text + f"\nRun '{ctx.command_path} --help' for usage."

    def cobra_help(self, ctx: click.Context) -> str:
        commands = self.visible()
        width = max((len(n) for n in commands), default=0)
        lines = [(self.long or self.short), "", "Usage:", f"  {ctx.command_path} [command]"]
        if self.aliases:
            lines += ["", "Aliases:", "  " + ", ".join([self.name or "", *self.aliases])]
        lines += ["", "Available Commands:"]
        lines += [
            f"  {name:<{max(width, 11)}} {getattr(c, 'short', c.help or '')}" for name, c in commands.items()
        ]
        lines += [
            "",
            "Global Flags:",
            *_flag_lines(GLOBAL_FLAGS),
            "",
            f'Use "{ctx.command_path} [command] --help" for more information about a command.',
        ]
        return "\n".join(lines) + "\n"


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def command(
    parent: CobraGroup,
    name: str,
    short: str,
    run: Callable[..., Any],
    flags: Sequence[Flag] = (),
    args: Args | None = None,
    **kwargs: Any,
) -> CobraCommand:
    return parent.add(CobraCommand(name, short, run, flags, args, **kwargs))  # type: ignore[return-value]


def group(parent: CobraGroup | None, name: str, short: str, **kwargs: Any) -> CobraGroup:
    new = CobraGroup(name, short, **kwargs)
    if parent is not None:
        parent.add(new)
    return new


def _flag_suggestion(exc: click.exceptions.NoSuchOption) -> str:
    close = difflib.get_close_matches(exc.option_name, list(exc.possibilities or []), n=1)
    return f'Did you mean "{close[0]}"?' if close else ""


def run(root: CobraGroup, argv: Sequence[str] | None = None) -> int:
    """Parse and run; every problem is one ``Error: ...`` (and suggestions) with exit status 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        root.main(args, prog_name="confluent", standalone_mode=False)
        return 0
    except CLIError as exc:
        exc.print()
        return exc.exit_code
    except click.exceptions.NoSuchOption as exc:
        name = exc.option_name
        message = (
            f"unknown flag: {name}"
            if name.startswith("--")
            else f"unknown shorthand flag: '{name[1:2]}' in {name}"
        )
        CLIError(message, _flag_suggestion(exc)).print()
        return 1
    except click.exceptions.BadOptionUsage as exc:
        CLIError(f"flag needs an argument: {exc.option_name}").print()
        return 1
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        return 1
    except click.exceptions.ClickException as exc:
        CLIError(exc.format_message()).print()
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
