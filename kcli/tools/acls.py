"""kafka-acls: add, list and remove ACLs, with Kafka's AclCommand options and output.

    kafka-acls --bootstrap-server HOST:PORT --command-config admin.properties \\
        --add --allow-principal User:alice --operation Write --topic orders
    kafka-acls ... --add --allow-principal User:bob --consumer --topic orders --group billing
    kafka-acls ... --list [--topic orders] [--principal User:bob]
    kafka-acls ... --remove --allow-principal User:alice --operation Write --topic orders [--force]

``--producer`` grants WRITE, DESCRIBE and CREATE on the topics (and WRITE, DESCRIBE on
``--transactional-id``s, IDEMPOTENT_WRITE on the cluster with ``--idempotent``); ``--consumer``
grants READ, DESCRIBE on the topics and READ on the groups. ``--resource-pattern-type`` is
``literal`` (default) or ``prefixed`` when adding, or the filters ``any`` / ``match`` when listing
and removing. The output is Kafka's: ``Adding ACLs for resource `ResourcePattern(...)`:`` then one
``(principal=..., host=..., operation=..., permissionType=...)`` per line; as in Kafka up to 3.8
(the Confluent Platform 7.x tools), ``--add`` and ``--remove`` then list the resources' current
ACLs. Lines are sorted so that output is stable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kcli.tools import cli
from kcli.tools.cli import ToolError, ToolParser, UsageError

PROG = "kafka-acls"
CLUSTER_NAME = "kafka-cluster"
OPERATIONS = (
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
)
SUPPORTED = {
    "TOPIC": ("READ", "WRITE", "CREATE", "DESCRIBE", "DELETE", "ALTER", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"),
    "GROUP": ("READ", "DESCRIBE", "DELETE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"),
    "CLUSTER": (
        "CREATE",
        "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE",
        "ALTER",
        "DESCRIBE",
    ),
    "TRANSACTIONAL_ID": ("DESCRIBE", "WRITE"),
    "DELEGATION_TOKEN": ("DESCRIBE",),
    "USER": ("CREATE_TOKENS", "DESCRIBE_TOKENS"),
}
PATTERN_TYPES = ("LITERAL", "PREFIXED", "ANY", "MATCH")


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def build_parser() -> ToolParser:
    """The option parser (also used to generate shell completions)."""
    p = ToolParser(PROG, "This tool helps to manage acls on kafka.")
    p.add_argument(
        "--bootstrap-server",
        metavar="server to connect to",
        help="REQUIRED: The Kafka server(s) to connect to.",
    )
    p.add_argument(
        "--bootstrap-controller", metavar="controller to connect to", help="The controller(s) to connect to."
    )
    p.add_argument(
        "--command-config",
        metavar="command-config",
        help="A property file containing configs to be passed to Admin Client.",
    )
    p.add_argument("--add", action="store_true", help="Indicates you are trying to add ACLs.")
    p.add_argument("--remove", action="store_true", help="Indicates you are trying to remove ACLs.")
    p.add_argument("--list", action="store_true", help="List ACLs for the specified resource.")
    p.add_argument(
        "--topic",
        action="append",
        metavar="topic",
        help="topic to which ACLs should be added or removed ('*' for all topics).",
    )
    p.add_argument("--cluster", action="store_true", help="Add/Remove cluster ACLs.")
    p.add_argument(
        "--group",
        action="append",
        metavar="group",
        help="Consumer Group to which the ACLs should be added or removed.",
    )
    p.add_argument(
        "--transactional-id",
        action="append",
        metavar="transactional-id",
        help="The transactionalId to which ACLs should be added or removed.",
    )
    p.add_argument(
        "--delegation-token",
        action="append",
        metavar="delegation-token",
        help="Delegation token to which ACLs should be added or removed.",
    )
    p.add_argument(
        "--user-principal",
        action="append",
        metavar="user-principal",
        help="A user principal as a resource (CreateTokens, DescribeTokens).",
    )
    p.add_argument(
        "--idempotent", action="store_true", help="Enable idempotence for the producer (with --producer)."
    )
    p.add_argument(
        "--resource-pattern-type",
        default="LITERAL",
        metavar="ANY|MATCH|LITERAL|PREFIXED",
        help="The type of the resource pattern or pattern filter (default: LITERAL).",
    )
    p.add_argument(
        "--operation",
        action="append",
        metavar="operation",
        help="Operation that is being allowed or denied: "
        + ", ".join(pascal(o) for o in OPERATIONS)
        + " (default: All).",
    )
    p.add_argument(
        "--allow-principal",
        action="append",
        metavar="allow-principal",
        help="principal in principalType:name format, e.g. User:alice.",
    )
    p.add_argument(
        "--deny-principal",
        action="append",
        metavar="deny-principal",
        help="principal in principalType:name format to deny.",
    )
    p.add_argument(
        "--principal",
        action="append",
        metavar="principal",
        help="List ACLs for the specified principal (with --list).",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        metavar="allow-host",
        help="Host from which --allow-principal has access (default: *).",
    )
    p.add_argument(
        "--deny-host",
        action="append",
        metavar="deny-host",
        help="Host from which --deny-principal is denied (default: *).",
    )
    p.add_argument(
        "--producer",
        action="store_true",
        help="Convenience option for the producer role: WRITE, DESCRIBE and CREATE on topic.",
    )
    p.add_argument(
        "--consumer",
        action="store_true",
        help="Convenience option for the consumer role: READ, DESCRIBE on topic and READ on group.",
    )
    p.add_argument("--force", action="store_true", help="Assume Yes to all queries and do not prompt.")
    return p


def _operation(name: str) -> str:
    key = name.strip().replace("_", "").upper()
    for op in OPERATIONS:
        if op.replace("_", "") == key:
            return op
    return "UNKNOWN"


def _principal(text: str) -> str:
    kind, sep, name = text.strip().partition(":")
    if not sep or not kind or not name:
        raise UsageError(f"expected a string in format principalType:principalName but got {text.strip()}")
    return f"{kind}:{name}"


def _check(args: argparse.Namespace) -> None:
    """AclCommandOptions.checkArgs, with Kafka's messages."""
    if args.bootstrap_server and args.bootstrap_controller:
        raise UsageError("Only one of --bootstrap-server or --bootstrap-controller must be specified")
    if not args.bootstrap_server and not args.bootstrap_controller:
        raise UsageError("One of --bootstrap-server or --bootstrap-controller must be specified")
    if int(args.add) + int(args.remove) + int(args.list) != 1:
        raise UsageError("Command must include exactly one action: --list, --add, --remove. ")
    if args.list:
        for flag in ("producer", "consumer", "allow_host", "allow_principal", "deny_host", "deny_principal"):
            if getattr(args, flag):
                raise UsageError(f'Option "[list]" can\'t be used with option "[{flag.replace("_", "-")}]"')
    for role in ("producer", "consumer"):
        if getattr(args, role):
            for flag in ("operation", "deny_principal", "deny_host"):
                if getattr(args, flag):
                    raise UsageError(
                        f'Option "[{role}]" can\'t be used with option "[{flag.replace("_", "-")}]"'
                    )
    if args.principal and not args.list:
        raise UsageError("The --principal option is only available if --list is set")
    if args.producer and not args.topic:
        raise UsageError("With --producer you must specify a --topic")
    if args.idempotent and not args.producer:
        raise UsageError("The --idempotent option is only available if --producer is set")
    if args.consumer and (
        not args.topic or not args.group or (not args.producer and (args.cluster or args.transactional_id))
    ):
        raise UsageError(
            "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id "
            "option should be specified."
        )
    pattern = args.resource_pattern_type.strip().upper()
    if pattern not in PATTERN_TYPES:
        raise UsageError(f"Unknown resource-pattern-type: {args.resource_pattern_type}")
    if args.add and pattern not in ("LITERAL", "PREFIXED"):
        raise UsageError(f"A '--resource-pattern-type' value of '{pattern}' is not valid when adding acls.")


Pattern = tuple[str, str, str]  # (resource type, name, pattern type)
Entry = tuple[str, str, str, str]  # (principal, host, operation, permission)


def _resources(args: argparse.Namespace, required: bool = True) -> list[Pattern]:
    pattern = args.resource_pattern_type.strip().upper()
    found: list[Pattern] = [("TOPIC", t.strip(), pattern) for t in args.topic or ()]
    if pattern == "LITERAL" and (args.cluster or args.idempotent):
        found.append(("CLUSTER", CLUSTER_NAME, "LITERAL"))
    found += [("GROUP", g.strip(), pattern) for g in args.group or ()]
    found += [("TRANSACTIONAL_ID", t, pattern) for t in args.transactional_id or ()]
    found += [("DELEGATION_TOKEN", t.strip(), pattern) for t in args.delegation_token or ()]
    found += [("USER", u.strip(), pattern) for u in args.user_principal or ()]
    if not found and required:
        raise UsageError(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or "
            "--delegation-token <Delegation Token ID>"
        )
    return list(dict.fromkeys(found))


def _entries(args: argparse.Namespace, operations: list[str]) -> set[Entry]:
    entries: set[Entry] = set()
    for principals, hosts, permission in (
        (args.allow_principal, args.allow_host, "ALLOW"),
        (args.deny_principal, args.deny_host, "DENY"),
    ):
        if not principals:
            continue
        for principal in principals:
            for host in hosts or ["*"]:
                for op in operations:
                    entries.add((_principal(principal), host.strip(), op, permission))
    return entries


def resource_acls(args: argparse.Namespace) -> dict[Pattern, set[Entry]]:
    """AclCommand.getResourceFilterToAcls: the ACLs the options describe, per resource."""
    result: dict[Pattern, set[Entry]] = {}
    if not args.producer and not args.consumer:
        operations = [_operation(o) for o in args.operation or ["All"]]
        for resource in _resources(args):
            result[resource] = _entries(args, operations)
    resources = _resources(args) if args.producer or args.consumer else []
    if args.producer:
        for r in resources:
            if r[0] == "TOPIC":
                result[r] = _entries(args, ["WRITE", "DESCRIBE", "CREATE"])
            elif r[0] == "TRANSACTIONAL_ID":
                result[r] = _entries(args, ["WRITE", "DESCRIBE"])
        if args.idempotent:
            result[("CLUSTER", CLUSTER_NAME, "LITERAL")] = _entries(args, ["IDEMPOTENT_WRITE"])
    if args.consumer:
        for r in resources:
            if r[0] == "TOPIC":
                result[r] = result.get(r, set()) | _entries(args, ["READ", "DESCRIBE"])
            elif r[0] == "GROUP":
                result[r] = result.get(r, set()) | _entries(args, ["READ"])
    for (kind, _name, _pattern), entries in result.items():
        valid = {*SUPPORTED[kind], "ALL"}
        if any(e[2] not in valid for e in entries):
            raise UsageError(
                f"ResourceType {kind} only supports operations " + ", ".join(pascal(o) for o in sorted(valid))
            )
    return result


def pattern_text(p: Pattern) -> str:
    return f"ResourcePattern(resourceType={p[0]}, name={p[1]}, patternType={p[2]})"


def entry_text(e: Entry) -> str:
    return f"(principal={e[0]}, host={e[1]}, operation={e[2]}, permissionType={e[3]})"


def _block(header: str, entries: set[Entry]) -> str:
    """Kafka's block: header, a space, then tab-indented entries, a trailing space and a blank line."""
    body = "\n".join("\t" + entry_text(e) for e in sorted(entries))
    return f"{header}: \n {body} \n"


# --- the admin client side -----------------------------------------------------------------
def _admin_enums() -> Any:
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return AclOperation, AclPermissionType, ResourcePatternType, ResourceType


def _binding(p: Pattern, e: Entry) -> Any:
    from confluent_kafka.admin import AclBinding

    op, perm, ptype, rtype = _admin_enums()
    return AclBinding(rtype[p[0]], p[1], ptype[p[2]], e[0], e[1], op[e[2]], perm[e[3]])


def _filter(p: Pattern, e: Entry | None) -> Any:
    from confluent_kafka.admin import AclBindingFilter

    op, perm, ptype, rtype = _admin_enums()
    if e is None:
        return AclBindingFilter(rtype[p[0]], p[1], ptype[p[2]], None, None, op.ANY, perm.ANY)
    return AclBindingFilter(rtype[p[0]], p[1], ptype[p[2]], e[0], e[1], op[e[2]], perm[e[3]])


def _any_filter() -> Any:
    from confluent_kafka.admin import AclBindingFilter

    op, perm, ptype, rtype = _admin_enums()
    return AclBindingFilter(rtype.ANY, None, ptype.ANY, None, None, op.ANY, perm.ANY)


def _to_tuples(binding: Any) -> tuple[Pattern, Entry]:
    pattern = (binding.restype.name, binding.name, binding.resource_pattern_type.name)
    entry = (binding.principal, binding.host, binding.operation.name, binding.permission_type.name)
    return pattern, entry


def _describe(admin: Any, acl_filter: Any) -> list[Any]:
    from kcli.tools.admin import future_result

    return list(future_result(admin.describe_acls(acl_filter, request_timeout=30)))


def list_acls(admin: Any, args: argparse.Namespace) -> None:
    resources = _resources(args, required=False)
    bindings: list[Any] = []
    if not resources:
        bindings = _describe(admin, _any_filter())
    for resource in resources:
        bindings += _describe(admin, _filter(resource, None))
    grouped: dict[Pattern, set[Entry]] = {}
    for binding in bindings:
        pattern, entry = _to_tuples(binding)
        grouped.setdefault(pattern, set()).add(entry)
    principals = [_principal(p) for p in args.principal or ()]
    if not principals:
        _print_resources(grouped)
        return
    for principal in principals:
        print(f"ACLs for principal `{principal}`")
        _print_resources({p: {e for e in es if e[0] == principal} for p, es in grouped.items()})


def _print_resources(grouped: dict[Pattern, set[Entry]]) -> None:
    for pattern in sorted(grouped):
        if grouped[pattern]:
            print(_block(f"Current ACLs for resource `{pattern_text(pattern)}`", grouped[pattern]))


def add_acls(admin: Any, args: argparse.Namespace) -> None:
    from kcli.tools.admin import future_result

    wanted = resource_acls(args)
    if any(not entries for entries in wanted.values()):
        raise UsageError(
            "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."
        )
    for pattern, entries in wanted.items():
        print(_block(f"Adding ACLs for resource `{pattern_text(pattern)}`", entries))
        futures = admin.create_acls([_binding(pattern, e) for e in sorted(entries)], request_timeout=30)
        for future in futures.values():
            future_result(future)
    list_acls(admin, args)


def remove_acls(admin: Any, args: argparse.Namespace) -> None:
    from kcli.tools.admin import future_result

    for pattern, entries in resource_acls(args).items():
        if entries:
            question = (
                f"Are you sure you want to remove ACLs: \n {chr(10).join(chr(9) + entry_text(e) for e in sorted(entries))} \n"
                f" from resource filter `{pattern_text(pattern)}`? (y/n)"
            )
            filters = [_filter(pattern, e) for e in sorted(entries)]
        else:
            question = f"Are you sure you want to delete all ACLs for resource filter `{pattern_text(pattern)}`? (y/n)"
            filters = [_filter(pattern, None)]
        if not args.force:
            print(question)
            answer = sys.stdin.readline().strip()
            if answer.lower() != "y":
                continue
        for future in admin.delete_acls(filters, request_timeout=30).values():
            future_result(future)
    list_acls(admin, args)


def _body(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(args)
    if args.add:
        resource_acls(args)  # option errors before connecting
    from kcli.tools.admin import admin_client

    admin = admin_client(args.bootstrap_server or args.bootstrap_controller, args.command_config)
    try:
        if args.add:
            add_acls(admin, args)
        elif args.remove:
            remove_acls(admin, args)
        else:
            list_acls(admin, args)
    except ToolError as exc:
        raise ToolError(f"Error while executing ACL command: {exc}") from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(_body, argv, build_parser)


if __name__ == "__main__":
    sys.exit(main())
