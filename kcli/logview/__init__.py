"""A partition's log as the lectures draw it, from any Kafka cluster.

The data comes from the data layer below (``kcli.cluster_view``: ``log_model`` is the plain data,
``fetch`` reads record batches over the Kafka protocol, ``replicas`` finds what each replica
holds, ``log_reader`` puts a :class:`~kcli.cluster_view.log_model.PartitionLog` together). Here,
``draw`` turns it into a strip of offset cells, ``xray`` lays a record's bytes out field by field,
and ``cli`` is ``kcli log draw`` / ``kcli log xray``. The TUI's partition view uses the same reader
(through :class:`kcli.cluster_view.kafka.KafkaSource`) and drawing.
"""
