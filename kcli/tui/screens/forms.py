"""Forms whose submission is a cluster call: create a topic, produce a record, edit a topic config.

Each stays open while the broker answers and shows a refusal in place, with everything typed
still there (:class:`ClusterForm`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from kcli.cluster_view.model import ConfigValue, NewTopicSpec, ProduceSpec, TopicDefaults
from kcli.properties import parse_assignment


def _configs(text: str) -> dict[str, str]:
    """``cleanup.policy=compact, retention.ms=1000`` (comma or newline separated) -> dict."""
    out: dict[str, str] = {}
    for item in text.replace("\n", ",").split(","):
        if item.strip():
            key, value = parse_assignment(item.strip())
            out[key.strip()] = value.strip()
    return out


if TYPE_CHECKING:
    from kcli.cluster_view.source import DataSource
    from kcli.tui.screens.services import AppServices


class ClusterForm(ModalScreen[Any]):
    """A form whose submission is a cluster call: it runs in a worker while the form stays open,
    and a refusal by the broker is shown in the form with everything typed still there."""

    busy = False

    @property
    def source(self) -> DataSource:
        """The app's data source, through its services (:class:`~kcli.tui.screens.services.AppServices`)."""
        return cast("AppServices", self.app).source

    def submit_call(self, work: Callable[[], Any], what: str) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#form-error", Static).update(f"{what}…")
        self.run_worker(lambda: self._call(work), thread=True, group="form")

    def _call(self, work: Callable[[], Any]) -> None:
        from kcli.cluster_view.source import error_text

        try:
            result = work()
        except Exception as exc:
            self._post(self._refused, error_text(exc))
            return
        self._post(self._accepted, result)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass  # the app is shutting down

    def _refused(self, message: str) -> None:
        self.busy = False
        self.last_error = message
        self.query_one("#form-error", Static).update(message)

    def _accepted(self, result: Any) -> None:
        self.busy = False
        self.dismiss(result)

    last_error: str | None = None


class CreateTopicDialog(ClusterForm):
    """Name, partitions, replication factor and topic configs, as ``kafka-topics --create`` takes them.

    Partitions and replication factor start at the cluster's own defaults (``num.partitions``,
    ``default.replication.factor``, read from a broker's configs), not at 1: on a three-broker
    lab the default is three copies. Left empty, the broker picks its default (KIP-464).
    Dismissed with the created topic's name, or None when cancelled.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create")]

    def __init__(self) -> None:
        super().__init__()
        self.defaults: TopicDefaults | None = None
        self._typed: set[str] = set()
        #: True once the cluster's defaults were read (or could not be): tests wait on it
        self.settled = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="create-topic"):
            yield Static("[b]Create topic[/b]", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("Name")
                yield Input(placeholder="orders", id="name")
                yield Label("Partitions")
                yield Input(placeholder="cluster default", id="partitions", type="integer")
                yield Label("Replication factor")
                yield Input(placeholder="cluster default", id="rf", type="integer")
                yield Label("Configs")
                yield Input(placeholder="cleanup.policy=compact, retention.ms=60000", id="configs")
            yield Static("", id="defaults", classes="note")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="create")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self.run_worker(self._read_defaults, thread=True, group="defaults")

    def _read_defaults(self) -> None:
        try:
            defaults = self.source.topic_defaults()
        except Exception as exc:
            from kcli.cluster_view.source import error_text

            self._post(self._no_defaults, error_text(exc))
            return
        self._post(self._show_defaults, defaults)

    def _show_defaults(self, defaults: TopicDefaults) -> None:
        self.defaults = defaults
        self.settled = True
        for field_id, value in (("partitions", defaults.partitions), ("rf", defaults.replication_factor)):
            field = self.query_one(f"#{field_id}", Input)
            if value is not None and field_id not in self._typed and not field.value:
                field.value = str(value)
                self._typed.discard(field_id)
        rf = defaults.replication_factor
        text = (
            f"cluster defaults: num.partitions={defaults.partitions if defaults.partitions is not None else '?'}, "
            f"default.replication.factor={rf if rf is not None else '?'}; {defaults.live_brokers} broker(s) up"
        )
        self.query_one("#defaults", Static).update(text)

    def _no_defaults(self, message: str) -> None:
        self.settled = True
        self.query_one("#defaults", Static).update(
            f"cluster defaults unknown ({message}): empty = broker default"
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.has_focus and event.input.id:
            self._typed.add(event.input.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def spec(self) -> NewTopicSpec:
        """What the form says; ValueError with a readable text when it says it wrongly."""
        name = self.query_one("#name", Input).value.strip()
        if not name:
            raise ValueError("a topic needs a name")
        raw_partitions = self.query_one("#partitions", Input).value.strip()
        raw_rf = self.query_one("#rf", Input).value.strip()
        partitions = int(raw_partitions) if raw_partitions else -1  # -1: the broker's default
        rf = int(raw_rf) if raw_rf else -1
        if (raw_partitions and partitions < 1) or (raw_rf and rf < 1):
            raise ValueError("partitions and replication factor must be at least 1")
        return NewTopicSpec(name, partitions, rf, _configs(self.query_one("#configs", Input).value))

    def action_submit(self) -> None:
        try:
            spec = self.spec()
        except ValueError as exc:
            self.query_one("#form-error", Static).update(str(exc))
            return
        source = self.source

        def create() -> str:
            source.create_topic(spec)
            return spec.name

        self.submit_call(create, f"creating {spec.name}")


class ProduceDialog(ClusterForm):
    """Key, value, headers (``k=v`` comma separated) and an optional partition for one record.

    Dismissed with (partition, offset) of the written record; a refused record keeps the form.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Send")]

    def __init__(self, topic: str, partition: int | None = None) -> None:
        super().__init__()
        self.topic = topic
        self.partition = partition

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="produce"):
            yield Static(f"[b]Produce to {self.topic}[/b]", classes="dialog-title")
            with Grid(classes="form"):
                yield Label("Key")
                yield Input(placeholder="(none)", id="key")
                yield Label("Partition")
                yield Input(
                    "" if self.partition is None else str(self.partition),
                    placeholder="(partitioner)",
                    id="partition",
                    type="integer",
                )
                yield Label("Headers")
                yield Input(placeholder="source=tui, trace=1", id="headers")
            yield Label("Value")
            yield TextArea(id="value")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send (ctrl+s)", variant="primary", id="send")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#key", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def spec(self) -> ProduceSpec:
        key = self.query_one("#key", Input).value
        value = self.query_one("#value", TextArea).text
        part_text = self.query_one("#partition", Input).value.strip()
        headers = list(_configs(self.query_one("#headers", Input).value).items())
        partition = int(part_text) if part_text else None
        return ProduceSpec(self.topic, key or None, value, headers, partition)

    def action_submit(self) -> None:
        try:
            spec = self.spec()
        except ValueError as exc:
            self.query_one("#form-error", Static).update(str(exc))
            return
        source = self.source
        self.submit_call(lambda: source.produce(spec), "sending")


class ConfigDialog(ClusterForm):
    """Edit one topic config: set a value, or remove the topic's override (back to the default).

    Applied with IncrementalAlterConfigs, which validates on the broker: a bad value or an unknown
    name is refused there and the refusal is shown here, with the typed value kept. Dismissed with
    a one-line description of the change.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Save"),
        Binding("ctrl+r", "reset_default", "Use default", priority=True),
    ]

    def __init__(self, topic: str, config: ConfigValue) -> None:
        super().__init__()
        self.topic = topic
        self.config = config

    def compose(self) -> ComposeResult:
        c = self.config
        with Vertical(classes="dialog", id="config"):
            yield Static(f"[b]{self.topic}[/b]: edit [b]{c.name}[/b]", classes="dialog-title")
            origin = "default (nobody set it)" if c.default else "set for this topic"
            yield Static(
                f"current value: {c.value if c.value is not None else 'null'} · {origin}", classes="note"
            )
            if c.read_only:
                yield Static("this config is read-only: the broker will refuse a change", classes="problem")
            with Grid(classes="form"):
                yield Label("New value")
                yield Input("" if c.sensitive or c.value is None else c.value, id="value")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Use default (ctrl+r)", id="default", disabled=c.default)
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_submit()
        elif event.button.id == "default":
            self.action_reset_default()
        else:
            self.dismiss(None)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        value = self.query_one("#value", Input).value.strip()
        if not value:
            self.query_one("#form-error", Static).update("type a value, or use the default (ctrl+r)")
            return
        source, topic, name = self.source, self.topic, self.config.name

        def alter() -> str:
            source.alter_topic_config(topic, name, value)
            return f"{name}={value}"

        self.submit_call(alter, f"setting {name}")

    def action_reset_default(self) -> None:
        source, topic, name = self.source, self.topic, self.config.name

        def alter() -> str:
            source.alter_topic_config(topic, name, None)
            return f"{name} back to its default"

        self.submit_call(alter, f"removing the override of {name}")
