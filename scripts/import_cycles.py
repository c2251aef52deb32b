"""Measure kcli's import graph: the cycles between packages and between files (issue 17).

Every ``import`` and ``from ... import`` under ``kcli/`` counts, wherever it is written: at
module level, inside a function (a deferred import still ties the two files together), and
under ``if TYPE_CHECKING:`` (a type-only import is still a dependency of the design, and is
how most of the cycles the review found were hidden). ``--runtime`` leaves the TYPE_CHECKING
ones out, to show which cycles Python itself would meet.

A file's package is the package it sits in (``kcli/server/daemon.py`` is in ``kcli.server``,
``kcli/server/cluster/__init__.py`` is ``kcli.server.cluster``). The implicit import of a
parent package's ``__init__`` is not counted.

``tests/test_import_cycles.py`` keeps a list of the edges that lie on a cycle today
(``tests/import_cycles_baseline.txt``) and fails only when an edge not in that list lies on a
cycle, i.e. when a new cycle appears; removing cycles never fails it. After removing some,
``python scripts/import_cycles.py --write-baseline`` shrinks the list.

Usage: ``python scripts/import_cycles.py [--runtime] [--write-baseline]``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "tests" / "import_cycles_baseline.txt"

Edge = tuple[str, str]


def module_name(path: Path, root: Path = ROOT) -> str:
    """``kcli/server/daemon.py`` -> ``kcli.server.daemon``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str, packages: set[str]) -> str:
    """The package a module belongs to: itself for a package, else its parent."""
    return module if module in packages else module.rpartition(".")[0]


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of statements inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for stmt in node.body:
                    for inner in ast.walk(stmt):
                        if hasattr(inner, "lineno"):
                            lines.add(inner.lineno)
    return lines


def _resolve(base: str, names: Iterable[str], modules: set[str]) -> set[str]:
    """The kcli modules one ``from base import names`` statement depends on."""
    targets = set()
    for name in names:
        sub = f"{base}.{name}"
        if sub in modules:
            targets.add(sub)  # ``from kcli.server.storage import log_dirs``: the submodule
        elif base in modules:
            targets.add(base)
    return targets


def import_graph(root: Path = ROOT, runtime_only: bool = False) -> dict[str, set[str]]:
    """Module -> the kcli modules it imports (only modules of the ``kcli`` package)."""
    files = {module_name(p, root): p for p in sorted((root / "kcli").rglob("*.py"))}
    modules = set(files)
    packages = {m for m, p in files.items() if p.name == "__init__.py"}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = _type_checking_lines(tree) if runtime_only else set()
        here = module if module in packages else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.name
                    while name and name not in modules:
                        name = name.rpartition(".")[0]
                    if name:
                        graph[module].add(name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = here.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                if base.split(".")[0] != "kcli":
                    continue
                graph[module] |= _resolve(base, (a.name for a in node.names), modules)
        graph[module].discard(module)
    return graph


def package_graph(graph: dict[str, set[str]], root: Path = ROOT) -> dict[str, set[str]]:
    """Package -> the packages its files import (edges between different packages only)."""
    packages = {module_name(p, root) for p in (root / "kcli").rglob("__init__.py")}
    result: dict[str, set[str]] = {package_of(m, packages): set() for m in graph}
    for module, targets in graph.items():
        src = package_of(module, packages)
        for target in targets:
            dst = package_of(target, packages)
            if dst != src:
                result[src].add(dst)
    return result


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def cyclic_edges(graph: dict[str, set[str]]) -> set[Edge]:
    """The edges that lie on some cycle: both ends in the same strongly connected component."""
    member = {node: i for i, comp in enumerate(strongly_connected(graph)) for node in comp}
    return {
        (src, dst)
        for src, targets in graph.items()
        for dst in targets
        if src in member and member[src] == member.get(dst)
    }


def current_cycles(root: Path = ROOT) -> dict[str, set[Edge]]:
    """{"package": edges on package cycles, "file": edges on file cycles}."""
    files = import_graph(root)
    return {"package": cyclic_edges(package_graph(files, root)), "file": cyclic_edges(files)}


def read_baseline(path: Path = BASELINE) -> dict[str, set[Edge]]:
    """The checked-in list: lines ``package a -> b`` and ``file a -> b``; ``#`` starts a comment."""
    result: dict[str, set[Edge]] = {"package": set(), "file": set()}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        kind, rest = line.split(" ", 1)
        src, dst = (part.strip() for part in rest.split("->"))
        result[kind].add((src, dst))
    return result


def write_baseline(cycles: dict[str, set[Edge]], path: Path = BASELINE) -> None:
    lines = [
        "# Import edges that lie on a cycle today (issue 17 wants none). tests/test_import_cycles.py",
        "# fails when an edge that is not listed here lies on a cycle. Regenerate after removing",
        "# cycles with: python scripts/import_cycles.py --write-baseline",
    ]
    for kind in ("package", "file"):
        lines += [f"{kind} {src} -> {dst}" for src, dst in sorted(cycles[kind])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def report(runtime_only: bool = False) -> str:
    """The strongly connected components of packages and of files, one per line."""
    files = import_graph(ROOT, runtime_only)
    out = []
    for title, graph in (("packages", package_graph(files)), ("files", files)):
        components = strongly_connected(graph)
        out.append(f"{len(components)} cycle(s) between {title}:")
        out += [f"  {' <-> '.join(c)}" for c in components]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", action="store_true", help="leave out imports under TYPE_CHECKING")
    parser.add_argument("--write-baseline", action="store_true", help=f"rewrite {BASELINE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    print(report(args.runtime))
    if args.write_baseline:
        write_baseline(current_cycles())
        print(f"wrote {BASELINE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
