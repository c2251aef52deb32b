"""What a screen or the command palette may ask of the app, as a Protocol, so none imports the app.

Textual's example apps hand a screen what it needs and let it post messages upward; kcli's
screens follow that: they read the app's shared state and report through :class:`AppServices`
(the running :class:`~kcli.tui.app.KcliApp` satisfies it), and ask for another view or a form
with the messages of :mod:`kcli.tui.screens.navigation`, which bubble from the screen to the app. A test
can give a screen any object with these members.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kcli.cluster_view.decode import AvroDecoder
    from kcli.cluster_view.model import ClusterInfo
    from kcli.cluster_view.source import DataSource


class AppServices(Protocol):
    """The app's shared state and its reporting, as the screens use them."""

    #: the one data source every byte comes through
    source: DataSource
    #: decodes Confluent-framed Avro (None: no registry)
    avro_decoder: AvroDecoder | None
    #: the schema registry the X-ray asks for a record's schema
    registry_url: str | None
    #: how timelines print a wall time (snapshot tests fix it)
    clock_text: Callable[[float], str]
    #: the last cluster metadata the cluster view read (the failure lab uses it)
    cluster_info: ClusterInfo | None
    #: names seen by the last refreshes, for the command palette
    topic_names: list[str]
    group_ids: list[str]
    #: the Explain pane is shown while True
    explaining: bool

    def report_failure(self, message: str, unreachable: bool = True) -> None:
        """A fetch failed; ``unreachable``: no broker answered at all."""

    def report_success(self) -> None:
        """A fetch succeeded: the connection is up."""

    def report_action_error(self, message: str) -> None:
        """A user's operation failed: say why."""

    def paint_status(self) -> None:
        """Repaint the status bar of the screen on top."""
