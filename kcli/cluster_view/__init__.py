"""What a client reads of a Kafka cluster: plain data, the sources that fill it and the wire readers.

The data layer under ``kcli tui``, ``kcli log``, ``kcli lab`` and the tools' ``--explain``: it
imports none of them (``docs/architecture.md``, "The client half's layers").
"""
