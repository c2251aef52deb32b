"""``confluent context create|use|list|describe|delete``: named connection settings (see :mod:`context`)."""

from __future__ import annotations

from typing import Any

from kcli.confluent import context, output
from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, Flag, command, group
from kcli.confluent.output import Field
from kcli.confluent.topic_commands import OUTPUT, output_format


def _row(name: str, ctx: dict[str, Any], current: bool) -> list[Field]:
    return [
        Field("Current", "is_current", current),
        Field("Name", "name", name),
        Field("Platform", "platform", ctx.get("bootstrap", "")),
        Field("Schema Registry", "schema_registry_endpoint", ctx.get("schema_registry_endpoint", "")),
    ]


def _get(data: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in data["contexts"]:
        raise CLIError(
            f'context "{name}" does not exist', "List available contexts with `confluent context list`."
        )
    return data["contexts"][name]


def create(**v: Any) -> None:
    data = context.load()
    name = v["args"][0]
    if name in data["contexts"]:
        raise CLIError(f'context "{name}" already exists')
    ctx = {"bootstrap": v["bootstrap"]}
    if v["schema_registry_endpoint"]:
        ctx["schema_registry_endpoint"] = v["schema_registry_endpoint"]
    if v["config_file"]:
        ctx["config_file"] = v["config_file"]
    data["contexts"][name] = ctx
    if not data["current_context"]:
        data["current_context"] = name
    context.save(data)
    output.print_table(_row(name, ctx, data["current_context"] == name), output_format(v["output"]))


def use(**v: Any) -> None:
    data = context.load()
    _get(data, v["args"][0])
    data["current_context"] = v["args"][0]
    context.save(data)


def list_contexts(**v: Any) -> None:
    data = context.load()
    rows = [_row(n, c, n == data["current_context"]) for n, c in data["contexts"].items()]
    fmt = output_format(v["output"])
    if fmt == "human":  # the Confluent CLI marks the current context with "*"
        rows = [
            [
                Field(f.human, f.serialized, ("*" if f.value else " ") if f.human == "Current" else f.value)
                for f in r
            ]
            for r in rows
        ]
    output.print_list(rows, fmt)


def describe(**v: Any) -> None:
    data = context.load()
    name = v["args"][0] if v["args"] else data["current_context"]
    if not name:
        raise CLIError(
            "no context selected",
            "Select one with `confluent context use <name>`, or create one with `confluent context create`.",
        )
    output.print_table(
        _row(name, _get(data, name), name == data["current_context"]), output_format(v["output"])
    )


def delete(**v: Any) -> None:
    data = context.load()
    name = v["args"][0]
    _get(data, name)
    del data["contexts"][name]
    if data["current_context"] == name:
        data["current_context"] = ""
    context.save(data)
    print(f'Deleted context "{name}".')


def build(root: CobraGroup) -> None:
    node = group(root, "context", "Manage CLI configuration contexts.")
    command(
        node,
        "create",
        "Create a context.",
        create,
        [
            Flag("bootstrap", "The bootstrap servers of the Kafka cluster.", required=True),
            Flag("schema-registry-endpoint", "The URL of the Schema Registry cluster."),
            Flag(
                "config-file",
                "The path to a client properties file (security settings for a secured cluster).",
            ),
            OUTPUT,
        ],
        args=Args(1, 1, "<context>"),
    )
    command(node, "use", "Use a context in subsequent commands.", use, args=Args(1, 1, "<context>"))
    command(node, "list", "List all contexts.", list_contexts, [OUTPUT])
    command(node, "describe", "Describe a context.", describe, [OUTPUT], args=Args(0, 1, "[context]"))
    command(node, "delete", "Delete a context.", delete, args=Args(1, 1, "<context>"))
