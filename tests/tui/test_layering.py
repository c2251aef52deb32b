"""Unit tests: the TUI is layered as Textual's example apps are (issue 17).

The app imports its screens and the command palette; they never import the app (type-only
imports included). A screen reaches the app through ``kcli.tui.screens.services.AppServices`` and asks for
another view with the messages of ``kcli.tui.screens.navigation``. Around the TUI, the client half's
packages import only downwards: the data layer ``kcli.cluster_view``, then ``kcli log``, ``kcli lab`` and
the tools, then the screens, then the app.
"""

from __future__ import annotations

from tests.test_import_cycles import cycles

GRAPH = cycles.import_graph()


def test_no_screen_nor_the_palette_imports_the_app() -> None:
    below_the_app = [m for m in GRAPH if m.startswith("kcli.tui.screens.") or m == "kcli.tui.commands"]
    assert "kcli.tui.screens.base" in below_the_app
    assert sorted(m for m in below_the_app if "kcli.tui.app" in GRAPH[m]) == []


def test_no_tui_file_lies_on_an_import_cycle() -> None:
    on_cycles = {m for component in cycles.strongly_connected(GRAPH) for m in component}
    assert sorted(m for m in on_cycles if m.startswith("kcli.tui")) == []


PACKAGES = cycles.package_graph(GRAPH)
# The client half's package order (docs/architecture.md, "The client half's layers"): each level
# may import the levels before it, never one after it.
LEVELS = [
    {"kcli.cluster_view"},
    {"kcli.logview", "kcli.lab", "kcli.tools"},
    {"kcli.tui.screens"},
    {"kcli.tui"},
]


def test_the_client_half_imports_only_downwards() -> None:
    upward = []
    for i, level in enumerate(LEVELS):
        above = set().union(*LEVELS[i + 1 :])
        upward += [(p, q) for p in sorted(level) for q in sorted(PACKAGES[p] & above)]
    assert upward == []


def test_the_data_layer_imports_no_view_of_its_own_level() -> None:
    # kcli log, kcli lab and the tools read clusters through kcli.cluster_view, not each other
    views = LEVELS[1]
    assert sorted((p, q) for p in views for q in PACKAGES[p] & views) == []


def test_no_client_package_lies_on_an_import_cycle() -> None:
    on_cycles = {p for component in cycles.strongly_connected(PACKAGES) for p in component}
    assert sorted(on_cycles & set().union(*LEVELS)) == []
