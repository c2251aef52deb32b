"""The command palette (ctrl+p): every action of the app and of the current screen, plus open-by-name.

It runs the app's actions by name and asks for views with the messages of
:mod:`kcli.tui.screens.navigation`, so it needs the app only as a Textual ``App`` with the names of
:class:`~kcli.tui.screens.services.AppServices`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from kcli.tui.screens.navigation import OpenGroup, OpenMessages, OpenTopic

if TYPE_CHECKING:
    from kcli.tui.screens.services import AppServices

Command = tuple[str, str, Callable[[], object]]


def _post(app: App, message: type[Message], *args: object) -> None:
    """Post a fresh navigation message to the app (a palette entry can be chosen more than once)."""
    app.post_message(message(*args))


class KcliCommands(Provider):
    """Commands are rebuilt on each palette opening, so topic and group names are the latest seen."""

    def _commands(self) -> list[Command]:
        app = self.app
        names = cast("AppServices", app)
        screen = self.screen
        out: list[Command] = [
            ("Show cluster", "brokers, controller, cluster id", partial(app.switch_mode, "cluster")),
            ("Show topics", "the topic table", partial(app.switch_mode, "topics")),
            ("Show consumer groups", "groups, state and lag", partial(app.switch_mode, "groups")),
            (
                "Create topic",
                "name, partitions, replication factor, configs",
                partial(app.run_action, "create_topic"),
            ),
            ("Refresh", "reload the current screen now", partial(app.run_action, "refresh")),
            ("Explain", "what this view shows and why (E)", partial(app.run_action, "explain")),
            ("Help", "every key binding", partial(app.run_action, "help")),
            ("Quit", "leave kcli tui", app.exit),
        ]
        seen = {name for name, _, _ in out}
        for binding in getattr(screen, "BINDINGS", []):
            b = binding if isinstance(binding, Binding) else Binding(*binding)
            if not b.description or b.action.startswith("app."):
                continue
            name = f"{screen.sub_title or type(screen).__name__}: {b.description}"
            if name not in seen:
                seen.add(name)
                out.append((name, f"key {b.key_display or b.key}", partial(app.run_action, b.action, screen)))
        for topic in names.topic_names:
            out.append(
                (
                    f"Open topic {topic}",
                    "partitions, configs, throughput",
                    partial(_post, app, OpenTopic, topic),
                )
            )
            out.append(
                (f"Browse messages of {topic}", "message browser", partial(_post, app, OpenMessages, topic))
            )
        for group in names.group_ids:
            out.append(
                (f"Open group {group}", "members, offsets, lag", partial(_post, app, OpenGroup, group))
            )
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            if not name.startswith(("Open ", "Browse ")):
                yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
