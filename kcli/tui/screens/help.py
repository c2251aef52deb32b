"""Every key binding of every screen, generated from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def _key_text(binding: Binding | tuple) -> tuple[str, str]:
    if isinstance(binding, tuple):
        binding = Binding(*binding)
    keys = binding.key_display or ", ".join(k.strip() for k in binding.key.split(","))
    return keys.replace("slash", "/"), binding.description or binding.action


def bindings_table(title: str, bindings: list) -> Table:
    table = Table(
        title=title, title_justify="left", title_style="bold", expand=False, show_edge=False, min_width=60
    )
    table.add_column("Key", style="bold cyan", width=14)
    table.add_column("Action", min_width=40)
    for b in bindings:
        key, text = _key_text(b)
        table.add_row(key, text)
    return table


class HelpScreen(ModalScreen[None]):
    """A modal over the current screen; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc")]

    def __init__(self, app_bindings: list) -> None:
        """``app_bindings``: the keys that work everywhere (the app's ``BINDINGS``), handed in by the app."""
        super().__init__()
        self.app_bindings = list(app_bindings)

    def compose(self) -> ComposeResult:
        from kcli.tui.screens.cluster import ClusterScreen
        from kcli.tui.screens.dialogs import ConfirmDialog, TypeNameDialog
        from kcli.tui.screens.forms import ConfigDialog, CreateTopicDialog, ProduceDialog
        from kcli.tui.screens.groups import GroupScreen, GroupsScreen
        from kcli.tui.screens.messages import MessagesScreen
        from kcli.tui.screens.partition import PartitionScreen
        from kcli.tui.screens.reset_offsets import ResetOffsetsDialog
        from kcli.tui.screens.topic import TopicScreen
        from kcli.tui.screens.topics import TopicsScreen

        sections = [
            ("Everywhere", [*self.app_bindings, Binding("ctrl+p", "command_palette", "Command palette")]),
            ("Cluster and failure lab", ClusterScreen.BINDINGS),
            ("Topics", TopicsScreen.BINDINGS),
            ("Topic detail", TopicScreen.BINDINGS),
            ("Messages", MessagesScreen.BINDINGS),
            ("Partition log drawn (l on a partition)", PartitionScreen.BINDINGS),
            ("Consumer groups", GroupsScreen.BINDINGS),
            ("Group detail", GroupScreen.BINDINGS),
            ("Create topic form", CreateTopicDialog.BINDINGS),
            ("Produce form", ProduceDialog.BINDINGS),
            ("Edit config form", ConfigDialog.BINDINGS),
            ("Reset offsets form", ResetOffsetsDialog.BINDINGS),
            ("Confirmation", ConfirmDialog.BINDINGS),
            ("Confirmation by typing the name (internal topics)", TypeNameDialog.BINDINGS),
        ]
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(
                "[b]kcli tui — keys[/b]  (tables: arrows/pgup/pgdn move, enter opens; click a header to sort)"
            )
            for title, bindings in sections:
                yield Static(bindings_table(title, list(bindings)), classes="help-section")
