"""A partition's log as the lectures draw it, from any Kafka cluster.

``model`` is the plain data (batches, records, markers), ``fetch`` reads record batches over the
Kafka protocol, ``replicas`` finds what each replica holds, ``reader`` puts a :class:`PartitionLog`
together, ``draw`` turns it into a strip of offset cells, ``xray`` lays a record's bytes out field
by field, and ``cli`` is ``kcli log draw`` / ``kcli log xray``. The TUI's partition view uses the
same reader and drawing, through :class:`kcli.cluster_view.kafka.KafkaSource`.
"""
