"""Unit tests: no new import cycle between kcli's packages or files (issue 17).

The cycles that exist today are listed, edge by edge, in ``tests/import_cycles_baseline.txt``
(issue 17 is to remove them); these tests fail only when an import edge that is not listed
lies on a cycle, so a change can remove cycles but never add one. ``python
scripts/import_cycles.py`` prints the cycles; ``--write-baseline`` shrinks the list after some
were removed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    path = ROOT / "scripts" / "import_cycles.py"
    spec = importlib.util.spec_from_file_location("kcli_import_cycles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cycles = _load_script()


@pytest.fixture(scope="module")
def now() -> dict[str, set[tuple[str, str]]]:
    return cycles.current_cycles()


@pytest.mark.parametrize("kind", ["package", "file"])
def test_no_new_import_cycle(kind: str, now: dict[str, set[tuple[str, str]]]) -> None:
    new = sorted(now[kind] - cycles.read_baseline()[kind])
    assert not new, (
        f"new import cycle(s) between {kind}s, through: "
        + "; ".join(f"{a} -> {b}" for a, b in new)
        + " (python scripts/import_cycles.py shows the cycles)"
    )


def test_graph_sees_the_imports_it_should(tmp_path: Path) -> None:
    """The graph builder on a tiny tree: module-level, deferred, relative and TYPE_CHECKING
    imports are edges (TYPE_CHECKING ones only when not ``runtime_only``)."""
    pkg = tmp_path / "kcli"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from kcli.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kcli.a import x\n"
    )
    graph = cycles.import_graph(tmp_path)
    assert graph["kcli.a"] == {"kcli.sub.b"}
    assert graph["kcli.sub.b"] == {"kcli.sub.c"}
    assert graph["kcli.sub.c"] == {"kcli.a"}
    assert cycles.strongly_connected(graph) == [["kcli.a", "kcli.sub.b", "kcli.sub.c"]]
    assert cycles.package_graph(graph, tmp_path) == {"kcli": {"kcli.sub"}, "kcli.sub": {"kcli"}}
    runtime = cycles.import_graph(tmp_path, runtime_only=True)
    assert runtime["kcli.sub.c"] == set()
    assert cycles.strongly_connected(runtime) == []


def test_a_new_cycle_is_caught_and_an_old_one_is_not(tmp_path: Path) -> None:
    """The rule the guard applies: only cyclic edges missing from the list count."""
    graph = {"x": {"y"}, "y": {"x"}, "z": {"x"}}
    listed = cycles.cyclic_edges(graph)
    assert listed == {("x", "y"), ("y", "x")}
    graph["x"].add("z")  # x -> z -> x: a new cycle through the old component
    assert cycles.cyclic_edges(graph) - listed == {("x", "z"), ("z", "x")}
    baseline = tmp_path / "baseline.txt"
    cycles.write_baseline({"package": set(), "file": listed}, baseline)
    assert cycles.read_baseline(baseline) == {"package": set(), "file": listed}
