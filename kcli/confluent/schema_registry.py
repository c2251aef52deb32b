"""``confluent schema-registry schema create|describe|list|delete`` and ``subject list|describe|update``.

Against ``--schema-registry-endpoint``, else the current context's registry, else the local
stack's. Messages and tables are the Confluent CLI's (``Successfully registered schema with ID
"1".``, ``Schema ID: 1`` / ``Type: AVRO`` / ``Schema:`` with the schema indented). Registry errors
are printed with the registry's own message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kcli.confluent import context, output
from kcli.confluent.errors import CLIError
from kcli.confluent.framework import Args, CobraGroup, Flag, command, group
from kcli.confluent.output import Field
from kcli.confluent.topic_commands import OUTPUT, REGISTRY, output_format

TYPES = {"avro": "AVRO", "json": "JSON", "jsonschema": "JSON", "protobuf": "PROTOBUF"}


def _client(values: dict[str, Any]) -> Any:
    from kcli.schema_registry.client import SchemaRegistryClient

    return SchemaRegistryClient(context.registry(values.get("schema_registry_endpoint")))


def _call(client: Any, method: str, path: str, body: Any = None) -> Any:
    from kcli.schema_registry.client import RegistryClientError

    try:
        return client._call(method, path, body)
    except RegistryClientError as exc:
        raise CLIError(str(exc)) from None


def _quote(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text, safe="")


def schema_create(**v: Any) -> None:
    kind = TYPES.get((v["type"] or "avro").lower())
    if kind is None:
        raise CLIError(f'invalid value "{v["type"]}" for flag `--type`', 'Use "avro", "json", or "protobuf".')
    path = Path(v["schema"]).expanduser()
    try:
        text = path.read_text()
    except OSError:
        raise CLIError(f"open {v['schema']}: no such file or directory") from None
    body: dict[str, Any] = {"schema": text}
    if kind != "AVRO":
        body["schemaType"] = kind
    if v["references"]:
        try:
            body["references"] = json.loads(Path(v["references"]).expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot read references file {v['references']}: {exc}") from None
    client = _client(v)
    query = "?normalize=true" if v["normalize"] else ""
    found = _call(client, "POST", f"/subjects/{_quote(v['subject'])}/versions{query}", body)
    fmt = output_format(v["output"])
    if fmt == "human":
        print(f'Successfully registered schema with ID "{found["id"]}".')
    else:
        output.print_table([Field("ID", "id", found["id"])], fmt)


def _print_schema(schema_id: int, text: str, kind: str, references: list[dict[str, Any]]) -> None:
    print(f"Schema ID: {schema_id}")
    print(f"Type: {kind}")
    if kind in ("JSON", "AVRO"):
        try:
            text = json.dumps(json.loads(text), indent=4)
        except ValueError:
            pass
    print("Schema:")
    print(text)
    if references:
        print("References:")
        for ref in references:
            print(f"\t{ref['name']} -> {ref['subject']} {ref['version']}")


def schema_describe(**v: Any) -> None:
    args, subject, version = v["args"], v["subject"], v["version"]
    if args and (subject or version):
        raise CLIError("cannot specify both schema ID and subject/version")
    if not args and not (subject and version):
        raise CLIError("must specify either schema ID or subject/version")
    client = _client(v)
    if args:
        if not args[0].isdigit():
            raise CLIError(f'invalid schema ID "{args[0]}"', "Schema ID must be an integer.")
        found = _call(client, "GET", f"/schemas/ids/{args[0]}")
        _print_schema(
            int(args[0]), found["schema"], found.get("schemaType", "AVRO"), found.get("references", [])
        )
        return
    found = _call(client, "GET", f"/subjects/{_quote(subject)}/versions/{_quote(version)}")
    _print_schema(found["id"], found["schema"], found.get("schemaType", "AVRO"), found.get("references", []))


def schema_list(**v: Any) -> None:
    client = _client(v)
    subjects = _call(client, "GET", "/subjects" + ("?deleted=true" if v["all"] else ""))
    rows = []
    for subject in subjects:
        if v["subject_prefix"] and not subject.startswith(v["subject_prefix"]):
            continue
        versions = _call(
            client, "GET", f"/subjects/{_quote(subject)}/versions" + ("?deleted=true" if v["all"] else "")
        )
        for number in versions:
            found = _call(
                client,
                "GET",
                f"/subjects/{_quote(subject)}/versions/{number}" + ("?deleted=true" if v["all"] else ""),
            )
            rows.append(
                [
                    Field("ID", "id", found["id"]),
                    Field("Subject", "subject", subject),
                    Field("Version", "version", number),
                ]
            )
    output.print_list(rows, output_format(v["output"]))


def schema_delete(**v: Any) -> None:
    import sys

    subject, version, permanent = v["subject"], v["version"], v["permanent"]
    client = _client(v)
    if not v["force"]:
        what = "permanently delete" if permanent else "delete"
        sys.stderr.write(f'Are you sure you want to {what} schema "{subject} (version {version})"? (y/n): ')
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise CLIError("schema was not deleted", "Pass --force to delete without a prompt.")
    flag = "?permanent=true" if permanent else ""
    kind = "hard" if permanent else "soft"
    if version == "all":
        versions = _call(client, "DELETE", f"/subjects/{_quote(subject)}{flag}")
        print(f'Successfully {kind} deleted all versions for subject "{subject}".')
    else:
        versions = [_call(client, "DELETE", f"/subjects/{_quote(subject)}/versions/{_quote(version)}{flag}")]
        print(f'Successfully {kind} deleted version "{version}" for subject "{subject}".')
    output.print_list([[Field("Version", "version", n)] for n in versions])


def subject_list(**v: Any) -> None:
    client = _client(v)
    subjects = _call(client, "GET", "/subjects" + ("?deleted=true" if v["deleted"] else ""))
    prefix = v["prefix"] or ""
    output.print_list(
        [[Field("Subject", "subject", s)] for s in subjects if s.startswith(prefix)],
        output_format(v["output"]),
    )


def subject_describe(**v: Any) -> None:
    client = _client(v)
    versions = _call(
        client,
        "GET",
        f"/subjects/{_quote(v['args'][0])}/versions" + ("?deleted=true" if v["deleted"] else ""),
    )
    output.print_list(
        [[Field("Version", "version", n)] for n in versions], output_format(v["output"]), sort=False
    )


def subject_update(**v: Any) -> None:
    subject, compatibility, mode = v["args"][0], v["compatibility"], v["mode"]
    if bool(compatibility) == bool(mode):
        raise CLIError("must pass either `--compatibility` or `--mode` flag")
    client = _client(v)
    if compatibility:
        found = _call(client, "PUT", f"/config/{_quote(subject)}", {"compatibility": compatibility.upper()})
        print(
            f'Successfully updated subject-level compatibility to "{found["compatibility"]}" for subject "{subject}".'
        )
    else:
        found = _call(client, "PUT", f"/mode/{_quote(subject)}", {"mode": mode.upper()})
        print(f'Successfully updated subject-level mode to "{found["mode"]}" for subject "{subject}".')


def build(root: CobraGroup) -> None:
    sr = group(root, "schema-registry", "Manage Schema Registry.", aliases=("sr",))
    schema = group(sr, "schema", "Manage Schema Registry schemas.")
    subject_usage = "Subject of the schema."
    command(
        schema,
        "create",
        "Create a schema.",
        schema_create,
        [
            Flag("schema", "The path to the schema file.", required=True),
            Flag("subject", subject_usage, required=True),
            Flag("type", 'Specify the schema type as "avro", "json", or "protobuf".', default="avro"),
            Flag("references", "The path to the references file."),
            Flag("normalize", "Alphabetize the list of schema fields.", "bool"),
            REGISTRY,
            OUTPUT,
        ],
    )
    command(
        schema,
        "describe",
        "Get schema by ID, or by subject and version.",
        schema_describe,
        [
            Flag("subject", subject_usage),
            Flag("version", 'Version of the schema. Can be a specific version or "latest".'),
            REGISTRY,
        ],
        args=Args(0, 1, "[id]"),
    )
    command(
        schema,
        "list",
        "List schemas for a given subject prefix.",
        schema_list,
        [
            Flag("subject-prefix", "List schemas for subjects with a given prefix."),
            Flag("all", "Include soft-deleted schemas.", "bool"),
            REGISTRY,
            OUTPUT,
        ],
    )
    command(
        schema,
        "delete",
        "Delete one or more schema versions.",
        schema_delete,
        [
            Flag("subject", subject_usage, required=True),
            Flag(
                "version",
                'Version of the schema. Can be a specific version, "all", or "latest".',
                required=True,
            ),
            Flag("permanent", "Permanently delete the schema.", "bool"),
            Flag("force", "Skip the deletion confirmation prompt.", "bool"),
            REGISTRY,
        ],
    )
    subject = group(sr, "subject", "Manage Schema Registry subjects.")
    command(
        subject,
        "list",
        "List subjects.",
        subject_list,
        [
            Flag("deleted", "View the deleted subjects.", "bool"),
            Flag("prefix", "Subject prefix."),
            REGISTRY,
            OUTPUT,
        ],
    )
    command(
        subject,
        "describe",
        "Describe subject versions.",
        subject_describe,
        [
            Flag("deleted", "View the deleted schema.", "bool"),
            REGISTRY,
            OUTPUT,
        ],
        args=Args(1, 1, "<subject>"),
    )
    command(
        subject,
        "update",
        "Update subject compatibility or mode.",
        subject_update,
        [
            Flag(
                "compatibility",
                'Can be "backward", "backward_transitive", "forward", "forward_transitive", "full", "full_transitive", or "none".',
            ),
            Flag("mode", 'Can be "readwrite", "readonly", or "import".'),
            REGISTRY,
        ],
        args=Args(1, 1, "<subject>"),
    )
