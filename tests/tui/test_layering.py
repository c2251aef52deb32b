"""Unit tests: the TUI is layered as Textual's example apps are (issue 17).

The app imports its screens and the command palette; they never import the app (type-only
imports included). A screen reaches the app through ``kcli.tui.services.AppServices`` and asks for
another view with the messages of ``kcli.tui.navigation``.
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
