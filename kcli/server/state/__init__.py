"""The broker's state (Kafka's KafkaBroker without its sockets): topics, partitions, the metadata image, the replica manager."""
