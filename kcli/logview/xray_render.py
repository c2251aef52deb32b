"""The X-ray drawn: one line per field (offset, hex, name, value, meaning), then the decoded key and value."""

from __future__ import annotations

from rich.text import Text

from kcli.logview.xray import XRay


def render(x: XRay, width: int = 100) -> list[Text]:
    """The X-ray as lines: ``offset  hex  field  value  meaning`` per field, then the decoded view."""
    lines: list[Text] = []
    head = Text(f"X-ray of {x.topic}-{x.partition} offset {x.offset}", style="bold")
    lines.append(head)
    for section in x.sections:
        lines.append(Text(section.title, style="bold cyan"))
        for f in section.fields:
            t = Text()
            t.append(f"  {f.start:04x} ", style="dim")
            hexes = f.raw[:8].hex(" ") + (" …" if len(f.raw) > 8 else "")
            t.append(f"{hexes:<26}", style="yellow")
            t.append(f"{f.name:<22}", style="bold")
            value = f.value if len(f.value) <= 26 else f.value[:25] + "…"
            t.append(f"{value:<27}")
            if f.meaning and len(t.plain) + len(f.meaning) > width:
                lines.append(t)
                t = Text(" " * 33)  # under the field's name
            t.append(f.meaning, style="dim")
            lines.append(t)
        for note in section.notes:
            lines.append(Text(f"  {note}", style="dim"))
    if x.decoded:
        lines.append(Text("decoded", style="bold cyan"))
        for label, text in x.decoded:
            lines.append(Text(f"  {label}:", style="bold"))
            for line in text.splitlines() or [""]:
                lines.append(Text(f"    {line}"))
    if x.schema is not None:
        import orjson

        lines.append(
            Text(
                f"the schema that decoded it (id {x.schema.schema_id}"
                + (f", subject {x.schema.subject} v{x.schema.version}" if x.schema.subject else "")
                + f", {x.schema.schema_type})",
                style="bold cyan",
            )
        )
        try:
            pretty = orjson.dumps(orjson.loads(x.schema.schema), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            pretty = x.schema.schema
        for line in pretty.splitlines():
            lines.append(Text(f"  {line}"))
    for p in x.problems:
        lines.append(Text(f"⚠ {p}", style="yellow"))
    return lines
