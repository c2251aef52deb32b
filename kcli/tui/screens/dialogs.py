"""Confirmation dialogs: yes or no by key, or by typing the name of what is about to be deleted."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no for destructive operations; nothing is deleted on a stray key press but ``y``."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, message: str, yes: str = "Delete") -> None:
        super().__init__()
        self.message = message
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm"):
            yield Static(self.message, classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class TypeNameDialog(ModalScreen[bool]):
    """Confirmation by typing a name: for what cannot be undone and breaks more than one topic
    (Kafka's internal topics hold every group's offsets and every transaction's state)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, message: str, expected: str, yes: str = "Delete") -> None:
        super().__init__()
        self.message = message
        self.expected = expected
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="type-name"):
            yield Static(self.message, classes="dialog-message")
            yield Label(f"Type [b]{self.expected}[/b] to confirm")
            yield Input(placeholder=self.expected, id="typed")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self._confirm()
        else:
            self.dismiss(False)

    def _confirm(self) -> None:
        if self.query_one("#typed", Input).value.strip() != self.expected:
            self.query_one("#form-error", Static).update(f"that is not {self.expected}: nothing deleted")
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
