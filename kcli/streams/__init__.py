"""Kafka Streams' demo applications (WordCountDemo, PipeDemo, LineSplit) on Quix Streams.

``kafka-run-class org.apache.kafka.streams.examples.wordcount.WordCountDemo`` runs
:mod:`kcli.streams.wordcount`: the same topics, application id (the consumer group), serdes and
internal topic names as the Java demo, so the quickstart's console commands show the same output.
The stream engine is Quix Streams (stateful operators backed by RocksDB with changelog topics,
checkpointed with the consumer offsets, at-least-once or, with ``processing.guarantee=
exactly_once_v2``, exactly-once through Kafka transactions); :mod:`kcli.streams.app` adapts it to
Kafka Streams' configuration and naming, :mod:`kcli.streams.state_directory` keeps Kafka Streams'
state directory lock and process id.
"""
