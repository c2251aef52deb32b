"""The lab checks of the schema registry: a subject's schema, and records that decode with theirs."""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

from kcli.lab.spec import Check

if TYPE_CHECKING:
    pass
from kcli.lab.context import Context, Result, registry_url, short, topic_detail


def check_schema(ctx: Context, c: Check) -> Result:
    from kcli.schema_registry.client import RegistryClientError

    a = c.args
    subject = a["subject"]
    fields = list(a.get("fields", []))
    kind = str(a.get("schema_type", "AVRO")).upper()
    title = f"subject {subject} has a {kind} schema" + (f" with {', '.join(fields)}" if fields else "")
    url = registry_url(ctx, c)
    try:
        latest = ctx.registry_call(url, f"/subjects/{subject}/versions/latest")
    except RegistryClientError as exc:
        hint = (
            "register it by producing with kafka-avro-console-producer --property value.schema.file=... "
            "(it registers <topic>-value), or POST it to /subjects/" + subject + "/versions"
        )
        return Result(c, title, False, str(exc), hint)
    found_type = str(latest.get("schemaType") or "AVRO")
    if found_type != kind:
        return Result(
            c, title, False, f"its schema type is {found_type}", "register the schema of the exercise"
        )
    try:
        schema = json.loads(latest["schema"])
    except (ValueError, KeyError):
        return Result(c, title, False, "its schema is not JSON", None)
    names = [f.get("name") for f in schema.get("fields", [])] if isinstance(schema, dict) else []
    missing = [f for f in fields if f not in names]
    if missing:
        return Result(
            c,
            title,
            False,
            f"version {latest.get('version')} lacks {', '.join(missing)} (has {', '.join(map(str, names))})",
            "register the exercise's schema (a new version must stay compatible: add fields with defaults)",
        )
    for f in schema.get("fields", []) if isinstance(schema, dict) else []:
        if isinstance(f.get("type"), list) and "null" in f["type"] and f.get("default") == "null":
            return Result(
                c,
                title,
                False,
                f'field {f["name"]} has "default": "null" (a string)',
                'a ["null", ...] union defaults to null, unquoted: "default": null',
            )
    return Result(c, title, True, f"version {latest.get('version')}, id {latest.get('id')}")


def check_avro_records(ctx: Context, c: Check) -> Result:
    import io

    import fastavro

    from kcli.schema_registry.client import RegistryClientError

    a = c.args
    topic = a["topic"]
    least = int(a.get("at_least", 1))
    subject = a.get("subject")
    title = f"topic {topic} holds at least {least} Avro record(s)" + (
        f" of subject {subject}" if subject else ""
    )
    topic_detail(ctx, topic)
    url = registry_url(ctx, c)
    hint = (
        f"produce with kafka-avro-console-producer --bootstrap-server localhost:9092 --topic {topic} "
        f"--property schema.registry.url={url} --property value.schema.file=customer.avsc"
    )
    records = ctx.records(topic)
    ok = 0
    schemas: dict[int, Any] = {}
    for m in records:
        v = m.value
        if v is None or len(v) < 5 or v[0] != 0:
            return Result(
                c,
                title,
                False,
                f"offset {m.offset} of partition {m.partition} is not Confluent-framed Avro: {short(v)}",
                hint + " (kafka-console-producer writes plain text, not Avro)",
            )
        schema_id = struct.unpack(">I", v[1:5])[0]
        if schema_id not in schemas:
            try:
                found = ctx.registry_call(url, f"/schemas/ids/{schema_id}")
                schemas[schema_id] = fastavro.parse_schema(json.loads(found["schema"]))
                if subject:
                    holders = ctx.registry_call(url, f"/schemas/ids/{schema_id}/versions") or []
                    if not any(h.get("subject") == subject for h in holders):
                        return Result(
                            c, title, False, f"schema id {schema_id} is not a version of {subject}", hint
                        )
            except (RegistryClientError, ValueError, KeyError) as exc:
                return Result(c, title, False, f"schema id {schema_id}: {exc}", hint)
        try:
            fastavro.schemaless_reader(io.BytesIO(v[5:]), schemas[schema_id])
        except Exception as exc:
            return Result(
                c, title, False, f"offset {m.offset} does not decode with schema {schema_id}: {exc}", hint
            )
        ok += 1
    if ok < least:
        return Result(c, title, False, f"found {ok}", hint)
    return Result(
        c, title, True, f"{ok} record(s) decode with schema id(s) {', '.join(map(str, sorted(schemas)))}"
    )
