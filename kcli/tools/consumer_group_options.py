"""kafka-consumer-groups' options: Kafka's ConsumerGroupCommandOptions, parsed and checked."""

from __future__ import annotations

import argparse
import sys

from kcli.tools.cli import ToolParser, add_bootstrap

CONSUMER_STATES = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"]


DRY_RUN_WARNING = (
    "WARN: No action will be performed as the --execute option is missing.In a future major release, "
    "the default behavior of this command will be to prompt the user before executing the reset rather "
    "than doing a dry run. You should add the --dry-run option explicitly if you are scripting this "
    "command and want to keep the current default behavior without prompting."
)


RESET_TARGETS = (
    "to_offset",
    "shift_by",
    "to_datetime",
    "by_duration",
    "to_earliest",
    "to_latest",
    "to_current",
    "from_file",
)
# Java exception names and messages for the errors this tool reports per group or partition.


def build_parser() -> ToolParser:
    p = ToolParser(
        "kafka-consumer-groups",
        "List all consumer groups, describe a consumer group, delete consumer group info, "
        "or reset consumer group offsets.",
    )
    add_bootstrap(p)
    p.add_argument(
        "--command-config",
        metavar="command config property file",
        help="Client settings (security, timeouts) for the admin client, as a properties file.",
    )
    p.add_argument("--list", action="store_true", help="List all consumer groups.")
    p.add_argument(
        "--describe", action="store_true", help="Describe consumer group(s): offsets, members or state."
    )
    p.add_argument("--delete", action="store_true", help="Delete inactive consumer group(s).")
    p.add_argument(
        "--reset-offsets",
        action="store_true",
        help="Reset the committed offsets of inactive consumer group(s). Plan only unless --execute.",
    )
    p.add_argument(
        "--delete-offsets",
        action="store_true",
        help="Delete the committed offsets of a group for the given topic(s) or partitions.",
    )
    p.add_argument("--validate-regex", metavar="regex", help=argparse.SUPPRESS)
    p.add_argument(
        "--group", action="append", metavar="consumer group", help="The consumer group (repeatable)."
    )
    p.add_argument("--all-groups", action="store_true", help="Apply to all consumer groups.")
    p.add_argument(
        "--topic",
        action="append",
        metavar="topic",
        help="Topic, or topic:partition,partition..., for --reset-offsets and --delete-offsets.",
    )
    p.add_argument(
        "--all-topics", action="store_true", help="Every topic the group has committed offsets for."
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=5000,
        metavar="timeout (ms)",
        help="Time to wait for the group to answer, in ms (default: 5000).",
    )
    p.add_argument("--dry-run", action="store_true", help="Only show the result of --reset-offsets.")
    p.add_argument("--execute", action="store_true", help="Commit the offsets computed by --reset-offsets.")
    p.add_argument("--export", action="store_true", help="Print the --reset-offsets plan as CSV.")
    p.add_argument("--to-offset", type=int, metavar="offset", help="Reset to this offset.")
    p.add_argument(
        "--from-file",
        metavar="path to CSV file",
        help="Reset to the offsets of a CSV file (topic,partition,offset).",
    )
    p.add_argument(
        "--to-datetime",
        metavar="datetime",
        help="Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss[zone].",
    )
    p.add_argument("--by-duration", metavar="duration", help="Reset to the offset this long ago: PnDTnHnMnS.")
    p.add_argument("--to-earliest", action="store_true", help="Reset to the earliest offset.")
    p.add_argument("--to-latest", action="store_true", help="Reset to the latest offset.")
    p.add_argument("--to-current", action="store_true", help="Reset to the current committed offset.")
    p.add_argument(
        "--shift-by",
        type=int,
        metavar="number-of-offsets",
        help="Move the committed offsets by this many (negative moves back).",
    )
    p.add_argument("--members", action="store_true", help="With --describe: the members of the group.")
    p.add_argument("--verbose", action="store_true", help="With --describe --members: assignments too.")
    p.add_argument("--offsets", action="store_true", help="With --describe: offsets and lag (the default).")
    p.add_argument(
        "--state",
        nargs="?",
        const="",
        metavar="states",
        help="With --describe: the group's state; with --list: filter by state (comma-separated).",
    )
    p.add_argument("--type", nargs="?", const="", metavar="types", help=argparse.SUPPRESS)
    from kcli.tools.cli import add_explain  # kcli's --explain (kcli/tools/explain.py)

    add_explain(p)
    return p


def check_args(parser: ToolParser, args: argparse.Namespace) -> None:
    """The option combinations Kafka's tool accepts, with its messages."""
    actions = ["list", "describe", "delete", "reset_offsets", "delete_offsets", "validate_regex"]
    chosen = [a for a in actions if getattr(args, a)]
    if len(chosen) != 1:
        parser.fail(
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, "
            "--delete-offsets, --validate-regex"
        )
    selection = "--group, --all-groups"
    if args.describe:
        if not args.group and not args.all_groups:
            parser.fail(f"Option [describe] takes one of these options: {selection}")
        if sum(bool(x) for x in (args.members, args.offsets, args.state is not None)) > 1:
            parser.fail("Option [describe] takes at most one of these options: [members], [offsets], [state]")
        if args.state:
            parser.fail("Option [describe] does not take a value for [state]")
    if args.delete:
        if not args.group and not args.all_groups:
            parser.fail(f"Option [delete] takes one of these options: {selection}")
        if args.topic:
            parser.fail("The consumer does not support topic-specific offset deletion from a consumer group.")
    if args.delete_offsets and (not args.group or not args.topic):
        parser.fail("Option [delete-offsets] takes the following options: --group, --topic")
    if args.reset_offsets:
        if args.dry_run and args.execute:
            parser.fail("Option [reset-offsets] only accepts one of [execute] and [dry-run]")
        if not args.dry_run and not args.execute:
            print(DRY_RUN_WARNING, file=sys.stderr)
        if not args.group and not args.all_groups:
            parser.fail(f"Option [reset-offsets] takes one of these options: {selection}")
        targets = [t for t in RESET_TARGETS if getattr(args, t) not in (None, False)]
        if len(targets) > 1:
            parser.fail(
                f"Option [{targets[0].replace('_', '-')}] can't be used with option "
                f"[{targets[1].replace('_', '-')}]"
            )
        if not targets:
            parser.fail(
                "Option [reset-offsets] requires one of the following scenarios: [to-offset], [shift-by], "
                "[to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]"
            )
    if args.group and args.all_groups:
        parser.fail("Option [group] can't be used with option [all-groups]")
    if args.group and args.list:
        parser.fail("Option [group] can't be used with option [list]")
    if args.topic and not (args.delete or args.reset_offsets or args.delete_offsets):
        parser.fail("Option [topic] can't be used with option [" + chosen[0].replace("_", "-") + "]")
    if args.list and args.state:
        states = [s.strip() for s in args.state.split(",")]
        valid = {s.lower(): s for s in CONSUMER_STATES}
        if any(s.lower() not in valid for s in states):
            parser.fail(f"Invalid state list '{args.state}'. Valid states are: {', '.join(CONSUMER_STATES)}")


# --- the admin side -------------------------------------------------------------------------------
