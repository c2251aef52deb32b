"""kcli's schema registry: Confluent's REST API over schemas stored in the Kafka topic ``_schemas``.

Modules, one job each: :mod:`errors` (error codes), :mod:`formats` (the three schema types
behind one interface, references, compatibility levels), :mod:`avro_schema` (parsing, validation,
canonical form), :mod:`compatibility` (Avro schema resolution), :mod:`json_schema` and
:mod:`json_compatibility` (JSON Schema), :mod:`protobuf_schema`, :mod:`protobuf_text` and
:mod:`protobuf_compatibility` (Protobuf), :mod:`state` (subjects, versions,
ids, built from ``_schemas`` records), :mod:`store` (in-memory and Kafka-backed stores),
:mod:`rest` (the aiohttp application), :mod:`start`/:mod:`stop` (process management),
:mod:`client` and :mod:`serde` (the client side: the wire format for tools and the TUI).
"""
