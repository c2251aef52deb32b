"""The reset-offsets form of a group: choose a target, preview the plan per partition, apply it.

The plan comes from :func:`kcli.offset_reset.plan` through the data source, the planner
``kafka-consumer-groups --reset-offsets`` uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from kcli.cluster_view.model import OffsetReset
from kcli.tui.screens.dialogs import ConfirmDialog
from kcli.tui.screens.widgets import fmt_count, parse_ts

if TYPE_CHECKING:
    from kcli.cluster_view.source import DataSource
    from kcli.tui.screens.services import AppServices

RESET_CHOICES = [
    ("earliest (--to-earliest)", "earliest"),
    ("latest (--to-latest)", "latest"),
    ("offset (--to-offset)", "offset"),
    ("timestamp (--to-datetime)", "timestamp"),
]


class ResetOffsetsDialog(ModalScreen[bool]):
    """Choose a target, preview the new offsets per partition, then apply after confirmation.

    The preview is computed by the data source exactly as the apply will be, and it is the
    preview's plan that gets applied: what the student saw is what happens.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "preview", "Preview", priority=True),
        Binding("ctrl+s", "apply", "Apply"),
    ]

    @property
    def source(self) -> DataSource:
        """The app's data source, through its services (:class:`~kcli.tui.screens.services.AppServices`)."""
        return cast("AppServices", self.app).source

    def __init__(self, group_id: str) -> None:
        super().__init__()
        self.group_id = group_id
        self.plan: list[OffsetReset] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="reset"):
            yield Static(f"[b]Reset offsets of group {self.group_id}[/b]", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("To")
                yield Select(RESET_CHOICES, value="earliest", allow_blank=False, id="to")
                yield Label("Offset / time")
                yield Input(placeholder="offset, epoch ms or 2026-01-01T12:00:00", id="value")
                yield Label("Topic")
                yield Input(placeholder="(all topics of the group)", id="topic")
            yield DataTable(id="preview", cursor_type="row")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Preview (ctrl+r)", id="do-preview")
                yield Button("Apply (ctrl+s)", variant="warning", id="do-apply", disabled=True)
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        table = self.query_one("#preview", DataTable)
        for title in ("Topic", "Partition", "Current", "New"):
            table.add_column(title, key=title.lower())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "do-preview":
            self.action_preview()
        elif event.button.id == "do-apply":
            self.action_apply()
        else:
            self.dismiss(False)

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._invalidate()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._invalidate()

    def _invalidate(self) -> None:
        self.plan = None
        self.query_one("#do-apply", Button).disabled = True

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_preview(self) -> None:
        to = str(self.query_one("#to", Select).value)
        raw = self.query_one("#value", Input).value.strip()
        topic = self.query_one("#topic", Input).value.strip() or None
        error = self.query_one("#form-error", Static)
        try:
            value: int | None = None
            if to == "offset":
                value = int(raw)
            elif to == "timestamp":
                value = parse_ts(raw)
        except ValueError:
            error.update(f"'{raw}' is not a valid {'offset' if to == 'offset' else 'timestamp'}")
            return
        error.update("computing preview…")
        self.app.run_worker(lambda: self._preview(to, value, topic), thread=True, group="reset")  # type: ignore[arg-type]

    def _preview(self, to: str, value: int | None, topic: str | None) -> None:
        from kcli.cluster_view.source import error_text

        try:
            plan = self.source.preview_reset(self.group_id, to, value, topic)
        except Exception as exc:
            self.app.call_from_thread(self._show_error, error_text(exc))
            return
        self.app.call_from_thread(self._show_plan, plan)

    def _show_error(self, message: str) -> None:
        self.query_one("#form-error", Static).update(message)
        self.app.notify(message, title="Reset offsets", severity="error")

    def _show_plan(self, plan: list[OffsetReset]) -> None:
        self.plan = plan
        table = self.query_one("#preview", DataTable)
        table.clear()
        for r in plan:
            table.add_row(r.topic, str(r.partition), fmt_count(r.current), fmt_count(r.target))
        self.query_one("#form-error", Static).update(
            f"{len(plan)} partitions: press Apply to commit these offsets"
        )
        self.query_one("#do-apply", Button).disabled = False

    def action_apply(self) -> None:
        if not self.plan:
            self.query_one("#form-error", Static).update("preview first")
            return
        plan = self.plan

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.app.run_worker(lambda: self._apply(plan), thread=True, group="reset")  # type: ignore[arg-type]

        self.app.push_screen(
            ConfirmDialog(
                f"Commit new offsets for {len(plan)} partitions of [b]{self.group_id}[/b]?", "Reset"
            ),
            confirmed,
        )

    def _apply(self, plan: list[OffsetReset]) -> None:
        from kcli.cluster_view.source import error_text

        try:
            self.source.apply_reset(self.group_id, plan)
        except Exception as exc:
            self.app.call_from_thread(self._show_error, error_text(exc))
            return
        self.app.call_from_thread(self._done)

    def _done(self) -> None:
        self.app.notify(f"Offsets of {self.group_id} reset", title="Reset offsets")
        self.dismiss(True)
