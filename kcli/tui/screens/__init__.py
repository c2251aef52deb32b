"""The TUI's screens: one module per screen, all fed through :class:`kcli.cluster_view.source.DataSource`."""
