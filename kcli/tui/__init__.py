"""kcli tui: a Textual app to see a Kafka cluster (brokers, topics, partitions, messages, groups)."""
