"""The TUI's screens: one module per screen, all fed through :class:`kcli.cluster_view.source.DataSource`.

Beside them, what only screens are made of: ``widgets``, ``explain`` (the Explain pane's texts),
``sparks``, ``events``, ``rebalance_timeline``, ``record_window``, ``services`` (what a screen
may ask of the app, as a protocol) and ``navigation`` (the messages a screen posts to the app).
The app (:mod:`kcli.tui.app`) sits above this package; the data layer (:mod:`kcli.cluster_view`)
below it.
"""
