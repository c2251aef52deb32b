"""Kafka Connect for kcli: workers (standalone and distributed), the REST API, converters and the
FileStream connectors, with Kafka's configuration files, REST shapes and internal topic formats.

One job per module: ``worker_config`` (worker properties), ``connector_config`` (connector
properties and their validation), ``api`` (the plug-in interface a connector implements),
``plugins`` (finding connectors and converters by class name), ``converters/`` (JSON, String,
ByteArray, Avro), ``file_stream`` (FileStreamSource/FileStreamSink), ``kafka_log`` (a compacted
topic read into memory), ``offsets``/``config_store``/``status_store`` (where offsets, configs and
statuses live), ``worker`` (running connectors and tasks), ``herder`` (the operations behind the
REST API), ``standalone``/``distributed`` (the two worker commands), ``membership`` (the consumer
group that spreads work over distributed workers) and ``rest`` (the HTTP API on aiohttp).
"""

#: The Kafka version whose Connect behaviour this package follows (reported by ``GET /``).
from kcli.versions import KAFKA_VERSION  # noqa: F401
