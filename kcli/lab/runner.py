"""Run a lab file and report: one line per check (PASS/FAIL, what was found, a hint per failure),
or one JSON document with ``--json``. Exit status 0 when every check passed, 1 when one failed,
2 when the file or the cluster could not be read (so an autograder can tell "wrong answer" from
"could not grade")."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.text import Text

from kcli.lab import checks, spec
from kcli.lab.context import Context

EXIT_PASSED, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
DEFAULT_BOOTSTRAP = "localhost:9092"


def registry_url(lab: spec.LabSpec, source: object, bootstrap: str) -> str | None:
    """The file's registry, else the client config's, else the ``kcli local`` stack's, else
    Confluent's default ``http://localhost:8081``."""
    from kcli.cluster_view.local_lab import local_registry_url

    extra = getattr(source, "extra", {}) or {}
    return (
        lab.registry
        or extra.get("schema.registry.url")
        or local_registry_url(bootstrap)
        or "http://localhost:8081"
    )


def run_check(
    file: str,
    bootstrap: str | None,
    command_config: str | None,
    as_json: bool,
    out: object = None,
) -> int:
    stream = out or sys.stdout
    try:
        lab = spec.load(file)
    except spec.SpecError as exc:
        return _unusable(str(exc), as_json, stream)
    server = bootstrap or lab.bootstrap or DEFAULT_BOOTSTRAP
    from kcli.cluster_view.kafka import KafkaSource
    from kcli.cluster_view.source import KafkaDataError, error_text

    try:
        source = KafkaSource(server, command_config, timeout_s=10.0)
        source._metadata()
    except KafkaDataError as exc:
        return _unusable(str(exc), as_json, stream, lab, server)
    except Exception as exc:  # a bad --command-config file
        return _unusable(error_text(exc), as_json, stream, lab, server)
    try:
        ctx = Context(source, registry_url(lab, source, server))
        results = [checks.run_one(ctx, c) for c in lab.checks]
    finally:
        source.close()
    failed = sum(not r.passed for r in results)
    if as_json:
        doc = {
            "exercise": lab.title,
            "file": lab.path,
            "bootstrap": server,
            "passed": len(results) - failed,
            "failed": failed,
            "ok": failed == 0,
            "checks": [r.as_json() for r in results],
        }
        print(json.dumps(doc, indent=2), file=stream)
    else:
        console = Console(file=stream, highlight=False, soft_wrap=True)
        console.print(Text(f"kcli lab check: {lab.title} ({server})", style="bold"))
        for r in results:
            line = Text()
            line.append("PASS " if r.passed else "FAIL ", style="bold green" if r.passed else "bold red")
            line.append(r.title)
            if r.detail:
                line.append(f": {r.detail}", style="dim" if r.passed else "")
            console.print(line)
            if not r.passed and r.hint:
                console.print(Text(f"     hint: {r.hint}", style="yellow"))
        summary = f"{len(results)} check(s): {len(results) - failed} passed, {failed} failed"
        console.print(Text(summary, style="bold green" if not failed else "bold red"))
    return EXIT_FAILED if failed else EXIT_PASSED


def _unusable(
    message: str, as_json: bool, stream: object, lab: spec.LabSpec | None = None, server: str | None = None
) -> int:
    if as_json:
        doc = {"exercise": lab.title if lab else None, "bootstrap": server, "ok": False, "error": message}
        print(json.dumps(doc, indent=2), file=stream)
    else:
        print(f"kcli lab check: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def list_exercises() -> int:
    for name, path in spec.shipped().items():
        try:
            title = spec.load(str(path)).title
        except spec.SpecError as exc:
            title = f"(unreadable: {exc})"
        print(f"{name:<16}{title}")
    return 0
