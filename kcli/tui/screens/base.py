"""The pattern every data screen follows: fetch in a thread worker, apply on the event loop.

librdkafka calls block for up to the request timeout; running them in thread workers keeps the
interface responsive even when the broker is gone. Failures go to the app, which shows them in
the status bar and backs off before the next periodic refresh; a screen never crashes on one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from kcli.tui.kafka import error_text

if TYPE_CHECKING:
    from kcli.tui.app import KcliApp
    from kcli.tui.kafka import DataSource


class DataScreen(Screen):
    """A screen whose content comes from the cluster and is refreshed periodically.

    Subclasses implement :meth:`fetch` (runs in a thread, may block, may raise) and
    :meth:`apply` (runs on the event loop with the fetched data). ``refresh_every`` is the
    period in seconds of the app's automatic refresh while this screen is on top.
    """

    refresh_every: float = 5.0
    #: Set while a fetch runs, so the periodic refresh does not pile up requests.
    loading: bool = False
    #: How many fetches have been applied: tests wait on this rather than on time.
    loads: int = 0
    _pending: bool = False
    #: True once setup() has built the widgets that apply() fills
    ready: bool = False
    #: monotonic time of the last fetch start, for the app's periodic refresh
    last_started: float = 0.0

    @property
    def kapp(self) -> KcliApp:
        return self.app  # type: ignore[return-value]

    @property
    def source(self) -> DataSource:
        return self.kapp.source

    def on_mount(self) -> None:
        # Textual dispatches on_mount to every class of the MRO, so subclasses do not define it:
        # they prepare their widgets in setup(), which is guaranteed to run before the first fetch.
        self.setup()
        self.ready = True
        self.refresh_data()

    def setup(self) -> None:
        """Add table columns and the like; called once on mount, before the first fetch."""

    def refresh_data(self) -> None:
        """Start a fetch unless one is running already (or the widgets are not built yet)."""
        if not self.ready:
            return  # the app's timer can see a screen before its on_mount ran
        if self.loading:
            self._pending = True  # a request made after this fetch started: fetch again after it
            return
        self.loading = True
        self._pending = False
        self.last_started = time.monotonic()
        self._fetch_worker()

    @work(thread=True, group="fetch")
    def _fetch_worker(self) -> None:
        worker = get_current_worker()
        try:
            data = self.fetch()
        except Exception as exc:
            if not worker.is_cancelled:
                self._post(self._failed, error_text(exc))
            return
        if not worker.is_cancelled:
            self._post(self._succeeded, data)

    def _post(self, callback: Any, *args: Any) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass  # the app is shutting down

    def _failed(self, message: str) -> None:
        self.loading = False
        self.kapp.report_failure(message)
        if self._pending:
            self.refresh_data()

    def _succeeded(self, data: Any) -> None:
        self.loading = False
        self.kapp.report_success()
        if self.is_attached:
            self.apply(data)
        self.loads += 1
        if self._pending:
            self.refresh_data()

    def fetch(self) -> Any:
        raise NotImplementedError

    def apply(self, data: Any) -> None:
        raise NotImplementedError

    def run_action_in_thread(self, func: Any, on_done: Any, *args: Any) -> None:
        """Run one blocking cluster operation (create, delete, produce...) off the event loop."""
        self._action_worker(func, on_done, args)

    @work(thread=True, group="action")
    def _action_worker(self, func: Any, on_done: Any, args: tuple[Any, ...]) -> None:
        try:
            result = func(*args)
        except Exception as exc:
            self._post(self.kapp.report_action_error, error_text(exc))
            return
        self._post(on_done, result)
