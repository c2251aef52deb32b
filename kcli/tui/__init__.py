"""``kcli tui``: the Textual app (``app``), its command palette (``commands``) and ``python -m kcli.tui``."""
