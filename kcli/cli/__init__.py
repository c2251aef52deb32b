"""The ``kcli`` command (``kcli.cli.main``): the top of kcli's import graph.

It sits in its own package, above the root package's shared modules (``kcli.client``,
``kcli.paths``, ``kcli.properties``, ...) and the subsystems it dispatches to (``kcli.local``,
``kcli.tui``, ``kcli.lab``, ``kcli.logview``), so that nothing it imports imports it back.
"""
