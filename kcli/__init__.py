"""kcli: the Apache Kafka experience on one laptop."""

__version__ = "0.1.0"
