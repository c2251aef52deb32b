"""Kafka Streams' demo applications (WordCountDemo, PipeDemo, LineSplit) on Quix Streams.

``kafka-run-class org.apache.kafka.streams.examples.wordcount.WordCountDemo`` runs
:mod:`kcli.streams.wordcount`: the same topics, application id (the consumer group), serdes and
internal topic names as the Java demo, so the quickstart's console commands show the same output.
The stream engine is Quix Streams (stateful operators backed by RocksDB with changelog topics,
checkpointed with the consumer offsets); :mod:`kcli.streams.app` adapts it to Kafka Streams'
configuration and naming.
"""
