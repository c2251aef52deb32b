"""kcli's REST Proxy: Confluent REST Proxy's v2 and v3 APIs over HTTP, on aiohttp.

It is an ordinary Kafka client of the cluster (confluent-kafka: one producer, one admin client,
one consumer per v2 consumer instance), so it works against any cluster, never through a side
channel into kcli's broker. Modules, one job each: :mod:`config` (``kafka-rest.properties``),
:mod:`errors` (REST Proxy's error codes and bodies), :mod:`kafka` (the clients, wrapped for
asyncio), :mod:`embedded` (the embedded formats: binary, JSON, Avro, JSON Schema, Protobuf),
:mod:`v2_produce`, :mod:`v2_metadata`, :mod:`v2_consumers` (the v2 API), :mod:`v3_clusters`,
:mod:`v3_topics`, :mod:`v3_groups`, :mod:`v3_records` (the v3 API), :mod:`app` (the application
and its content-type rules), :mod:`start`/:mod:`stop` (``kafka-rest-start``/``-stop``).
"""
