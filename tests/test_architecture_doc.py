"""Unit tests: ``docs/architecture.md`` names only what exists (issue 17), and the README points to it.

Every repository path the document writes (``kcli/server/base/partition.py``, ``tests/...``) must exist,
and every dotted name it writes in backticks from ``kcli.`` or ``kio.`` (a module, a class, a
function, a method, or an attribute a class sets in its methods) must resolve, so a rename or a
move fails here until the map is updated.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
TEXT = DOC.read_text(encoding="utf-8")

PATH = re.compile(r"(?<![\w/.$])((?:kcli|tests|scripts|docs|benchmarks|completions)/[\w./-]*)")
DOTTED = re.compile(r"`((?:kcli|kio)(?:\.[A-Za-z_]\w*)+)`")


def doc_paths() -> list[str]:
    found = {m.group(1).rstrip(".,;:") for m in PATH.finditer(TEXT) if "<" not in m.group(0)}
    # A template such as ``kcli/tools/<name>.py`` stops at "<": keep only what is a whole path.
    return sorted(p for p in found if not p.endswith("/<") and p)


def doc_names() -> list[str]:
    return sorted({m.group(1) for m in DOTTED.finditer(TEXT)})


def _set_on_self(cls: type, attr: str) -> bool:
    """Does a method of ``cls`` assign ``self.<attr>`` (an instance attribute)?"""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return any(
        isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and node.attr == attr
        for node in ast.walk(tree)
    )


def resolve(name: str) -> Any:
    """Import the longest module prefix of ``name`` and look the rest up as attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for i, attr in enumerate(parts[cut:]):
            if hasattr(obj, attr):
                obj = getattr(obj, attr)
            elif inspect.isclass(obj) and i == len(parts[cut:]) - 1 and _set_on_self(obj, attr):
                return obj
            else:
                raise LookupError(f"{name}: {'.'.join(parts[: cut + i])} has no {attr!r}")
        return obj
    raise LookupError(f"{name}: no such module")


def test_the_doc_names_paths_and_names() -> None:
    """The checks below have something to check (the patterns match the document's style)."""
    assert len(doc_paths()) > 50
    assert len(doc_names()) > 100


def test_every_path_in_the_doc_exists() -> None:
    missing = [p for p in doc_paths() if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_dotted_name_in_the_doc_resolves() -> None:
    problems = []
    for name in doc_names():
        try:
            resolve(name)
        except LookupError as exc:
            problems.append(str(exc))
    assert not problems, "docs/architecture.md names what does not resolve: " + "; ".join(problems)


def test_resolve_refuses_what_does_not_exist() -> None:
    assert resolve("kcli.server.state.replica_manager.ReplicaManager.append_records")
    assert resolve("kcli.server.state.broker.Broker.leadership_listeners")  # set in __init__
    for missing in ("kcli.server.no_such_module", "kcli.server.state.broker.Broker.no_such_method"):
        with pytest.raises(LookupError):
            resolve(missing)


def test_readme_points_to_the_architecture_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme
    assert "ARCHITECTURE.md" not in readme
