"""Storage named after Kafka's classes: log dirs, partition logs, segments, indexes, the cleaner."""
