"""The ``confluent`` command: Confluent CLI's command tree, flags, output and exit codes.

Modules, one job each: :mod:`framework` (a cobra-like command tree on click: cobra's errors,
suggestions and help), :mod:`errors`, :mod:`output` (``-o human|json|yaml`` tables as the
Confluent CLI prints them), :mod:`current` (the ``CONFLUENT_CURRENT`` run directory),
:mod:`ports` (who holds a port), :mod:`services` (the local stack: what each service is and how it
starts and stops), :mod:`local_services` (``confluent local services ...``), :mod:`local_kafka`
(``confluent local kafka ...``), :mod:`topics`, :mod:`produce`, :mod:`consume`, :mod:`groups`
(Kafka operations shared by ``confluent kafka`` and ``confluent local kafka``), :mod:`kafka`
(``confluent kafka ...``), :mod:`schema_registry` (``confluent schema-registry ...``),
:mod:`context` (saved connection settings), :mod:`cloud` (what Confluent Cloud commands answer
here), :mod:`completion` and :mod:`main` (the tree and the entry point).
"""
