"""The command palette (ctrl+p): every action of the app and of the current screen, plus open-by-name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from kcli.tui.app import KcliApp

Command = tuple[str, str, Callable[[], object]]


class KcliCommands(Provider):
    """Commands are rebuilt on each palette opening, so topic and group names are the latest seen."""

    def _commands(self) -> list[Command]:
        app: KcliApp = self.app  # type: ignore[assignment]
        screen = self.screen
        out: list[Command] = [
            ("Show cluster", "brokers, controller, cluster id", partial(app.switch_mode, "cluster")),
            ("Show topics", "the topic table", partial(app.switch_mode, "topics")),
            ("Show consumer groups", "groups, state and lag", partial(app.switch_mode, "groups")),
            ("Create topic", "name, partitions, replication factor, configs", app.action_create_topic),
            ("Refresh", "reload the current screen now", app.action_refresh),
            ("Explain", "what this view shows and why (E)", app.action_explain),
            ("Help", "every key binding", app.action_help),
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
        for topic in app.topic_names:
            out.append(
                (f"Open topic {topic}", "partitions, configs, throughput", partial(app.open_topic, topic))
            )
            out.append((f"Browse messages of {topic}", "message browser", partial(app.open_messages, topic)))
        for group in app.group_ids:
            out.append((f"Open group {group}", "members, offsets, lag", partial(app.open_group, group)))
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
