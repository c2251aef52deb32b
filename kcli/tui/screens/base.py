"""The pattern every data screen follows: fetch in a thread worker, apply on the event loop.

librdkafka calls block for up to the request timeout; running them in thread workers keeps the
interface responsive even when the broker is gone. A failed fetch never clears what the screen
shows: the screen keeps its last data, says in the status bar what failed since when, keeps
refreshing on its own period, and once a fetch succeeds again it tells the user what failed in
the meantime. Only "no broker answers at all" is the app's business (connection state, backoff,
probing for a broker that comes back).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from kcli.cluster_view.source import error_text

if TYPE_CHECKING:
    from kcli.cluster_view.source import DataSource
    from kcli.tui.screens.services import AppServices


def clock(wall: float) -> str:
    """``14:02:03``: when something happened, in the user's local time."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


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
    #: what the last fetch could not do, None when it succeeded
    problem: str | None = None
    #: failed fetches since the last success, and the wall time of the first of them
    failed_count: int = 0
    failed_since: float | None = None
    #: wall time of the data on screen
    loaded_at: float | None = None
    #: the last "recovered" message, for tests and the log
    last_recovery: str | None = None

    @property
    def kapp(self) -> AppServices:
        """The app's services (:class:`~kcli.tui.screens.services.AppServices`); views and forms are asked
        for with the messages of :mod:`kcli.tui.screens.navigation`, never by calling the app."""
        return cast("AppServices", self.app)

    @property
    def source(self) -> DataSource:
        return self.kapp.source

    def on_mount(self) -> None:
        # Textual dispatches on_mount to every class of the MRO, so subclasses do not define it:
        # they prepare their widgets in setup(), which is guaranteed to run before the first fetch.
        self.setup()
        self.ready = True
        self.refresh_data()

    def on_screen_resume(self) -> None:
        self.kapp.paint_status()
        self.update_explain()

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
                self._post(self._failed, error_text(exc), bool(getattr(exc, "unreachable", False)))
            return
        if not worker.is_cancelled:
            self._post(self._succeeded, data)

    def _post(self, callback: Any, *args: Any) -> None:
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            pass  # the app is shutting down

    def _failed(self, message: str, unreachable: bool = False) -> None:
        self.loading = False
        self.problem = message
        self.failed_count += 1
        if self.failed_since is None:
            self.failed_since = time.time()
        self.kapp.report_failure(message, unreachable)
        if self._pending:
            self.refresh_data()

    def _succeeded(self, data: Any) -> None:
        self.loading = False
        if self.failed_count:
            self._recovered()
        self.problem = None
        self.loaded_at = time.time()
        self.kapp.report_success()
        if self.is_attached:
            self.apply(data)
            self.update_explain()
        self.loads += 1
        self.kapp.paint_status()
        if self._pending:
            self.refresh_data()

    def _recovered(self) -> None:
        """Say what failed while this screen could not refresh, now that it can again."""
        since = clock(self.failed_since or time.time())
        count = self.failed_count
        self.last_recovery = (
            f"{self.sub_title or 'This view'} is up to date again: {count} refresh"
            f"{'es' if count != 1 else ''} failed since {since} ({self.problem})"
        )
        self.failed_count, self.failed_since = 0, None
        if self.is_current:
            self.app.notify(self.last_recovery, title="Recovered", timeout=10)

    def problem_text(self) -> str | None:
        """What the status bar says about this screen: the failure, since when, how old the data is."""
        if self.problem is None:
            return None
        text = f"{self.problem} (since {clock(self.failed_since or time.time())}"
        if self.failed_count > 1:
            text += f", {self.failed_count} attempts"
        if self.loaded_at is not None:
            text += f"; showing data of {clock(self.loaded_at)}"
        return text + ")"

    # -- the Explain pane (E) --------------------------------------------------------------------

    def explain_lines(self) -> list[str] | None:
        """What the Explain pane (E) says about this view (see :mod:`kcli.tui.screens.explain`); None: nothing."""
        return None

    def update_explain(self) -> None:
        """Show, fill or remove the Explain pane, as the app's ``explaining`` says."""
        from kcli.tui.screens.widgets import ExplainPane

        if not self.is_attached:
            return
        panes = list(self.query(ExplainPane))
        if not getattr(self.app, "explaining", False):
            for pane in panes:
                pane.remove()
            return
        lines = self.explain_lines() or ["Nothing to explain in this view yet."]
        if panes:
            panes[0].show_lines(lines)
            return
        pane = ExplainPane(id="explain-pane")
        self.mount(pane)
        pane.show_lines(lines)

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
